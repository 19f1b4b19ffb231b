"""One probe call: INVITE, listen, then hang up before anything is charged.

The flow (RFC 3261 §13, §9, §15; digest per §22):

* INVITE ``sip:+E164@trunk;user=phone``; a 401/407 challenge is answered once
  (the 401/407 is acknowledged by its transaction, the new INVITE keeps Call-ID
  and From tag and takes the next CSeq).
* Default mode: CANCEL as soon as 180 or 183 arrives. Nobody picks up, no call is
  connected. The 487 that follows is acknowledged by the transaction.
* ``answer_window`` mode: wait up to that many seconds for a 200; a 200 is
  acknowledged and hung up (BYE) at once; when the window passes, CANCEL.
* A CANCEL can only follow a provisional response (§9.1); if the deadline passes
  before any, the CANCEL waits for the first one (or Timer B ends the call).
* Every 2xx, even one racing a CANCEL, is acknowledged and hung up.

The result keeps every response with its time since the INVITE it answers and a
transcript of first lines and key headers. Credentials are sent, never recorded:
the transcript shows Authorization / Proxy-Authorization as ``<redacted>``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from auditor.probes.sip import digest
from auditor.probes.sip.digest import Secret
from auditor.probes.sip.message import (
    ParseError,
    SipMessage,
    build_response,
    format_name_addr,
    host_for_uri,
    new_branch,
    new_call_id,
    new_tag,
    parse_name_addr,
)
from auditor.probes.sip.transaction import (
    COMPLETED,
    RESPONSE,
    TERMINATED,
    TERMINATED_STATE,
    TIMEOUT,
    TRANSPORT_ERROR,
    ClientTransaction,
    LoopClock,
    TimerSettings,
    TransactionLayer,
    TxEvent,
)
from auditor.probes.sip.transport import SipTransport

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"Authorization", "Proxy-Authorization"})
TRANSCRIPT_HEADERS = (
    "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Record-Route", "Reason", "Warning",
    "Retry-After", "Server", "User-Agent", "P-Asserted-Identity", "WWW-Authenticate",
    "Proxy-Authenticate", "Authorization", "Proxy-Authorization", "Content-Type",
)
MAX_TRANSCRIPT = 60


@dataclass(frozen=True)
class CallSpec:
    """Everything one call needs; built by the probe from the trunk config."""

    request_uri: str
    to_uri: str
    from_uri: str
    display_name: str | None = None
    contact_user: str = "probe"
    auth_username: str | None = None
    password: Secret | None = None
    realm_hint: str | None = None
    answer_window: float | None = None  # None: CANCEL on 180/183
    ring_timeout: float = 60.0  # default mode: give up waiting for 180/183 after this
    user_agent: str = "contact-auditor line probe"
    timers: TimerSettings = field(default_factory=TimerSettings)
    send_sdp: bool = True
    linger: float = 0.5  # keep listening after the end, to re-ACK retransmitted finals

    def __repr__(self) -> str:  # the password stays a Secret, but say so plainly
        return f"CallSpec(request_uri={self.request_uri!r}, from_uri={self.from_uri!r}, password=***)"


@dataclass
class ResponseRecord:
    """One response to an INVITE: code, reason phrase, seconds since that INVITE."""

    code: int
    reason: str
    t: float
    invite: int = 1  # 1: first INVITE, 2: the authenticated one

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "reason": self.reason, "t": round(self.t, 3), "invite": self.invite}


@dataclass
class CallResult:
    """What happened on one call, JSON-friendly through :meth:`evidence`."""

    request_uri: str
    call_id: str
    transport: str
    responses: list[ResponseRecord] = field(default_factory=list)
    final: ResponseRecord | None = None
    answered_after: float | None = None
    cancel_reason: str | None = None
    cancel_sent_after: float | None = None
    cancel_status: int | None = None
    bye_status: int | None = None
    bye_sent: bool = False
    remote_bye: bool = False
    auth: dict[str, Any] | None = None
    auth_failed: str | None = None
    timed_out: bool = False
    transport_error: str | None = None
    invites_sent: int = 0
    retransmissions: int = 0
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)

    @property
    def provisional(self) -> list[ResponseRecord]:
        return [r for r in self.responses if r.code < 200]

    def saw(self, *codes: int) -> bool:
        return any(r.code in codes for r in self.responses)


@dataclass
class _Dialog:
    to_tag: str
    to_header: str
    remote_target: str
    routes: list[str]
    bye_tx: ClientTransaction | None = None
    bye_auth_tried: bool = False


def summarize(direction: str, message: SipMessage, t: float) -> dict[str, Any]:
    """A transcript line: first line and key headers; credentials never kept."""
    headers: dict[str, str] = {}
    for name in TRANSCRIPT_HEADERS:
        if name in ("Via", "Record-Route"):  # the top one is enough to follow the call
            items = message.values(name)
            value = items[0] if items else None
        else:
            value = message.header(name)
        if value is None:
            continue
        headers[name] = REDACTED if name in SECRET_HEADERS else value[:300]
    entry: dict[str, Any] = {"t": round(t, 3), "dir": direction, "line": message.first_line[:300], "headers": headers}
    if message.body:
        entry["body_bytes"] = len(message.body)
    return entry


def sdp_offer(local_ip: str) -> bytes:
    """A plain G.711 offer: some trunks refuse an INVITE without one. No media is ever sent."""
    ip_kind = "IP6" if ":" in local_ip else "IP4"
    session = secrets.randbelow(2**31)
    lines = [
        "v=0",
        f"o=- {session} {session} IN {ip_kind} {local_ip}",
        "s=-",
        f"c=IN {ip_kind} {local_ip}",
        "t=0 0",
        f"m=audio {20000 + 2 * secrets.randbelow(5000)} RTP/AVP 8 0 101",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-16",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


class UserAgent:
    """A one-call-at-a-time UAC on one transport (the probe opens one per call)."""

    def __init__(self, transport: SipTransport) -> None:
        self.transport = transport

    async def call(self, spec: CallSpec) -> CallResult:
        return await _Call(self.transport, spec).run()


class _Call:
    """The state of one call; :meth:`run` is an event loop over transaction events."""

    def __init__(self, transport: SipTransport, spec: CallSpec) -> None:
        self.transport = transport
        self.spec = spec
        self.clock = LoopClock()
        self.t0 = self.clock.time()
        self.events: asyncio.Queue[TxEvent | tuple[str, Any]] = asyncio.Queue()
        local_host, local_port = transport.local
        self.local_host, self.local_port = local_host, local_port
        self.call_id = new_call_id(local_host)
        self.from_tag = new_tag()
        self.cseq = 1
        self.result = CallResult(spec.request_uri, self.call_id, transport.name)
        self.layer = TransactionLayer(
            self._send, self.clock, reliable=transport.reliable, timers=spec.timers,
            on_request=lambda m: self.events.put_nowait(("request", m)),
            on_stray=lambda m: self.events.put_nowait(("stray", m)),
        )
        self.invite_tx: ClientTransaction | None = None
        self.invite: SipMessage | None = None
        self.invite_t0 = self.t0
        self.invite_no = 0
        self.auth_headers: list[tuple[str, str]] = []
        self.auth_tried = False
        self.provisional_seen = False
        self.pending_cancel: str | None = None
        self.cancel_tx: ClientTransaction | None = None
        self.dialogs: dict[str, _Dialog] = {}
        self.deadline: float | None = None
        self.hard_deadline: float | None = None
        self.linger_until: float | None = None

    # ------------------------------------------------------------------ plumbing
    def _now(self) -> float:
        return self.clock.time()

    def _send(self, message: SipMessage, retransmission: bool) -> None:
        self._tap("out", message, retransmission)
        self.transport.send(message.to_bytes())

    def _tap(self, direction: str, message: SipMessage, retransmission: bool = False) -> None:
        transcript = self.result.transcript
        if retransmission:
            self.result.retransmissions += 1
            for entry in reversed(transcript):
                if entry["dir"] == direction and entry["line"] == message.first_line[:300]:
                    entry["retransmissions"] = entry.get("retransmissions", 0) + 1
                    return
        if len(transcript) < MAX_TRANSCRIPT:
            transcript.append(summarize(direction, message, self._now() - self.t0))

    def _on_message(self, item: SipMessage | ParseError) -> None:
        if isinstance(item, ParseError):
            if len(self.result.transcript) < MAX_TRANSCRIPT:
                self.result.transcript.append(
                    {"t": round(self._now() - self.t0, 3), "dir": "in", "line": "(unparseable)", "error": item.reason[:200]}
                )
            return
        if item.call_id not in (None, self.call_id) and item.is_response:
            return  # not ours (a late answer to an earlier probe on a reused port)
        self._tap("in", item)
        self.layer.receive(item)

    def _on_error(self, exc: BaseException) -> None:
        self.layer.transport_failed(exc)
        if self.result.final is None and self.result.transport_error is None:
            self.events.put_nowait(("transport-error", exc))

    # ------------------------------------------------------------------ building
    def _via(self) -> str:
        return (
            f"SIP/2.0/{self.transport.name} {host_for_uri(self.local_host)}:{self.local_port}"
            f";branch={new_branch()};rport"
        )

    def _contact(self) -> str:
        return (
            f"<sip:{self.spec.contact_user}@{host_for_uri(self.local_host)}:{self.local_port}"
            f";transport={self.transport.name.lower()}>"
        )

    def _from(self) -> str:
        return format_name_addr(self.spec.from_uri, self.spec.display_name, self.from_tag)

    def _build_invite(self) -> SipMessage:
        spec = self.spec
        headers: list[tuple[str, str]] = [
            ("Via", self._via()),
            ("Max-Forwards", "70"),
            ("From", self._from()),
            ("To", format_name_addr(spec.to_uri)),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} INVITE"),
            ("Contact", self._contact()),
            ("Allow", ALLOW),
            ("User-Agent", spec.user_agent),
            *self.auth_headers,
        ]
        body = b""
        if spec.send_sdp:
            body = sdp_offer(self.local_host)
            headers.append(("Content-Type", "application/sdp"))
        return SipMessage.request("INVITE", spec.request_uri, headers, body)

    def _send_invite(self) -> None:
        self.invite = self._build_invite()
        self.invite_no += 1
        self.result.invites_sent += 1
        self.invite_t0 = self._now()
        self.provisional_seen = False
        window = self.spec.answer_window if self.spec.answer_window is not None else self.spec.ring_timeout
        self.deadline = self.invite_t0 + window
        self.invite_tx = self.layer.invite(self.invite, self.events.put_nowait)

    def _cancel_request(self) -> SipMessage:
        """RFC 3261 §9.1: the INVITE's R-URI, top Via, Call-ID, From, To and CSeq number."""
        assert self.invite is not None
        invite = self.invite
        cseq = invite.cseq
        headers = [
            ("Via", invite.values("Via")[0]),
            ("Max-Forwards", "70"),
            ("From", invite.header("From") or ""),
            ("To", invite.header("To") or ""),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq[0] if cseq else self.cseq} CANCEL"),
            *[("Route", r) for r in invite.header_lines("Route")],
            ("User-Agent", self.spec.user_agent),
        ]
        return SipMessage.request("CANCEL", invite.uri or self.spec.request_uri, headers)

    def _in_dialog(self, method: str, dialog: _Dialog, cseq: int, extra: list[tuple[str, str]] | None = None) -> SipMessage:
        headers: list[tuple[str, str]] = [
            ("Via", self._via()),
            ("Max-Forwards", "70"),
            ("From", self._from()),
            ("To", dialog.to_header),
            ("Call-ID", self.call_id),
            ("CSeq", f"{cseq} {method}"),
            *[("Route", r) for r in dialog.routes],
            *(extra or []),
            ("User-Agent", self.spec.user_agent),
        ]
        return SipMessage.request(method, dialog.remote_target, headers)

    # ------------------------------------------------------------------ actions
    def _request_cancel(self, reason: str) -> None:
        if self.result.final is not None or self.cancel_tx is not None:
            return
        if not self.provisional_seen:
            self.pending_cancel = reason  # §9.1: not before a provisional response
            return
        self.pending_cancel = None
        self.result.cancel_reason = reason
        self.result.cancel_sent_after = self._now() - self.invite_t0
        self.cancel_tx = self.layer.request(self._cancel_request(), self.events.put_nowait)
        # §9.1: without a final answer 64*T1 after the CANCEL, the INVITE is over.
        self.hard_deadline = self._now() + self.spec.timers.b
        self.deadline = None

    def _on_2xx(self, response: SipMessage) -> None:
        to = response.to_addr
        to_tag = (to.tag if to else None) or ""
        dialog = self.dialogs.get(to_tag)
        first = dialog is None
        if dialog is None:
            contact = response.values("Contact")
            target = parse_name_addr(contact[0]) if contact else None
            dialog = _Dialog(
                to_tag=to_tag,
                to_header=response.header("To") or "",
                remote_target=target.uri if target else (
                    self.invite.uri if self.invite and self.invite.uri else self.spec.request_uri
                ),
                routes=list(reversed(response.values("Record-Route"))),
            )
            self.dialogs[to_tag] = dialog
        cseq = self.invite.cseq[0] if self.invite and self.invite.cseq else self.cseq
        # §13.2.2.4: a new transaction-less ACK carrying the INVITE's credentials.
        self.layer.send_stateless(self._in_dialog("ACK", dialog, cseq, list(self.auth_headers)))
        if first:
            self._send_bye(dialog)

    def _send_bye(self, dialog: _Dialog, auth: list[tuple[str, str]] | None = None) -> None:
        self.cseq += 1
        bye = self._in_dialog("BYE", dialog, self.cseq, auth)
        dialog.bye_tx = self.layer.request(bye, self.events.put_nowait)
        self.result.bye_sent = True

    def _answer_challenge(self, response: SipMessage, method: str, uri: str) -> list[tuple[str, str]] | None:
        """Authorization headers answering ``response``, or None (reason in result.auth_failed)."""
        spec = self.spec
        header = "Proxy-Authenticate" if response.status == 407 else "WWW-Authenticate"
        offered = digest.challenges_in(header, response.header_lines(header))
        if spec.realm_hint:
            offered = [c for c in offered if c.realm == spec.realm_hint]
        if not spec.auth_username or spec.password is None:
            self.result.auth_failed = f"challenged ({response.status}) but no username/password is configured"
            return None
        by_realm: dict[str, digest.Challenge] = {}
        for challenge in offered:
            if challenge.supported and challenge.realm not in by_realm:
                by_realm[challenge.realm] = challenge
        if not by_realm:
            algorithms = sorted({c.algorithm for c in offered}) or ["none"]
            self.result.auth_failed = (
                f"no usable digest challenge in {response.status} (offered: {', '.join(algorithms)}"
                + (f", wanted realm {spec.realm_hint!r}" if spec.realm_hint else "") + ")"
            )
            return None
        answers: list[tuple[str, str]] = []
        for challenge in by_realm.values():
            value = digest.authorization(
                challenge, username=spec.auth_username, password=spec.password, method=method, uri=uri,
            )
            answers.append((challenge.answer_header, value))
        first = next(iter(by_realm.values()))
        self.result.auth = {
            "status": response.status, "header": first.answer_header, "realm": first.realm,
            "algorithm": first.algorithm, "qop": "auth" if "auth" in first.qop else (first.qop[0] if first.qop else None),
        }
        return answers

    # ------------------------------------------------------------------ events
    def _on_invite_response(self, response: SipMessage) -> None:
        code = response.status or 0
        record = ResponseRecord(code, response.reason, self._now() - self.invite_t0, self.invite_no)
        if code < 200:
            self.result.responses.append(record)
            self.provisional_seen = True
            if self.pending_cancel:
                self._request_cancel(self.pending_cancel)
            elif code in (180, 183) and self.spec.answer_window is None:
                self._request_cancel("ringing" if code == 180 else "session-progress")
            return
        if code < 300:
            if self.result.final is None:
                self.result.responses.append(record)
                self.result.final = record
                self.result.answered_after = record.t
            self._on_2xx(response)
            return
        self.result.responses.append(record)
        if code in (401, 407) and not self.auth_tried and self.result.final is None and self.cancel_tx is None:
            self.auth_tried = True
            answers = self._answer_challenge(response, "INVITE", self.spec.request_uri)
            if answers:
                self.auth_headers = answers
                self.cseq += 1
                self.pending_cancel = None
                self._send_invite()
                return
        if self.result.final is None:
            self.result.final = record
            if code in (401, 407) and self.auth_tried and self.result.auth_failed is None:
                self.result.auth_failed = f"credentials refused ({code} again after answering the challenge)"

    def _on_event(self, event: TxEvent | tuple[str, Any]) -> None:
        if isinstance(event, tuple):
            kind, payload = event
            if kind == "request":
                self._on_request(payload)
            elif kind == "stray":
                if payload.status and 200 <= payload.status < 300 and (payload.cseq or (0, ""))[1] == "INVITE":
                    self._on_2xx(payload)
            elif kind == "transport-error" and self.result.final is None:
                self.result.transport_error = f"{type(payload).__name__}: {payload}"
            return
        tx = event.tx
        if event.kind == TERMINATED:
            return
        if tx is self.invite_tx:
            if event.kind == RESPONSE and event.message is not None:
                self._on_invite_response(event.message)
            elif event.kind == TIMEOUT and self.result.final is None:
                self.result.timed_out = True
            elif event.kind == TRANSPORT_ERROR and self.result.final is None:
                self.result.transport_error = f"{type(event.error).__name__}: {event.error}"
        elif tx is self.cancel_tx:
            if event.kind == RESPONSE and event.message is not None and (event.message.status or 0) >= 200:
                self.result.cancel_status = event.message.status
            elif event.kind == TIMEOUT:
                self.result.notes.append("no answer to CANCEL")
        else:
            for dialog in self.dialogs.values():
                if tx is dialog.bye_tx:
                    self._on_bye_event(dialog, event)
                    break
            else:
                # A 2xx to the first (challenged) INVITE cannot happen; anything else is noise.
                if event.kind == RESPONSE and event.message is not None and (event.message.status or 0) // 100 == 2:
                    self._on_2xx(event.message)

    def _on_bye_event(self, dialog: _Dialog, event: TxEvent) -> None:
        message = event.message
        if event.kind == RESPONSE and message is not None and (message.status or 0) >= 200:
            if message.status in (401, 407) and not dialog.bye_auth_tried:
                dialog.bye_auth_tried = True
                answers = self._answer_challenge(message, "BYE", dialog.remote_target)
                if answers:
                    self._send_bye(dialog, answers)
                    return
            self.result.bye_status = message.status
        elif event.kind == TIMEOUT:
            self.result.notes.append("no answer to BYE")

    def _on_request(self, request: SipMessage) -> None:
        method = request.method or ""
        if method == "ACK":
            return
        if request.call_id != self.call_id:
            response = build_response(request, 481, "Call/Transaction Does Not Exist", to_tag=new_tag())
        elif method == "BYE":
            self.result.remote_bye = True
            response = build_response(request, 200, "OK")
        elif method == "OPTIONS":
            response = build_response(request, 200, "OK", to_tag=new_tag(), extra=[("Allow", ALLOW)])
        else:
            response = build_response(request, 405, "Method Not Allowed", extra=[("Allow", ALLOW)])
        try:
            self.layer.send_stateless(response)
        except OSError:
            pass

    def _finished(self) -> bool:
        result = self.result
        if result.transport_error or result.timed_out:
            return True
        if result.final is None:
            return False
        waiting = [self.cancel_tx] + [d.bye_tx for d in self.dialogs.values()]
        return all(tx is None or tx.state in (COMPLETED, TERMINATED_STATE) for tx in waiting)

    # ------------------------------------------------------------------ main loop
    async def run(self) -> CallResult:
        self.transport.on_message = self._on_message
        self.transport.on_error = self._on_error
        # Once a final is in, answers to CANCEL/BYE get a short grace, not a full Timer F.
        grace = min(self.spec.timers.f, 8 * self.spec.timers.t1)
        grace_until: float | None = None
        try:
            self._send_invite()
            while True:
                now = self._now()
                if self.linger_until is None and self._finished():
                    self.result.duration = now - self.t0
                    if self.result.final is None:
                        break  # Timer B or a transport error: nothing left to acknowledge
                    # Over TCP/TLS nothing is retransmitted, so there is nothing to linger for.
                    linger = 0.0 if self.transport.reliable else max(0.0, self.spec.linger)
                    self.linger_until = now + linger
                if self.result.final is not None:
                    self.deadline = None
                    if grace_until is None:
                        grace_until = now + grace
                stops = [d for d in (self.deadline, self.hard_deadline, grace_until, self.linger_until) if d is not None]
                wait = max(0.0, min(stops) - now) if stops else None
                try:
                    event = await asyncio.wait_for(self.events.get(), wait)
                except TimeoutError:
                    now = self._now()
                    if self.linger_until is not None:
                        if now >= self.linger_until:
                            break
                        continue
                    if any(d is not None and now >= d for d in (self.hard_deadline, grace_until)):
                        if self.result.final is None:
                            self.result.notes.append("no final response after CANCEL")
                        self.result.duration = now - self.t0
                        break
                    if self.deadline is not None and now >= self.deadline:
                        self.deadline = None
                        self._request_cancel("answer-window" if self.spec.answer_window is not None else "ring-timeout")
                    continue
                self._on_event(event)
        finally:
            self.layer.close()
            if not self.result.duration:
                self.result.duration = self._now() - self.t0
        return self.result
