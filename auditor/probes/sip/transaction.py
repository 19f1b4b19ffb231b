"""Client transactions (RFC 3261 §17.1, with the RFC 6026 Accepted state).

Why a real state machine: over UDP nothing arrives twice by itself and nothing is
guaranteed to arrive at all. The INVITE is retransmitted at T1, 2T1, 4T1 ... until
a response stops it (Timer A) and given up after Timer B (64*T1); a non-2xx final
is acknowledged inside the transaction and re-acknowledged if it is retransmitted;
CANCEL and BYE are retransmitted at T1 doubling up to T2 (Timer E) until Timer F.
Over TCP/TLS none of the retransmission timers run.

Everything here is synchronous and driven by two injected things: a ``send``
callable and a :class:`Clock`. Tests use a fake clock and a list as transport; the
user agent uses :class:`LoopClock` and a real transport, and turns the events
into an asyncio queue.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from auditor.probes.sip.message import SipMessage

# ----------------------------------------------------------------------------- clocks


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the state machines need of time: now, and a callback later."""

    def time(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle: ...


class LoopClock:
    """The running asyncio loop as a :class:`Clock`."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop or asyncio.get_running_loop()

    def time(self) -> float:
        return self.loop.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return self.loop.call_later(max(0.0, delay), callback)


class _FakeHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A manual clock for tests: :meth:`advance` fires due timers in order."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._heap: list[tuple[float, int, _FakeHandle, Callable[[], None]]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        handle = _FakeHandle()
        heapq.heappush(self._heap, (self.now + max(0.0, delay), next(self._seq), handle, callback))
        return handle

    def advance(self, seconds: float) -> None:
        target = self.now + seconds
        while self._heap and self._heap[0][0] <= target:
            when, _, handle, callback = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            if not handle.cancelled:
                callback()
        self.now = target

    @property
    def pending(self) -> int:
        return sum(1 for _, _, h, _ in self._heap if not h.cancelled)


# ----------------------------------------------------------------------------- timers


@dataclass(frozen=True)
class TimerSettings:
    """RFC 3261 Table 4 values; every derived timer can be shortened for tests."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0
    timer_b: float | None = None  # INVITE gives up: 64*T1
    timer_f: float | None = None  # non-INVITE gives up: 64*T1
    timer_d: float = 32.0  # absorb final retransmissions (unreliable transports)
    timer_m: float | None = None  # RFC 6026: absorb 2xx retransmissions: 64*T1

    @property
    def b(self) -> float:
        return self.timer_b if self.timer_b is not None else 64 * self.t1

    @property
    def f(self) -> float:
        return self.timer_f if self.timer_f is not None else 64 * self.t1

    @property
    def m(self) -> float:
        return self.timer_m if self.timer_m is not None else 64 * self.t1


# ----------------------------------------------------------------------------- events

RESPONSE, TIMEOUT, TRANSPORT_ERROR, TERMINATED = "response", "timeout", "transport-error", "terminated"

CALLING, TRYING, PROCEEDING, COMPLETED, ACCEPTED, TERMINATED_STATE = (
    "calling", "trying", "proceeding", "completed", "accepted", "terminated",
)


@dataclass
class TxEvent:
    """What a transaction tells its user: a response, a timeout, a transport error, its end."""

    kind: str
    tx: ClientTransaction
    message: SipMessage | None = None
    error: BaseException | None = None


Listener = Callable[[TxEvent], None]
Sender = Callable[[SipMessage, bool], None]  # (message, is_retransmission); raises OSError


@dataclass
class ClientTransaction:
    """Shared machinery: timers by name, sending with transport-error handling."""

    request: SipMessage
    send: Sender
    listener: Listener
    clock: Clock
    timers: TimerSettings = field(default_factory=TimerSettings)
    reliable: bool = False
    state: str = "init"
    retransmissions: int = 0
    started_at: float = 0.0
    _handles: dict[str, TimerHandle] = field(default_factory=dict, repr=False)

    @property
    def branch(self) -> str:
        via = self.request.top_via
        return (via.branch or "") if via else ""

    @property
    def method(self) -> str:
        return (self.request.method or "").upper()

    @property
    def key(self) -> tuple[str, str]:
        """RFC 3261 §17.1.3: responses match by top Via branch and CSeq method."""
        return (self.branch, self.method)

    # -- timers
    def _start(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._stop(name)
        self._handles[name] = self.clock.call_later(delay, callback)

    def _stop(self, *names: str) -> None:
        for name in names or tuple(self._handles):
            handle = self._handles.pop(name, None)
            if handle is not None:
                handle.cancel()

    # -- sending
    def _send_first(self, state: str) -> bool:
        """Enter ``state`` and send the request; False when the transport failed (then it is over)."""
        self.state = state
        self.started_at = self.clock.time()
        return self._transmit(self.request)

    def _retransmit(self) -> bool:
        self.retransmissions += 1
        return self._transmit(self.request, retransmission=True)

    def _time_out(self) -> None:
        """Timer B or F fired: no final response in time."""
        self._stop()
        self._emit(TIMEOUT)
        self._terminate()

    def _transmit(self, message: SipMessage, retransmission: bool = False) -> bool:
        try:
            self.send(message, retransmission)
        except OSError as exc:
            self.transport_error(exc)
            return False
        return True

    def _emit(self, kind: str, message: SipMessage | None = None, error: BaseException | None = None) -> None:
        self.listener(TxEvent(kind, self, message, error))

    def _terminate(self) -> None:
        if self.state == TERMINATED_STATE:
            return
        self.state = TERMINATED_STATE
        self._stop()
        self._emit(TERMINATED)

    def receive(self, response: SipMessage) -> None:
        raise NotImplementedError

    def transport_error(self, exc: BaseException) -> None:
        """RFC 3261 §17.1.4: a transport failure ends the transaction and informs the TU."""
        if self.state == TERMINATED_STATE:
            return
        self._stop()
        self._emit(TRANSPORT_ERROR, error=exc)
        self._terminate()

    def close(self) -> None:
        """Stop every timer without telling anyone (the endpoint is going away)."""
        self._stop()
        self.state = TERMINATED_STATE


class InviteClientTransaction(ClientTransaction):
    """RFC 3261 Figure 5, with RFC 6026's Accepted state for 2xx retransmissions."""

    ack_sent: int = 0

    def start(self) -> None:
        if not self._send_first(CALLING):
            return
        if not self.reliable:
            self._interval_a = self.timers.t1
            self._start("A", self._interval_a, self._timer_a)
        self._start("B", self.timers.b, self._timer_b)

    def _timer_a(self) -> None:
        if self.state != CALLING:
            return
        if not self._retransmit():
            return
        self._interval_a *= 2  # no T2 cap for INVITE (§17.1.1.2)
        self._start("A", self._interval_a, self._timer_a)

    def _timer_b(self) -> None:
        if self.state == CALLING:
            self._time_out()

    def receive(self, response: SipMessage) -> None:
        code = response.status or 0
        if self.state in (CALLING, PROCEEDING):
            if code < 200:
                self.state = PROCEEDING
                self._stop("A", "B")  # Timer B runs in Calling only; the TU guards Proceeding
                self._emit(RESPONSE, response)
            elif code < 300:
                self.state = ACCEPTED
                self._stop("A", "B")
                self._emit(RESPONSE, response)
                self._start("M", self.timers.m, self._terminate)
            else:
                self.state = COMPLETED
                self._stop("A", "B")
                self._send_ack(response)
                self._emit(RESPONSE, response)
                self._start("D", 0.0 if self.reliable else self.timers.timer_d, self._terminate)
        elif self.state == COMPLETED and code >= 300:
            self._send_ack(response, retransmission=True)  # our ACK was lost: say it again
        elif self.state == ACCEPTED and 200 <= code < 300:
            self._emit(RESPONSE, response)  # the TU acknowledges every 2xx (RFC 6026 §7.2)

    def _send_ack(self, response: SipMessage, retransmission: bool = False) -> None:
        self.ack_sent += 1
        self._transmit(ack_for_non_2xx(self.request, response), retransmission)


def ack_for_non_2xx(invite: SipMessage, response: SipMessage) -> SipMessage:
    """RFC 3261 §17.1.1.3: same R-URI, Call-ID, From, CSeq number, top Via; the response's To."""
    headers: list[tuple[str, str]] = []
    vias = invite.values("Via")
    if vias:
        headers.append(("Via", vias[0]))
    headers.append(("Max-Forwards", "70"))
    sender = invite.header("From")
    if sender is not None:
        headers.append(("From", sender))
    headers.append(("To", response.header("To") or invite.header("To") or ""))
    headers.append(("Call-ID", invite.header("Call-ID") or ""))
    cseq = invite.cseq
    headers.append(("CSeq", f"{cseq[0] if cseq else 1} ACK"))
    headers.extend(("Route", r) for r in invite.header_lines("Route"))
    return SipMessage.request("ACK", invite.uri or "", headers)


class NonInviteClientTransaction(ClientTransaction):
    """RFC 3261 Figure 6 (CANCEL, BYE, OPTIONS ...)."""

    def start(self) -> None:
        if not self._send_first(TRYING):
            return
        if not self.reliable:
            self._interval_e = self.timers.t1
            self._start("E", self._interval_e, self._timer_e)
        self._start("F", self.timers.f, self._timer_f)

    def _timer_e(self) -> None:
        if self.state not in (TRYING, PROCEEDING):
            return
        if not self._retransmit():
            return
        if self.state == TRYING:
            self._interval_e = min(2 * self._interval_e, self.timers.t2)
        else:
            self._interval_e = self.timers.t2
        self._start("E", self._interval_e, self._timer_e)

    def _timer_f(self) -> None:
        if self.state in (TRYING, PROCEEDING):
            self._time_out()

    def receive(self, response: SipMessage) -> None:
        code = response.status or 0
        if self.state in (TRYING, PROCEEDING):
            if code < 200:
                self.state = PROCEEDING
                self._emit(RESPONSE, response)
            else:
                self.state = COMPLETED
                self._stop("E", "F")
                self._emit(RESPONSE, response)
                self._start("K", 0.0 if self.reliable else self.timers.t4, self._terminate)
        # Completed: retransmitted finals are absorbed.


# ----------------------------------------------------------------------------- layer


class TransactionLayer:
    """Matches responses to client transactions; everything else goes to the TU.

    ``on_request`` gets requests from the far end (a BYE, an OPTIONS ping);
    ``on_stray`` gets responses no live transaction claims (e.g. a 2xx retransmitted
    after Timer M), so the TU can still acknowledge them.
    """

    def __init__(
        self,
        send: Callable[[SipMessage, bool], None],
        clock: Clock,
        *,
        reliable: bool,
        timers: TimerSettings | None = None,
        on_request: Callable[[SipMessage], None] | None = None,
        on_stray: Callable[[SipMessage], None] | None = None,
    ) -> None:
        self._send = send
        self.clock = clock
        self.reliable = reliable
        self.timers = timers or TimerSettings()
        self.on_request = on_request
        self.on_stray = on_stray
        self.transactions: dict[tuple[str, str], ClientTransaction] = {}

    def _track(self, tx: ClientTransaction, listener: Listener) -> None:
        def relay(event: TxEvent) -> None:
            if event.kind == TERMINATED:
                self.transactions.pop(tx.key, None)
            listener(event)

        tx.listener = relay
        self.transactions[tx.key] = tx

    def invite(self, request: SipMessage, listener: Listener) -> InviteClientTransaction:
        tx = InviteClientTransaction(request, self._send, listener, self.clock, self.timers, self.reliable)
        self._track(tx, listener)
        tx.start()
        return tx

    def request(self, request: SipMessage, listener: Listener) -> NonInviteClientTransaction:
        tx = NonInviteClientTransaction(request, self._send, listener, self.clock, self.timers, self.reliable)
        self._track(tx, listener)
        tx.start()
        return tx

    def send_stateless(self, message: SipMessage) -> None:
        """An ACK for a 2xx or a response to the far end's request: no transaction."""
        self._send(message, False)

    def receive(self, message: SipMessage) -> None:
        if message.is_request:
            if self.on_request is not None:
                self.on_request(message)
            return
        vias = message.values("Via")
        cseq = message.cseq
        if len(vias) != 1 or cseq is None:
            return  # RFC 3261 §18.1.2: a response with more Vias was not meant for us
        via = message.top_via
        tx = self.transactions.get(((via.branch or "") if via else "", cseq[1]))
        if tx is None:
            if self.on_stray is not None:
                self.on_stray(message)
            return
        tx.receive(message)

    def transport_failed(self, exc: BaseException) -> None:
        for tx in list(self.transactions.values()):
            tx.transport_error(exc)

    def close(self) -> None:
        for tx in list(self.transactions.values()):
            tx.close()
        self.transactions.clear()
