"""The lab's phone network: one SIP UAS on loopback that answers for every company number.

The line probe (:mod:`auditor.probes.sip`) needs a far end that behaves like a
carrier does, so the demo and the tests can show what each answer means without
dialling anyone. Each number has a behaviour::

    ring                 100, 180, then rings until CANCEL (200 to it, 487 to the INVITE)
                         or ``max_ring`` seconds (480)
    answer-after:S       100, 180, 200 OK after S seconds; ACK ends the 2xx
                         retransmissions, BYE gets 200
    busy                 100, 486 Busy Here
    not-in-service       100, 404 Not Found (unallocated number)
    changed              100, 410 Gone (number changed)
    no-answer:S          100, then 480 Temporarily Unavailable after S seconds (default 3),
                         with no ringing: a phone that is off. The probe reads it as
                         unknown/no-answer; a 180 first would prove the line rings.
    ring-no-answer:S     100, 180, 480 after S seconds (default 3): rings, nobody picks up
    unavailable          100, 503 Service Unavailable (the network's trouble, not the line's)
    silent               nothing at all, not even 100 Trying (the probe's Timer B decides)
    progress-then-404:S  100, 183 Session Progress (early media: a carrier announcement),
                         404 after S seconds (default 0: right behind the 183)

A number nobody declared gets 404 (or the ``default`` behaviour). With ``auth=(user, password)`` every INVITE is
first challenged with 407 (SHA-256 and MD5 digest, qop=auth, RFC 8760 order) and
a wrong answer is challenged again, as Asterisk and Kamailio do.

Over UDP the server keeps RFC 3261 §17.2 server transactions: a retransmitted
INVITE gets the last response again, a non-2xx final is retransmitted (Timer G)
until its ACK, a 2xx until its ACK (§13.3.1.4), and a retransmitted CANCEL or BYE
gets its final again. TCP listens on the same port, framed by Content-Length.
Responses go back to where the request came from (RFC 3581 ``rport``), which is
all a connected UDP socket accepts.

Counters (read them after the probe is done): distinct calls, CANCELs, BYEs and
ACKs per number, digest challenges and refusals, garbage datagrams, and one
:class:`CallRecord` per call.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self, cast
from urllib.parse import unquote

from auditor.lab.background import BackgroundLoop, BackgroundServer
from auditor.probes.sip.digest import HASHES, compute_response, parse_auth_params
from auditor.probes.sip.message import (
    ParseError,
    SipMessage,
    StreamFramer,
    build_response,
    host_for_uri,
    new_tag,
    parse_message,
)

__all__ = ["BEHAVIOURS", "CallRecord", "LabSipServer", "LineBehaviour", "normalize_number"]

log = logging.getLogger(__name__)

BEHAVIOURS = (
    "ring", "answer-after", "busy", "not-in-service", "changed", "no-answer", "ring-no-answer",
    "unavailable", "silent", "progress-then-404",
)
# Behaviours that take ":SECONDS", and the default when it is left out.
DEFAULT_DELAYS: Mapping[str, float] = {
    "answer-after": 2.0, "no-answer": 3.0, "ring-no-answer": 3.0, "progress-then-404": 0.0,
}
# Finals sent right after the 100 Trying (after ``ring_delay``).
IMMEDIATE_FINALS: Mapping[str, tuple[int, str]] = {
    "busy": (486, "Busy Here"),
    "not-in-service": (404, "Not Found"),
    "changed": (410, "Gone"),
    "unavailable": (503, "Service Unavailable"),
}
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
SERVER = "contact-auditor lab SIP"
REALM = "lab.sip.test"
MAX_DATAGRAM = 65535


def normalize_number(text: str) -> str:
    """``+36 1 234-5678`` or ``%2B3612345678`` -> ``+3612345678`` (digits, with the + kept)."""
    text = unquote(text).strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return ("+" + digits) if text.startswith("+") else digits


def request_number(uri: str) -> str | None:
    """The dialled number of a ``sip:``/``sips:``/``tel:`` Request-URI, or None."""
    match = re.match(r"^\s*(sips?|tel):([^@;?>]*)", uri, re.IGNORECASE)
    if not match:
        return None
    number = normalize_number(match.group(2))
    return number if number.strip("+") else None


@dataclass(frozen=True)
class LineBehaviour:
    """What one number does when called: a name from :data:`BEHAVIOURS` and its delay."""

    name: str
    delay: float = 0.0

    @classmethod
    def parse(cls, text: str | LineBehaviour) -> LineBehaviour:
        """``"answer-after:2.5"`` -> LineBehaviour("answer-after", 2.5); ValueError when unknown."""
        if isinstance(text, LineBehaviour):
            return text
        name, _, arg = text.strip().partition(":")
        name = name.strip().lower()
        if name not in BEHAVIOURS:
            raise ValueError(f"unknown lab SIP behaviour {text!r}; one of {', '.join(BEHAVIOURS)}")
        if arg.strip() and name not in DEFAULT_DELAYS:
            raise ValueError(f"lab SIP behaviour {name!r} takes no argument (got {text!r})")
        try:
            delay = float(arg) if arg.strip() else DEFAULT_DELAYS.get(name, 0.0)
        except ValueError:
            raise ValueError(f"lab SIP behaviour {text!r}: {arg!r} is not a number of seconds") from None
        if delay < 0 or delay != delay:
            raise ValueError(f"lab SIP behaviour {text!r}: the delay must be >= 0")
        return cls(name, delay)

    def __str__(self) -> str:
        return f"{self.name}:{self.delay:g}" if self.name in DEFAULT_DELAYS else self.name


@dataclass
class CallRecord:
    """One call as the lab saw it (a Call-ID; an authenticated re-INVITE is the same call)."""

    number: str
    call_id: str
    transport: str
    behaviour: str
    started: float = field(default_factory=time.time)
    responses: list[int] = field(default_factory=list)
    final: int | None = None
    invites: int = 0
    authenticated: bool = False
    cancelled: bool = False
    acked: bool = False
    bye: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(eq=False)
class _Peer:
    """Where responses go: the UDP source address or the TCP connection a request came on."""

    send: Callable[[bytes], None]
    transport: str  # UDP | TCP
    address: tuple[str, int]

    @property
    def reliable(self) -> bool:
        return self.transport != "UDP"


@dataclass(eq=False)
class _InviteTx:
    """An INVITE server transaction (RFC 3261 Figure 7, with RFC 6026's Accepted state)."""

    key: tuple[str, str]
    request: SipMessage
    peer: _Peer
    number: str
    behaviour: LineBehaviour
    record: CallRecord
    to_tag: str
    last: bytes | None = None
    final: int | None = None
    acked: bool = False
    handles: list[asyncio.TimerHandle] = field(default_factory=list)
    retransmit: asyncio.TimerHandle | None = None

    def cancel_timers(self) -> None:
        for handle in self.handles:
            handle.cancel()
        self.handles.clear()
        if self.retransmit is not None:
            self.retransmit.cancel()
            self.retransmit = None


@dataclass(eq=False)
class _Dialog:
    """A confirmed (or confirming) call after a 2xx: waits for ACK, then BYE."""

    call_id: str
    to_tag: str
    tx: _InviteTx
    ok: bytes
    acked: bool = False
    retransmit: asyncio.TimerHandle | None = None


def _sdp_answer(host: str) -> bytes:
    """A G.711 answer; no media ever flows in the lab."""
    kind = "IP6" if ":" in host else "IP4"
    session = secrets.randbelow(2**31)
    lines = [
        "v=0", f"o=lab {session} {session} IN {kind} {host}", "s=lab", f"c=IN {kind} {host}", "t=0 0",
        "m=audio 40000 RTP/AVP 8 0", "a=rtpmap:8 PCMA/8000", "a=rtpmap:0 PCMU/8000", "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def _sent_by(request: SipMessage) -> str:
    via = request.top_via
    if via is None:
        return ""
    return f"{via.host.lower()}:{via.port or 5060}"


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: LabSipServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # not a subclass at runtime

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        transport = self.transport
        if transport is None:
            return

        def send(payload: bytes) -> None:
            if not transport.is_closing():
                transport.sendto(payload, addr)

        self.server._receive(parse_message(data), _Peer(send, "UDP", (addr[0], addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.debug("lab SIP: UDP error %s", exc)  # ICMP from a probe that already left


class _TcpProtocol(asyncio.Protocol):
    def __init__(self, server: LabSipServer) -> None:
        self.server = server
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer: _Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        address = transport.get_extra_info("peername") or ("?", 0)

        def send(payload: bytes) -> None:
            if not transport.is_closing():
                transport.write(payload)

        self.peer = _Peer(send, "TCP", (str(address[0]), int(address[1])))
        self.server._connections.add(transport)

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None
        for item in self.framer.feed(data):
            self.server._receive(item, self.peer)
        if self.framer.broken and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server._connections.discard(self.transport)


class LabSipServer(BackgroundServer):
    """A SIP UAS for the lab's numbers, served over UDP and TCP from a background thread.

    ``endpoints`` maps numbers (any spelling; normalized to E.164 digits) to a
    behaviour string or :class:`LineBehaviour`; other numbers get ``default``
    (None: 404 Not Found, an unallocated number). ``port=0`` picks a port free for
    both UDP and TCP. ``t1`` drives the retransmission timers; ``ring_delay`` is
    the pause before 180 or a final; ``max_ring`` ends an unanswered ``ring``.
    """

    def __init__(
        self,
        endpoints: Mapping[str, str | LineBehaviour],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default: str | LineBehaviour | None = None,
        auth: tuple[str, str] | None = None,
        realm: str = REALM,
        tcp: bool = True,
        t1: float = 0.5,
        t2: float = 4.0,
        ring_delay: float = 0.05,
        max_ring: float = 60.0,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the lab SIP server listens on loopback only, not {host!r}")
        self.endpoints: dict[str, LineBehaviour] = {}
        for number, behaviour in endpoints.items():
            key = normalize_number(number)
            if not key.strip("+"):
                raise ValueError(f"not a phone number: {number!r}")
            self.endpoints[key] = LineBehaviour.parse(behaviour)
        self.default = LineBehaviour.parse(default) if default is not None else None
        self.host = host
        self.port = port
        self.auth = auth
        self.realm = realm
        self.tcp = tcp
        self.t1 = t1
        self.t2 = t2
        self.ring_delay = ring_delay
        self.max_ring = max_ring
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.cancels: Counter[str] = Counter()
        self.byes: Counter[str] = Counter()
        self.acks: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self.challenges = 0
        self.auth_failures = 0
        self.retransmissions = 0
        self.garbage = 0
        self.records: list[CallRecord] = []
        self._by_call: dict[str, CallRecord] = {}
        self._invites: dict[tuple[str, str], _InviteTx] = {}
        self._dialogs: dict[tuple[str, str], _Dialog] = {}
        self._finals: dict[tuple[str, str, str], bytes] = {}  # non-INVITE transactions
        self._nonces: dict[str, float] = {}
        self._bg = BackgroundLoop("lab-sip")
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.AbstractServer | None = None
        self._connections: set[asyncio.Transport] = set()

    # ---------------------------------------------------------------- counters

    def snapshot(self) -> dict[str, Any]:
        """Every counter as plain data (for a demo summary or an assertion message)."""
        with self._lock:
            return {
                "calls": dict(self.calls), "cancels": dict(self.cancels), "byes": dict(self.byes),
                "acks": dict(self.acks), "answered": dict(self.answered), "requests": dict(self.requests),
                "challenges": self.challenges, "auth_failures": self.auth_failures,
                "retransmissions": self.retransmissions, "garbage": self.garbage,
                "records": [r.to_dict() for r in self.records],
            }

    def reset_counters(self) -> None:
        with self._lock:
            for counter in (self.calls, self.cancels, self.byes, self.acks, self.answered, self.requests):
                counter.clear()
            self.challenges = self.auth_failures = self.retransmissions = self.garbage = 0
            self.records.clear()
            self._by_call.clear()

    def record(self, number: str) -> list[CallRecord]:
        """The calls to ``number`` (any spelling)."""
        key = normalize_number(number)
        with self._lock:
            return [r for r in self.records if r.number == key]

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Bind UDP (and TCP) and serve from a daemon thread; returns self."""
        if not self._bg.running:
            self._bg.start(self._bind, self._shutdown)
        return self

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        for attempt in range(20):
            port = self.port or _free_port(self.host)
            try:
                udp, _ = await loop.create_datagram_endpoint(
                    lambda: _UdpProtocol(self), local_addr=(self.host, port))
                self._udp = udp
                if self.tcp:
                    self._tcp_server = await loop.create_server(
                        lambda: _TcpProtocol(self), self.host, port, reuse_address=True)
            except OSError:
                if self._udp is not None:
                    self._udp.close()
                    self._udp = None
                if self.port or attempt == 19:
                    raise
                continue
            self.port = port
            return

    async def _shutdown(self) -> None:
        for tx in list(self._invites.values()):
            tx.cancel_timers()
        for dialog in list(self._dialogs.values()):
            if dialog.retransmit is not None:
                dialog.retransmit.cancel()
        if self._tcp_server is not None:
            self._tcp_server.close()
            await self._tcp_server.wait_closed()
        for transport in list(self._connections):
            transport.close()
        if self._udp is not None:
            self._udp.close()
        await asyncio.sleep(0)

    def stop(self) -> None:
        """Close the sockets, drop every call and end the thread."""
        self._bg.stop()

    # ---------------------------------------------------------------- plumbing

    @property
    def timer_h(self) -> float:
        return 64 * self.t1

    def _later(self, delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        assert self._loop is not None
        return self._loop.call_later(max(0.0, delay), callback)

    def _respond(self, peer: _Peer, request: SipMessage, code: int, reason: str, *, to_tag: str | None = None,
                 extra: list[tuple[str, str]] | None = None, body: bytes = b"") -> bytes:
        response = build_response(request, code, reason, to_tag=to_tag,
                                  extra=[*(extra or []), ("Server", SERVER)])
        if body:
            response.set("Content-Type", "application/sdp")
            response.body = body
        data = response.to_bytes()
        try:
            peer.send(data)
        except OSError as exc:
            log.debug("lab SIP: cannot answer %s: %s", peer.address, exc)
        return data

    def _receive(self, item: SipMessage | ParseError, peer: _Peer) -> None:
        """Every datagram or framed stream message lands here (in the server's loop)."""
        if isinstance(item, ParseError):
            with self._lock:
                self.garbage += 1
            return
        if item.is_response:
            return  # the lab never sends requests, so a response is noise
        try:
            self._request(item, peer)
        except Exception:  # one odd request must not stop the lab's phone network
            log.exception("lab SIP: failed on %s", item.first_line)

    def _request(self, request: SipMessage, peer: _Peer) -> None:
        method = request.method or ""
        with self._lock:
            self.requests[method] += 1
        via = request.top_via
        cseq = request.cseq
        if via is None or request.call_id is None or request.from_addr is None or request.to_addr is None:
            self._drop_or_400(request, peer, "Missing Via, From, To or Call-ID")
            return
        if cseq is None or cseq[1] != method:
            self._drop_or_400(request, peer, "Bad CSeq")
            return
        self._stamp_via(request, peer)
        if method == "INVITE":
            self._invite(request, peer)
        elif method == "ACK":
            self._ack(request)
        elif method == "CANCEL":
            self._cancel(request, peer)
        elif method == "BYE":
            self._non_invite(request, peer, self._bye)
        elif method == "OPTIONS":
            self._non_invite(request, peer, lambda r, p: self._respond(
                p, r, 200, "OK", to_tag=new_tag(), extra=[("Allow", ALLOW), ("Accept", "application/sdp")]))
        else:
            self._non_invite(request, peer, lambda r, p: self._respond(
                p, r, 405, "Method Not Allowed", to_tag=new_tag(), extra=[("Allow", ALLOW)]))

    def _drop_or_400(self, request: SipMessage, peer: _Peer, why: str) -> None:
        """RFC 3261 §8.2: a malformed request gets 400 if there is anywhere to send it; ACKs never."""
        with self._lock:
            self.garbage += 1
        if request.method != "ACK" and request.header("Via"):
            self._respond(peer, request, 400, f"Bad Request ({why})")

    @staticmethod
    def _stamp_via(request: SipMessage, peer: _Peer) -> None:
        """RFC 3581: note where the request really came from in the top Via."""
        lines = request.header_lines("Via")
        if not lines:
            return
        first = lines[0]
        rest = ""
        if "," in first:  # several values on one line: stamp only the first
            first, _, rest = first.partition(",")
            rest = "," + rest
        first = re.sub(r";\s*rport(?=;|$)", f";rport={peer.address[1]}", first.strip())
        if ";received=" not in first.lower():
            first += f";received={peer.address[0]}"
        for i, (name, _) in enumerate(request.headers):
            if name == "Via":
                request.headers[i] = ("Via", first + rest)
                break

    # ---------------------------------------------------------------- INVITE

    def _invite(self, request: SipMessage, peer: _Peer) -> None:
        via = request.top_via
        assert via is not None
        key = (via.branch or "", _sent_by(request))
        existing = self._invites.get(key)
        if existing is not None:  # a retransmission: say the last thing again (§17.2.1)
            with self._lock:
                self.retransmissions += 1
            if existing.last is not None and (existing.final is None or existing.final >= 300):
                peer.send(existing.last)
            return
        call_id = request.call_id or ""
        number = request_number(request.uri or "") or ""
        behaviour = self.endpoints.get(number, self.default if number else None)
        with self._lock:
            record = self._by_call.get(call_id)
            if record is None:
                record = CallRecord(number, call_id, peer.transport,
                                    str(behaviour) if behaviour else "unknown-number")
                self._by_call[call_id] = record
                self.records.append(record)
                self.calls[number] += 1
            record.invites += 1
        tx = _InviteTx(key, request, peer, number, behaviour or LineBehaviour("not-in-service"), record,
                       new_tag())
        self._invites[key] = tx
        if behaviour is not None and behaviour.name == "silent":
            return  # the transaction exists only to absorb the retransmissions
        if self.auth is not None and not self._authorized(request):
            self._final(tx, 407, "Proxy Authentication Required", extra=self._challenge())
            return
        record.authenticated = self.auth is not None
        self._provisional(tx, 100, "Trying")
        if behaviour is None:
            self._final(tx, 404, "Not Found")
            return
        self._play(tx)

    def _play(self, tx: _InviteTx) -> None:
        """Schedule the behaviour's responses; each step schedules the next, so order is certain."""
        b = tx.behaviour
        ring = self.ring_delay

        def after(delay: float, step: Callable[[], None]) -> None:
            if delay <= 0:
                step()
            else:
                tx.handles.append(self._later(delay, step))

        def then(code: int, reason: str, delay: float, step: Callable[[], None], *, sdp: bool = False) -> None:
            def run() -> None:
                self._provisional(tx, code, reason, sdp=sdp)
                after(delay, step)
            after(ring, run)

        def final(code: int, reason: str, extra: list[tuple[str, str]] | None = None) -> Callable[[], None]:
            return lambda: self._final(tx, code, reason, extra=extra)

        unavailable = final(480, "Temporarily Unavailable")
        if b.name in IMMEDIATE_FINALS:
            code, reason = IMMEDIATE_FINALS[b.name]
            after(ring, final(code, reason, [("Retry-After", "300")] if code == 503 else None))
        elif b.name == "ring":
            then(180, "Ringing", self.max_ring, unavailable)
        elif b.name == "answer-after":
            then(180, "Ringing", b.delay - ring, lambda: self._answer(tx))
        elif b.name == "no-answer":
            after(b.delay, unavailable)
        elif b.name == "ring-no-answer":
            then(180, "Ringing", b.delay - ring, unavailable)
        elif b.name == "progress-then-404":
            # Zero delay: the 404 goes out right behind the 183, before any CANCEL can arrive.
            then(183, "Session Progress", b.delay, final(404, "Not Found"), sdp=True)

    def _provisional(self, tx: _InviteTx, code: int, reason: str, *, sdp: bool = False) -> None:
        if tx.final is not None:
            return
        body = _sdp_answer(self.host) if sdp and tx.request.body else b""
        tx.last = self._respond(tx.peer, tx.request, code, reason, to_tag=tx.to_tag if code > 100 else None,
                                body=body)
        with self._lock:
            tx.record.responses.append(code)

    def _final(self, tx: _InviteTx, code: int, reason: str, *, extra: list[tuple[str, str]] | None = None) -> None:
        """A non-2xx final: retransmitted over UDP until ACKed (Timer G), given up at Timer H."""
        if tx.final is not None:
            return
        tx.cancel_timers()
        tx.final = code
        tx.last = self._respond(tx.peer, tx.request, code, reason, to_tag=tx.to_tag, extra=extra)
        with self._lock:
            tx.record.responses.append(code)
            tx.record.final = code
        if not tx.peer.reliable:
            interval = self.t1

            def again() -> None:
                nonlocal interval
                if tx.acked or tx.last is None:
                    return
                tx.peer.send(tx.last)
                interval = min(2 * interval, self.t2)
                tx.retransmit = self._later(interval, again)

            tx.retransmit = self._later(interval, again)
        tx.handles.append(self._later(self.timer_h, lambda: self._forget(tx)))

    def _answer(self, tx: _InviteTx) -> None:
        """200 OK with a Contact and an SDP answer; retransmitted until the ACK (§13.3.1.4)."""
        if tx.final is not None:
            return
        tx.cancel_timers()
        tx.final = 200
        contact = (f"<sip:{tx.number or 'lab'}@{host_for_uri(self.host)}:{self.port}"
                   f";transport={tx.peer.transport.lower()}>")
        body = _sdp_answer(self.host) if tx.request.body else b""
        ok = self._respond(tx.peer, tx.request, 200, "OK", to_tag=tx.to_tag,
                           extra=[("Contact", contact), ("Allow", ALLOW)], body=body)
        tx.last = ok
        dialog = _Dialog(tx.request.call_id or "", tx.to_tag, tx, ok)
        self._dialogs[(dialog.call_id, dialog.to_tag)] = dialog
        with self._lock:
            tx.record.responses.append(200)
            tx.record.final = 200
            self.answered[tx.number] += 1
        if not tx.peer.reliable:
            interval = self.t1

            def again() -> None:
                nonlocal interval
                if dialog.acked:
                    return
                tx.peer.send(ok)
                interval = min(2 * interval, self.t2)
                dialog.retransmit = self._later(interval, again)

            dialog.retransmit = self._later(interval, again)

        def give_up() -> None:
            if dialog.retransmit is not None:
                dialog.retransmit.cancel()
            if not dialog.acked:  # no ACK by Timer H: the call never got confirmed
                self._dialogs.pop((dialog.call_id, dialog.to_tag), None)
            self._invites.pop(tx.key, None)

        tx.handles.append(self._later(self.timer_h, give_up))

    def _forget(self, tx: _InviteTx) -> None:
        tx.cancel_timers()
        self._invites.pop(tx.key, None)

    # ---------------------------------------------------------------- ACK, CANCEL, BYE

    def _ack(self, request: SipMessage) -> None:
        """An ACK ends a final's retransmissions; it is never answered."""
        to = request.to_addr
        to_tag = to.tag if to else None
        dialog = self._dialogs.get((request.call_id or "", to_tag or ""))
        if dialog is not None:  # ACK for a 2xx: its own transaction, matched by dialog
            if not dialog.acked:
                dialog.acked = True
                if dialog.retransmit is not None:
                    dialog.retransmit.cancel()
                    dialog.retransmit = None
                with self._lock:
                    dialog.tx.record.acked = True
                    self.acks[dialog.tx.number] += 1
            return
        via = request.top_via
        tx = self._invites.get(((via.branch or "") if via else "", _sent_by(request)))
        if tx is not None and tx.final is not None and tx.final >= 300 and not tx.acked:
            tx.acked = True
            if tx.retransmit is not None:
                tx.retransmit.cancel()
                tx.retransmit = None
            with self._lock:
                if tx.final != 407:
                    tx.record.acked = True
                self.acks[tx.number] += 1

    def _cancel(self, request: SipMessage, peer: _Peer) -> None:
        """RFC 3261 §9.2: 200 to the CANCEL, then 487 to the INVITE if it had no final yet."""
        via = request.top_via
        key = ((via.branch or "") if via else "", _sent_by(request))
        tx = self._invites.get(key)
        if tx is not None and tx.behaviour.name == "silent" and tx.last is None:
            return  # a silent line says nothing, not even to a CANCEL
        if tx is None:
            self._non_invite(request, peer, lambda r, p: self._respond(
                p, r, 481, "Call/Transaction Does Not Exist", to_tag=new_tag()))
            return

        def answer(r: SipMessage, p: _Peer) -> bytes:
            data = self._respond(p, r, 200, "OK", to_tag=tx.to_tag)
            if tx.final is None:
                with self._lock:
                    self.cancels[tx.number] += 1
                    tx.record.cancelled = True
                self._final(tx, 487, "Request Terminated")
            return data

        self._non_invite(request, peer, answer)

    def _bye(self, request: SipMessage, peer: _Peer) -> bytes:
        to = request.to_addr
        # The probe is the caller, so our tag is in To; a BYE from the far side would carry it in From.
        tags = {to.tag if to else None, request.from_addr.tag if request.from_addr else None} - {None}
        dialog = next((d for t in tags if (d := self._dialogs.get((request.call_id or "", t or ""))) is not None),
                      None)
        if dialog is None:
            return self._respond(peer, request, 481, "Call/Transaction Does Not Exist")
        self._dialogs.pop((dialog.call_id, dialog.to_tag), None)
        if dialog.retransmit is not None:
            dialog.retransmit.cancel()
        with self._lock:
            self.byes[dialog.tx.number] += 1
            dialog.tx.record.bye = True
        return self._respond(peer, request, 200, "OK")

    def _non_invite(self, request: SipMessage, peer: _Peer,
                    handler: Callable[[SipMessage, _Peer], bytes | None]) -> None:
        """A non-INVITE server transaction: a retransmitted request gets the same final (Timer J)."""
        via = request.top_via
        key = ((via.branch or "") if via else "", _sent_by(request), request.method or "")
        previous = self._finals.get(key)
        if previous is not None:
            with self._lock:
                self.retransmissions += 1
            peer.send(previous)
            return
        data = handler(request, peer)
        if data is not None:
            self._finals[key] = data
            self._later(0.0 if peer.reliable else self.timer_h, lambda: self._finals.pop(key, None))

    # ---------------------------------------------------------------- digest

    def _challenge(self) -> list[tuple[str, str]]:
        """Proxy-Authenticate for SHA-256 then MD5 (RFC 8760 §2.4: preferred first)."""
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = time.monotonic()
        with self._lock:
            self.challenges += 1
        return [
            ("Proxy-Authenticate", f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={algorithm}, qop="auth"')
            for algorithm in ("SHA-256", "MD5")
        ]

    def _authorized(self, request: SipMessage) -> bool:
        """Does a Proxy-Authorization answer one of our nonces with the right password?"""
        assert self.auth is not None
        user, password = self.auth
        now = time.monotonic()
        for nonce, issued in list(self._nonces.items()):
            if now - issued > 300:
                del self._nonces[nonce]
        for value in request.header_lines("Proxy-Authorization"):
            scheme, _, rest = value.strip().partition(" ")
            if scheme.lower() != "digest":
                continue
            p = parse_auth_params(rest)
            algorithm = p.get("algorithm", "MD5")
            if (p.get("realm") != self.realm or p.get("nonce") not in self._nonces
                    or algorithm.upper() not in HASHES or p.get("username") != user):
                continue
            qop = p.get("qop") or None
            expected = compute_response(
                algorithm=algorithm, username=user, realm=self.realm, password=password, method="INVITE",
                uri=p.get("uri", ""), nonce=p.get("nonce", ""), qop=qop, nc=p.get("nc"), cnonce=p.get("cnonce"),
            )
            if hmac.compare_digest(expected, p.get("response", "")):
                return True
        if request.header("Proxy-Authorization") is not None:
            with self._lock:
                self.auth_failures += 1
        return False


def _free_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host`` (checked, then released)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
        return port
    raise OSError(f"no free UDP+TCP port on {host}")
