"""Client transaction state machines, driven by a fake clock and a list as transport."""

from __future__ import annotations

import pytest

from auditor.probes.sip.message import SipMessage, build_response, new_branch, parse_message
from auditor.probes.sip.transaction import (
    ACCEPTED,
    CALLING,
    COMPLETED,
    PROCEEDING,
    RESPONSE,
    TERMINATED,
    TERMINATED_STATE,
    TIMEOUT,
    TRANSPORT_ERROR,
    TRYING,
    FakeClock,
    TimerSettings,
    TransactionLayer,
    TxEvent,
    ack_for_non_2xx,
)

TIMERS = TimerSettings(t1=0.5, t2=4.0, t4=5.0)


class Wire:
    """A fake transport: remembers (time, message, retransmission) and can be made to fail."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, SipMessage, bool]] = []
        self.fail = False

    def __call__(self, message: SipMessage, retransmission: bool) -> None:
        if self.fail:
            raise ConnectionRefusedError("port unreachable")
        # Round-trip through bytes, as a real transport would.
        parsed = parse_message(message.to_bytes())
        assert isinstance(parsed, SipMessage)
        self.sent.append((self.clock.time(), parsed, retransmission))

    def methods(self) -> list[str]:
        return [m.method or str(m.status) for _, m, _ in self.sent]

    def times(self, method: str) -> list[float]:
        return [round(t, 3) for t, m, _ in self.sent if m.method == method]


class Setup:
    def __init__(self, reliable: bool = False, timers: TimerSettings = TIMERS) -> None:
        self.clock = FakeClock()
        self.wire = Wire(self.clock)
        self.events: list[TxEvent] = []
        self.requests: list[SipMessage] = []
        self.strays: list[SipMessage] = []
        self.layer = TransactionLayer(self.wire, self.clock, reliable=reliable, timers=timers,
                                      on_request=self.requests.append, on_stray=self.strays.append)

    def kinds(self) -> list[str]:
        return [e.kind if e.kind != RESPONSE else f"{e.kind}:{e.message.status if e.message else ''}" for e in self.events]


def invite(branch: str | None = None, cseq: int = 1) -> SipMessage:
    return SipMessage.request("INVITE", "sip:+3612345678@trunk.example;user=phone", [
        ("Via", f"SIP/2.0/UDP 192.0.2.1:5060;branch={branch or new_branch()};rport"),
        ("Max-Forwards", "70"),
        ("From", "<sip:probe@trunk.example>;tag=ft1"),
        ("To", "<sip:+3612345678@trunk.example;user=phone>"),
        ("Call-ID", "cid-1@192.0.2.1"),
        ("CSeq", f"{cseq} INVITE"),
        ("Route", "<sip:edge.trunk.example;lr>"),
    ])


def respond(request: SipMessage, status: int, reason: str = "", to_tag: str | None = "far1") -> SipMessage:
    return build_response(request, status, reason or "X", to_tag=to_tag)


def cancel_for(request: SipMessage) -> SipMessage:
    cseq = request.cseq
    assert cseq is not None
    return SipMessage.request("CANCEL", request.uri or "", [
        ("Via", request.values("Via")[0]), ("From", request.header("From") or ""),
        ("To", request.header("To") or ""), ("Call-ID", request.call_id or ""), ("CSeq", f"{cseq[0]} CANCEL"),
    ])


class TestInviteOverUdp:
    def test_retransmits_at_t1_doubling_until_timer_b(self) -> None:
        s = Setup()
        tx = s.layer.invite(invite(), s.events.append)
        assert tx.state == CALLING
        s.clock.advance(40)
        # Sent at 0, then T1, 2T1, 4T1 ... apart: 0.5, 1.5, 3.5, 7.5, 15.5, 31.5; Timer B at 64*T1 = 32.
        assert s.wire.times("INVITE") == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
        assert [r for _, _, r in s.wire.sent] == [False] + [True] * 6
        assert tx.retransmissions == 6
        assert s.kinds() == [TIMEOUT, TERMINATED]
        assert tx.state == TERMINATED_STATE and s.layer.transactions == {}
        assert s.clock.pending == 0

    def test_short_timers_for_tests(self) -> None:
        s = Setup(timers=TimerSettings(t1=0.1, timer_b=2.0))
        s.layer.invite(invite(), s.events.append)
        s.clock.advance(5)
        assert s.wire.times("INVITE") == [0.0, 0.1, 0.3, 0.7, 1.5]
        assert s.kinds() == [TIMEOUT, TERMINATED]

    def test_provisional_stops_retransmissions_and_timer_b(self) -> None:
        s = Setup()
        req = invite()
        tx = s.layer.invite(req, s.events.append)
        s.clock.advance(0.6)  # one retransmission
        s.layer.receive(respond(req, 100, "Trying", to_tag=None))
        assert tx.state == PROCEEDING
        s.layer.receive(respond(req, 180, "Ringing"))
        s.clock.advance(120)
        assert s.wire.times("INVITE") == [0.0, 0.5]
        assert s.kinds() == ["response:100", "response:180"]  # no timeout in Proceeding
        assert tx.state == PROCEEDING

    def test_non_2xx_final_is_acked_inside_the_transaction(self) -> None:
        s = Setup()
        req = invite()
        tx = s.layer.invite(req, s.events.append)
        final = respond(req, 486, "Busy Here", to_tag="busy1")
        s.layer.receive(final)
        assert tx.state == COMPLETED
        assert s.wire.methods() == ["INVITE", "ACK"]
        ack = s.wire.sent[-1][1]
        assert ack.uri == req.uri
        assert ack.top_via is not None and ack.top_via.branch == req.top_via.branch  # type: ignore[union-attr]
        assert ack.cseq == (1, "ACK") and ack.call_id == req.call_id
        assert ack.to_addr is not None and ack.to_addr.tag == "busy1"
        assert ack.header("From") == req.header("From")
        assert ack.header_lines("Route") == ["<sip:edge.trunk.example;lr>"]
        # The far end did not get our ACK and retransmits: ACK again, do not tell the TU twice.
        s.layer.receive(final)
        s.layer.receive(final)
        assert s.wire.methods() == ["INVITE", "ACK", "ACK", "ACK"]
        assert s.kinds() == ["response:486"]
        # Timer D (32 s on UDP) ends it.
        s.clock.advance(31.9)
        assert tx.state == COMPLETED
        s.clock.advance(0.2)
        assert tx.state == TERMINATED_STATE and s.kinds()[-1] == TERMINATED

    def test_2xx_goes_to_accepted_and_retransmissions_reach_the_tu(self) -> None:
        s = Setup()
        req = invite()
        tx = s.layer.invite(req, s.events.append)
        ok = respond(req, 200, "OK")
        s.layer.receive(ok)
        assert tx.state == ACCEPTED
        assert s.wire.methods() == ["INVITE"]  # the TU acknowledges a 2xx, not the transaction
        s.layer.receive(ok)
        assert s.kinds() == ["response:200", "response:200"]
        s.clock.advance(32.1)  # Timer M = 64*T1
        assert tx.state == TERMINATED_STATE
        s.layer.receive(ok)  # after Timer M it is a stray for the TU to ACK
        assert len(s.strays) == 1

    def test_cancel_after_180_then_487_is_acked(self) -> None:
        s = Setup()
        req = invite()
        inv = s.layer.invite(req, s.events.append)
        s.clock.advance(0.2)
        s.layer.receive(respond(req, 180, "Ringing"))
        cancel = s.layer.request(cancel_for(req), s.events.append)
        assert cancel.state == TRYING
        assert cancel.key == (inv.branch, "CANCEL") and inv.key == (inv.branch, "INVITE")
        s.layer.receive(respond(cancel.request, 200, "OK"))
        assert cancel.state == COMPLETED and inv.state == PROCEEDING
        s.layer.receive(respond(req, 487, "Request Terminated"))
        assert inv.state == COMPLETED
        assert s.wire.methods() == ["INVITE", "CANCEL", "ACK"]
        ack = s.wire.sent[-1][1]
        assert ack.cseq == (1, "ACK")
        by_tx = [(e.tx.method, e.kind, e.message.status if e.message else None) for e in s.events]
        assert by_tx == [("INVITE", RESPONSE, 180), ("CANCEL", RESPONSE, 200), ("INVITE", RESPONSE, 487)]
        s.clock.advance(40)
        assert s.layer.transactions == {}

    def test_transport_error_on_first_send(self) -> None:
        s = Setup()
        s.wire.fail = True
        tx = s.layer.invite(invite(), s.events.append)
        assert s.kinds() == [TRANSPORT_ERROR, TERMINATED]
        assert isinstance(s.events[0].error, ConnectionRefusedError)
        assert tx.state == TERMINATED_STATE and s.clock.pending == 0

    def test_transport_error_reported_later(self) -> None:
        s = Setup()
        tx = s.layer.invite(invite(), s.events.append)
        s.layer.transport_failed(ConnectionRefusedError("icmp"))
        assert s.kinds() == [TRANSPORT_ERROR, TERMINATED] and tx.state == TERMINATED_STATE
        s.clock.advance(60)
        assert s.wire.times("INVITE") == [0.0]

    def test_retransmission_failing_ends_the_transaction(self) -> None:
        s = Setup()
        s.layer.invite(invite(), s.events.append)
        s.wire.fail = True
        s.clock.advance(0.5)
        assert s.kinds() == [TRANSPORT_ERROR, TERMINATED]


class TestInviteOverTcp:
    def test_no_retransmissions_but_timer_b(self) -> None:
        s = Setup(reliable=True)
        s.layer.invite(invite(), s.events.append)
        s.clock.advance(31.9)
        assert s.wire.times("INVITE") == [0.0] and s.events == []
        s.clock.advance(0.2)
        assert s.kinds() == [TIMEOUT, TERMINATED]

    def test_final_terminates_at_once(self) -> None:
        s = Setup(reliable=True)
        req = invite()
        tx = s.layer.invite(req, s.events.append)
        s.layer.receive(respond(req, 404, "Not Found"))
        s.clock.advance(0)
        assert tx.state == TERMINATED_STATE and s.wire.methods() == ["INVITE", "ACK"]


class TestNonInvite:
    def test_timer_e_caps_at_t2_and_timer_f_times_out(self) -> None:
        s = Setup()
        req = cancel_for(invite())
        tx = s.layer.request(req, s.events.append)
        s.clock.advance(40)
        # E: 0.5, 1, 2, 4, 4, 4 ... -> sends at 0, .5, 1.5, 3.5, 7.5, 11.5, ..., 31.5; F at 32.
        assert s.wire.times("CANCEL") == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
        assert s.kinds() == [TIMEOUT, TERMINATED] and tx.state == TERMINATED_STATE

    def test_proceeding_retransmits_every_t2(self) -> None:
        s = Setup()
        req = SipMessage.request("BYE", "sip:far@192.0.2.9", [
            ("Via", f"SIP/2.0/UDP 192.0.2.1:5060;branch={new_branch()}"), ("Call-ID", "c"), ("CSeq", "2 BYE"),
        ])
        tx = s.layer.request(req, s.events.append)
        s.clock.advance(0.6)
        s.layer.receive(respond(req, 100, "Trying", to_tag=None))
        assert tx.state == PROCEEDING
        s.clock.advance(9)
        # 0, 0.5 (Trying), then 1.5 (E was 1.0 when armed), then every T2 = 4 s.
        assert s.wire.times("BYE") == [0.0, 0.5, 1.5, 5.5, 9.5]
        s.layer.receive(respond(req, 200, "OK"))
        s.layer.receive(respond(req, 200, "OK"))  # absorbed
        assert s.kinds() == ["response:100", "response:200"]
        s.clock.advance(5.1)  # Timer K = T4
        assert tx.state == TERMINATED_STATE

    def test_reliable_has_no_timer_e(self) -> None:
        s = Setup(reliable=True)
        req = cancel_for(invite())
        s.layer.request(req, s.events.append)
        s.clock.advance(10)
        assert s.wire.times("CANCEL") == [0.0]


class TestLayer:
    def test_unmatched_and_multi_via_responses(self) -> None:
        s = Setup()
        req = invite()
        s.layer.invite(req, s.events.append)
        other = invite()
        s.layer.receive(respond(other, 180, "Ringing"))  # another branch: a stray
        assert len(s.strays) == 1 and s.events == []
        forged = respond(req, 404, "Not Found")
        forged.add("Via", "SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKzz")
        s.layer.receive(forged)  # two Vias: not for us (RFC 3261 §18.1.2)
        assert s.events == []
        no_cseq = respond(req, 404, "Not Found")
        no_cseq.remove("CSeq")
        s.layer.receive(no_cseq)
        assert s.events == []

    def test_requests_go_to_the_tu(self) -> None:
        s = Setup()
        bye = SipMessage.request("BYE", "sip:probe@192.0.2.1", [("Via", "SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKb"),
                                                                 ("CSeq", "1 BYE")])
        s.layer.receive(bye)
        assert s.requests == [bye]

    def test_close_cancels_timers(self) -> None:
        s = Setup()
        s.layer.invite(invite(), s.events.append)
        s.layer.close()
        s.clock.advance(60)
        assert s.wire.times("INVITE") == [0.0] and s.events == []


def test_ack_for_non_2xx_without_optional_headers() -> None:
    req = SipMessage.request("INVITE", "sip:x@y", [("Via", "SIP/2.0/UDP h;branch=z9hG4bK1"), ("Call-ID", "c"),
                                                    ("CSeq", "5 INVITE"), ("From", "<sip:a@b>;tag=1"), ("To", "<sip:x@y>")])
    ack = ack_for_non_2xx(req, build_response(req, 603, "Decline", to_tag="d"))
    assert ack.method == "ACK" and ack.cseq == (5, "ACK") and ack.header("Route") is None
    assert ack.to_addr is not None and ack.to_addr.tag == "d"


@pytest.mark.parametrize("t1", [0.05, 0.5, 2.0])
def test_timer_b_is_64_t1(t1: float) -> None:
    assert TimerSettings(t1=t1).b == pytest.approx(64 * t1)
    assert TimerSettings(t1=t1).f == pytest.approx(64 * t1)
    assert TimerSettings(t1=t1, timer_b=1.0).b == 1.0
