"""The opt-in live probes against the lab's own far ends: SIP numbers, reply agents, the auditor's IMAP box.

The line probe calls every behaviour of :class:`LabSipServer` and must read each
answer the way RFC 3398 says; the mystery-shopper probe sends through
:class:`LabReplyAgents`, whose companies answer on a compressed clock into
:class:`LabImapServer`, and ``collect``/``responsiveness`` must come out with the
simulated hours. The IMAP server is also held to RFC 3501 for the commands
imaplib and the collector use, and to BAD for garbage.
"""

from __future__ import annotations

import asyncio
import imaplib
import smtplib
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auditor.lab.agents import LabReplyAgents, ReplyPlan, auto_ack, human_reply
from auditor.lab.imap import LabImapServer, format_internaldate
from auditor.lab.sip import LabSipServer, LineBehaviour
from auditor.models import Company, CompanyResult, ContactPoint, Verdict
from auditor.net.guard import AddressPolicy
from auditor.probes.inquiries import (
    ImapConfig,
    InquiryConfig,
    InquiryStore,
    SubmissionConfig,
    collect_replies,
    plan_inquiries,
    responsiveness,
    send_inquiries,
)
from auditor.probes.inquiries.classify import classify, fresh_text, parse_message
from auditor.probes.inquiries.compose import build_message, render
from auditor.probes.inquiries.config import LANGUAGES, TOPICS
from auditor.probes.sip.message import SipMessage
from auditor.probes.sip.message import parse_message as parse_sip
from auditor.probes.sip.probe import SipTrunkConfig, probe_lines
from auditor.store import open_store

pytestmark = pytest.mark.integration

# ------------------------------------------------------------------------------ SIP

LINES = {
    "+36 1 234 5601": "ring",
    "+36 1 234 5602": "answer-after:0.4",
    "+36 1 234 5603": "busy",
    "+36 1 234 5604": "not-in-service",
    "+36 1 234 5605": "changed",
    "+36 1 234 5606": "no-answer:0.6",
    "+36 1 234 5607": "ring-no-answer:0.6",
    "+36 1 234 5608": "unavailable",
    "+36 1 234 5609": "silent",
    "+36 1 234 5610": "progress-then-404",
    "+36 1 234 5611": "progress-then-404:1.5",
}
UNKNOWN_LINE = "+36 1 234 5699"
SIP_USER, SIP_PASSWORD = "auditor", "lab-sip-Secret"


def trunk(port: int, **kwargs: Any) -> SipTrunkConfig:
    base: dict[str, Any] = {
        "host": "127.0.0.1", "port": port, "username": SIP_USER, "t1": 0.05, "timer_b": 1.0, "linger": 0.1,
        "ring_timeout": 5.0, "calls_per_minute": 6000, "max_concurrent_calls": 16,
    }
    base.update(kwargs)
    return SipTrunkConfig(**base)


def probe(config: SipTrunkConfig, numbers: list[str], **kwargs: Any) -> dict[str, Verdict]:
    return asyncio.run(probe_lines([(n, {"country": "HU"}) for n in numbers], config, resolver=None,
                                   policy=AddressPolicy(allow_private=True), **kwargs))


def outcome(found: dict[str, Verdict], number: str) -> tuple[str, str]:
    return found[number].verdict, found[number].reason


@pytest.fixture(scope="module")
def sip() -> Iterator[LabSipServer]:
    with LabSipServer(LINES, t1=0.05, max_ring=5.0) as server:
        yield server


def test_every_line_behaviour_reads_as_rfc_3398_says(sip: LabSipServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_SIP_PASSWORD", raising=False)
    sip.reset_counters()
    found = probe(trunk(sip.port), [*LINES, UNKNOWN_LINE])
    expected = {
        "ring": ("active", "rings"),
        "answer-after:0.4": ("active", "rings"),  # default mode hangs up at the first 180
        "busy": ("active", "busy"),
        "not-in-service": ("inactive", "number-not-in-service"),
        "changed": ("inactive", "number-changed"),
        "no-answer:0.6": ("unknown", "no-answer"),
        "ring-no-answer:0.6": ("active", "rings"),
        "unavailable": ("unknown", "network"),
        "silent": ("unknown", "sip-timeout"),
        "progress-then-404": ("inactive", "number-not-in-service"),  # the 404 wins over the 183
        "progress-then-404:1.5": ("active", "session-progress"),  # cancelled during the announcement
    }
    assert {LINES[n]: outcome(found, n) for n in LINES} == expected
    assert outcome(found, UNKNOWN_LINE) == ("inactive", "number-not-in-service")
    ring = "+3612345601"
    assert sip.calls[ring] == 1 and sip.cancels[ring] == 1 and sip.acks[ring] == 1
    evidence = found["+36 1 234 5601"].checks[0].evidence
    assert evidence["cancel_reason"] == "ringing" and evidence["cancel_status"] == 200
    assert evidence["final_code"] == 487
    assert sum(sip.calls.values()) == len(LINES) + 1  # one call each: retransmissions are not calls
    assert sip.retransmissions >= 3  # the silent line's INVITE, absorbed
    assert sip.byes == {} and sip.answered == {}
    (record,) = sip.record("+36 1 234 5601")
    assert (record.responses, record.cancelled, record.acked) == ([100, 180, 487], True, True)
    silent = found["+36 1 234 5609"].checks[0].evidence
    assert silent["timed_out"] and silent["responses"] == []


def test_answer_window_waits_for_the_answer(sip: LabSipServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_SIP_PASSWORD", raising=False)
    sip.reset_counters()
    numbers = ["+36 1 234 5601", "+36 1 234 5602", "+36 1 234 5607", "+36 1 234 5611"]
    found = probe(trunk(sip.port), numbers, answer_window=2.5)
    assert outcome(found, "+36 1 234 5602") == ("active", "answered")
    answered = found["+36 1 234 5602"].checks[0].evidence
    assert answered["time_to_answer"] == pytest.approx(0.4, abs=0.15)
    assert answered["bye_status"] == 200
    assert sip.answered["+3612345602"] == 1 and sip.byes["+3612345602"] == 1 and sip.acks["+3612345602"] == 1
    ring = found["+36 1 234 5601"].checks[0].evidence
    assert outcome(found, "+36 1 234 5601") == ("active", "rings") and ring["cancel_reason"] == "answer-window"
    assert outcome(found, "+36 1 234 5607") == ("active", "rings")  # 180 then 480: it rang
    assert outcome(found, "+36 1 234 5611") == ("inactive", "number-not-in-service")  # announcement, then 404


def test_tcp_transport(sip: LabSipServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_SIP_PASSWORD", raising=False)
    sip.reset_counters()
    found = probe(trunk(sip.port, transport="tcp"), ["+36 1 234 5601", "+36 1 234 5603", "+36 1 234 5604"])
    assert [outcome(found, n) for n in ("+36 1 234 5601", "+36 1 234 5603", "+36 1 234 5604")] == [
        ("active", "rings"), ("active", "busy"), ("inactive", "number-not-in-service")]
    assert {r.transport for r in sip.records} == {"TCP"} and sip.retransmissions == 0


def test_digest_challenge(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = {"+36 1 234 5601": "ring", "+36 1 234 5603": "busy"}
    with LabSipServer(lines, auth=(SIP_USER, SIP_PASSWORD), t1=0.05) as server:
        monkeypatch.setenv("AUDITOR_SIP_PASSWORD", SIP_PASSWORD)
        found = probe(trunk(server.port), list(lines))
        assert outcome(found, "+36 1 234 5601") == ("active", "rings")
        assert outcome(found, "+36 1 234 5603") == ("active", "busy")
        auth = found["+36 1 234 5601"].checks[0].evidence["auth"]
        assert auth["header"] == "Proxy-Authorization" and auth["algorithm"] == "SHA-256"
        assert server.challenges == 2 and server.auth_failures == 0
        assert server.calls["+3612345601"] == 1 and all(r.authenticated for r in server.records)

        server.reset_counters()
        monkeypatch.setenv("AUDITOR_SIP_PASSWORD", "not-the-password")
        found = probe(trunk(server.port), list(lines))
        assert outcome(found, "+36 1 234 5601") == ("unknown", "sip-auth-failed")
        assert server.auth_failures == 2 and server.cancels == {}


def _udp(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(2.0)
    return sock


def _request(method: str, number: str, port: int, local: int, *, branch: str = "z9hG4bKlab1",
             call_id: str = "raw-1", cseq: int = 1) -> bytes:
    return SipMessage.request(method, f"sip:{number}@127.0.0.1:{port}", [
        ("Via", f"SIP/2.0/UDP 127.0.0.1:{local};branch={branch};rport"), ("Max-Forwards", "70"),
        ("From", "<sip:probe@127.0.0.1>;tag=raw"), ("To", f"<sip:{number}@127.0.0.1>"),
        ("Call-ID", call_id), ("CSeq", f"{cseq} {method}"),
    ]).to_bytes()


def _responses(sock: socket.socket, until: float = 0.6) -> list[SipMessage]:
    out: list[SipMessage] = []
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            parsed = parse_sip(sock.recv(65535))
        except TimeoutError:
            break
        if isinstance(parsed, SipMessage):
            out.append(parsed)
    return out


def test_server_transactions_and_garbage(sip: LabSipServer) -> None:
    """Retransmitted INVITE, Timer G until the ACK, 481s, OPTIONS, 400 and silence for junk."""
    sip.reset_counters()
    with _udp(sip.port) as sock:
        local = sock.getsockname()[1]
        sock.send(_request("INVITE", "+3612345603", sip.port, local))
        first = _responses(sock, 0.2)
        assert [m.status for m in first][:2] == [100, 486]
        via = first[0].top_via
        assert via is not None and via.params.get("rport") == str(local) and via.params.get("received") == "127.0.0.1"
        sock.send(_request("INVITE", "+3612345603", sip.port, local))  # our INVITE "got lost"
        again = _responses(sock, 0.3)
        assert again and {m.status for m in again} == {486}  # the answer again, plus Timer G
        sock.send(_request("ACK", "+3612345603", sip.port, local))
        time.sleep(0.1)
        _responses(sock, 0.05)
        assert _responses(sock, 0.4) == []  # the ACK stopped the retransmissions
        assert sip.calls["+3612345603"] == 1 and sip.acks["+3612345603"] == 1

        sock.send(_request("BYE", "+3612345603", sip.port, local, branch="z9hG4bKbye", call_id="nope", cseq=2))
        sock.send(_request("CANCEL", "+3612345603", sip.port, local, branch="z9hG4bKnone", call_id="nope"))
        sock.send(_request("OPTIONS", "+3612345603", sip.port, local, branch="z9hG4bKopt", call_id="ping"))
        sock.send(b"\x00\xffthis is not SIP\r\n\r\n")
        sock.send(b"INVITE sip:+3612345603@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
                  b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")  # no From/To/Call-ID
        statuses = sorted(m.status or 0 for m in _responses(sock, 0.4))
        assert statuses == [200, 400, 481, 481]
    assert sip.garbage == 2 and sip.calls["+3612345603"] == 1


def test_undeclared_numbers_get_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITOR_SIP_PASSWORD", raising=False)
    with LabSipServer({"+36 1 234 5603": "busy"}, default="ring", t1=0.05) as server:
        found = probe(trunk(server.port), ["+36 1 234 5603", UNKNOWN_LINE])
        assert outcome(found, "+36 1 234 5603") == ("active", "busy")
        assert outcome(found, UNKNOWN_LINE) == ("active", "rings")
        assert server.record(UNKNOWN_LINE)[0].behaviour == "ring"


def test_behaviour_strings() -> None:
    assert LineBehaviour.parse("answer-after:2.5") == LineBehaviour("answer-after", 2.5)
    assert str(LineBehaviour.parse("no-answer")) == "no-answer:3"
    for bad in ("rings", "busy:3", "answer-after:soon", "no-answer:-1"):
        with pytest.raises(ValueError):
            LineBehaviour.parse(bad)
    with pytest.raises(ValueError):
        LabSipServer({"+36 1 234 5601": "ring"}, host="192.0.2.1")


# ------------------------------------------------------------------------------ inquiries

SHOPPER = "mystery.shopper@auditor.test"
MAIL_PASSWORD = "lab-mail-Secret"
PASSWORD_ENV = "AUDITOR_LAB_MAIL_PASSWORD"
COMPANIES: list[tuple[Company, str, str]] = [
    (Company(1, "Antwort GmbH", "http://antwort.de/", "DE", "retail"), "info@antwort.de", "human-reply:2.5"),
    (Company(2, "Jegy Kft.", "http://jegy.hu/", "HU"), "ugyfelszolgalat@jegy.hu", "auto-ack"),
    (Company(3, "Szybko Sp. z o.o.", "http://szybko.pl/", "PL"), "biuro@szybko.pl", "auto-ack-then-human:0.5:26"),
    (Company(4, "Gone Ltd", "http://gone.co.uk/", "GB"), "support@gone.co.uk", "bounce"),
    (Company(5, "Sessiz A.Ş.", "http://sessiz.com.tr/", "TR"), "info@sessiz.com.tr", "never"),
    (Company(6, "Tikho OOO", "http://tikho.ru/", "RU"), "info@tikho.ru", "human-reply:49.75"),
    (Company(7, "Yanit A.Ş.", "http://yanit.com.tr/", "TR"), "destek@yanit.com.tr", "human-reply:1"),
    (Company(8, "Quick Ltd", "http://quick.co.uk/", "GB", "retail"), "hello@quick.co.uk", "human-reply:0.25"),
]


def _email(value: str) -> ContactPoint:
    site = value.rpartition("@")[2]
    return ContactPoint("email", value, value, "customer-service", "mailto", f"http://{site}/kontakt", "", 0.95,
                        {"address_class": "role", "same_site": True})


def _store(directory: Path) -> Any:
    store = open_store(directory)
    store.start_run({}, "test")
    store.register_companies(c for c, _, _ in COMPANIES)
    for company, address, _ in COMPANIES:
        store.save_company(CompanyResult(company, contacts=(_email(address),)))
    return store


@pytest.fixture
def mail(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LabImapServer, LabReplyAgents]]:
    monkeypatch.setenv(PASSWORD_ENV, MAIL_PASSWORD)
    with LabImapServer({SHOPPER: MAIL_PASSWORD}) as imap, \
            LabReplyAgents({a: r for _, a, r in COMPANIES}, imap, {SHOPPER: MAIL_PASSWORD}) as agents:
        yield imap, agents


def _configs(imap: LabImapServer, agents: LabReplyAgents) -> tuple[InquiryConfig, SubmissionConfig, ImapConfig]:
    return (
        InquiryConfig(from_address=SHOPPER, sender_name="Anna Weber", topics_by_industry={"retail": "delivery"}),
        SubmissionConfig(host="127.0.0.1", port=agents.port, security="none", user=SHOPPER,
                         password_env=PASSWORD_ENV, helo="probe.auditor.test"),
        ImapConfig(host="127.0.0.1", port=imap.port, tls=False, user=SHOPPER, password_env=PASSWORD_ENV),
    )


def test_send_and_collect_against_the_reply_agents(
    mail: tuple[LabImapServer, LabReplyAgents], tmp_path: Path
) -> None:
    imap, agents = mail
    store = _store(tmp_path)
    inquiry, submission, imap_config = _configs(imap, agents)
    plan = plan_inquiries(store, inquiry)
    assert len(plan) == len(COMPANIES) and not plan.skipped
    report = send_inquiries(plan, submission, confirm=lambda _: True, rate_per_minute=6000, store=store,
                            sleep=lambda _: None)
    assert report.error is None and len(report.sent) == len(COMPANIES)
    assert all(i.smtp_code == 250 and "queued as" in i.smtp_reply for i in report.sent)
    assert agents.logins == {SHOPPER: 1} and agents.undeliverable == 0
    assert agents.replies == {"human": 5, "auto-ack": 2, "bounce": 1}
    by_address = {i.recipient: i for i in agents.inquiries}
    assert by_address["info@antwort.de"].language == "de" and by_address["info@antwort.de"].topic == "delivery"
    assert by_address["info@tikho.ru"].language == "ru" and by_address["info@tikho.ru"].topic == "hours"

    now = datetime.now(UTC)
    first = collect_replies(store, imap_config, now=now)
    assert (first.fetched, first.matched, first.unmatched, first.added) == (8, 8, 0, 8), first.summary()
    assert dict(first.by_kind) == {"human": 5, "auto-ack": 2, "bounce": 1}

    key = {c.name: c.key for c, _, _ in COMPANIES}
    r = responsiveness(store)
    antwort = r[key["Antwort GmbH"]]
    assert (antwort["status"], antwort["final"]) == ("human-reply", True)
    assert antwort["hours_to_first_human_reply"] == pytest.approx(2.5, abs=0.01)
    assert antwort["hours_to_first_ack"] is None
    assert (antwort["outcome"], antwort["reply_hours"]) == ("human-reply", antwort["hours_to_first_human_reply"])
    jegy = r[key["Jegy Kft."]]
    assert (jegy["status"], jegy["final"]) == ("auto-ack-only", False)
    assert jegy["hours_to_first_ack"] == pytest.approx(1 / 60, abs=0.01)
    szybko = r[key["Szybko Sp. z o.o."]]
    assert szybko["status"] == "human-reply"
    assert szybko["hours_to_first_ack"] == pytest.approx(0.5, abs=0.01)
    assert szybko["hours_to_first_human_reply"] == pytest.approx(26, abs=0.01)
    gone = r[key["Gone Ltd"]]
    assert gone["status"] == "bounced" and "5.1.1" in (gone["bounce_detail"] or "")
    assert gone["hours_to_bounce"] == pytest.approx(0, abs=0.01)
    assert r[key["Sessiz A.Ş."]]["status"] == "pending"
    assert r[key["Tikho OOO"]]["hours_to_first_human_reply"] == pytest.approx(49.75, abs=0.01)
    assert r[key["Yanit A.Ş."]]["hours_to_first_human_reply"] == pytest.approx(1, abs=0.01)
    assert r[key["Quick Ltd"]]["hours_to_first_human_reply"] == pytest.approx(0.25, abs=0.01)

    istore = InquiryStore.of(store)
    ids = {row["company_name"]: row["id"] for row in istore.inquiries()}
    how = {(row["inquiry_id"], row["kind"]): (row["matched_by"], row["reason"]) for row in istore.replies()}
    assert how[(ids["Jegy Kft."], "auto-ack")] == ("in-reply-to", "auto-submitted")
    assert how[(ids["Gone Ltd"], "bounce")] == ("embedded-message-id", "dsn-failed")
    assert how[(ids["Antwort GmbH"], "human")] == ("in-reply-to", "no-automation-signs")

    # Again: nothing new. A cutoff later every open inquiry is decided (the demo's `now`).
    assert collect_replies(store, imap_config, now=now).added == 0
    later = collect_replies(store, imap_config, now=now + timedelta(days=7, hours=1))
    r2 = responsiveness(store)
    assert later.added == 0 and len(later.closed) == 3
    assert (r2[key["Jegy Kft."]]["status"], r2[key["Jegy Kft."]]["final"], r2[key["Jegy Kft."]]["no_reply"]) == (
        "auto-ack-only", True, True)
    assert (r2[key["Sessiz A.Ş."]]["status"], r2[key["Sessiz A.Ş."]]["outcome"]) == ("no-reply", "no-reply")
    assert r2[key["Gone Ltd"]]["final"] and r2[key["Antwort GmbH"]] == antwort

    # The lab server renumbers the folder: read again from the start, nothing counted twice.
    imap.renumber(SHOPPER)
    again = collect_replies(store, imap_config, now=now + timedelta(days=7, hours=1))
    assert again.uidvalidity_reset and again.fetched == 8 and again.added == 0


def test_submission_refuses_strangers(mail: tuple[LabImapServer, LabReplyAgents], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    imap, agents = mail
    store = _store(tmp_path)
    inquiry, _, imap_config = _configs(imap, agents)
    monkeypatch.setenv("AUDITOR_LAB_WRONG", "wrong")
    wrong = SubmissionConfig(host="127.0.0.1", port=agents.port, security="none", user=SHOPPER,
                             password_env="AUDITOR_LAB_WRONG")
    report = send_inquiries(plan_inquiries(store, inquiry), wrong, confirm=lambda _: True, store=store,
                            sleep=lambda _: None)
    assert report.error and "login" in report.error and report.sent == []
    assert agents.failed_logins == {SHOPPER: 1} and agents.inquiries == []
    empty = collect_replies(store, imap_config)  # an empty mailbox: UID SEARCH answers "* SEARCH"
    assert (empty.fetched, empty.added, empty.uidvalidity) == (0, 0, imap.uidvalidity(SHOPPER))
    with smtplib.SMTP("127.0.0.1", agents.port, timeout=5) as smtp:
        smtp.ehlo("probe.test")
        assert "PLAIN" in (smtp.esmtp_features.get("auth") or "").upper()
        assert smtp.mail(SHOPPER)[0] == 530  # no relaying without a login
        smtp.login(SHOPPER, MAIL_PASSWORD)
        code, text = smtp.mail("someone.else@auditor.test")
        assert code == 553 and b"not owned" in text


def test_replies_on_a_real_clock_wait_until_due(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, MAIL_PASSWORD)
    with LabImapServer({SHOPPER: MAIL_PASSWORD}) as imap, \
            LabReplyAgents({"@slow.de": "human-reply:2", "fast@slow.de": "auto-ack:0"}, imap,
                           {SHOPPER: MAIL_PASSWORD}, seconds_per_hour=0.75) as agents:
        sent = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
        for to in ("info@slow.de", "fast@slow.de"):
            msg = build_message(from_address=SHOPPER, sender_name="Anna Weber", to=to,
                                subject="Frage zur Lieferzeit [ref: abcdefgh]", body="Guten Tag,\n",
                                message_id=f"<m.{to}@auditor.test>", token="abcdefgh", date=sent)
            with smtplib.SMTP("127.0.0.1", agents.port, timeout=5) as smtp:
                smtp.login(SHOPPER, MAIL_PASSWORD)
                smtp.sendmail(SHOPPER, [to], msg.as_bytes())
        assert [m.internaldate for m in imap.messages(SHOPPER)] == [sent]  # the ack: zero hours
        assert agents.pending == 1
        deadline = time.monotonic() + 5
        while agents.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        (_, human) = imap.messages(SHOPPER)
        assert human.internaldate == sent + timedelta(hours=2)
        assert agents.flush() == 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_agent_texts_classify_as_meant(language: str) -> None:
    """Every language and topic: the person's reply is human, the receipt is an auto-ack."""
    when = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    for topic in TOPICS:
        subject, body = render(topic, language, "Anna Weber")
        inquiry = parse_message(build_message(
            from_address=SHOPPER, sender_name="Anna Weber", to="info@firma.test", subject=f"{subject} [ref: abcdefgh]",
            body=body, message_id="<q.abcdefgh@auditor.test>", token="abcdefgh", date=when).as_bytes())
        human = parse_message(human_reply(inquiry, company="Firma", domain="firma.test", language=language,
                                          topic=topic, when=when).as_bytes())
        assert classify(human).kind == "human", (language, topic, classify(human))
        own = fresh_text(human.get_content())
        assert own and body.splitlines()[2][:30] not in own  # the quoted question is cut off
        assert human["In-Reply-To"] == "<q.abcdefgh@auditor.test>"
        ack = parse_message(auto_ack(inquiry, company="Firma", recipient="info@firma.test", language=language,
                                     ticket=480213, when=when).as_bytes())
        verdict = classify(ack)
        assert (verdict.kind, verdict.reason) == ("auto-ack", "auto-submitted")
    assert str(ReplyPlan.parse("auto-ack-then-human:0.5:26")) == "auto-ack-then-human:0.5:26"
    for bad in ("human", "human-reply:x", "auto-ack-then-human:5:1", "never:1", "bounce:-1"):
        with pytest.raises(ValueError):
            ReplyPlan.parse(bad)


# ------------------------------------------------------------------------------ IMAP by the RFC


@pytest.fixture
def mailbox() -> Iterator[LabImapServer]:
    with LabImapServer({SHOPPER: MAIL_PASSWORD, "other@auditor.test": "x"}) as server:
        yield server


def test_imap_select_search_fetch(mailbox: LabImapServer) -> None:
    when = datetime(2026, 7, 7, 9, 5, 3, tzinfo=UTC)
    mailbox.append(SHOPPER, b"From: a@b.test\nSubject: one\nMessage-ID: <1@b.test>\n\nfirst\n", when)
    mailbox.append(SHOPPER, b"From: c@d.test\r\nSubject: two\r\n\r\nsecond\r\n", when + timedelta(days=1))
    conn = imaplib.IMAP4("127.0.0.1", mailbox.port)
    try:
        assert "IMAP4REV1" in conn.capabilities and "STARTTLS" not in conn.capabilities
        conn.login(SHOPPER, MAIL_PASSWORD)
        typ, data = conn.select('"INBOX"', readonly=True)
        assert (typ, data) == ("OK", [b"2"])
        assert conn.response("UIDVALIDITY")[1] == [str(mailbox.uidvalidity(SHOPPER)).encode()]
        assert conn.response("UIDNEXT")[1] == [b"3"] and conn.response("READ-ONLY")[1] == [b""]
        assert conn.uid("SEARCH", None, "UID 1:*") == ("OK", [b"1 2"])
        assert conn.uid("SEARCH", None, "UID 7:*") == ("OK", [b"2"])  # * is the highest UID, in range
        assert conn.search(None, "SINCE", "8-Jul-2026") == ("OK", [b"2"])
        assert conn.search(None, "OR", "SUBJECT", "one", "FROM", "d.test") == ("OK", [b"1 2"])
        typ, fetched = conn.uid("FETCH", "1,2", "(UID INTERNALDATE BODY.PEEK[])")
        assert typ == "OK"
        first = fetched[0]
        assert isinstance(first, tuple)
        stored = b"From: a@b.test\r\nSubject: one\r\nMessage-ID: <1@b.test>\r\n\r\nfirst\r\n"  # CRLF on append
        assert first[0] == f'1 (UID 1 INTERNALDATE "{format_internaldate(when)}" BODY[] {{{len(stored)}}}'.encode()
        assert first[1] == stored
        assert format_internaldate(when) == " 7-Jul-2026 09:05:03 +0000"
        typ, flags = conn.fetch("1", "(FLAGS)")
        assert typ == "OK" and b"\\Seen" not in flags[0]  # EXAMINE and PEEK: nothing marked read
        mailbox.append(SHOPPER, b"Subject: three\r\n\r\nthird\r\n")
        conn.noop()
        assert conn.response("EXISTS")[1][-1] == b"3"
        typ, status = conn.status("INBOX", "(MESSAGES UIDNEXT UNSEEN)")
        assert status == [b'"INBOX" (MESSAGES 3 UIDNEXT 4 UNSEEN 3)']
        conn.select("INBOX")
        conn.fetch("1", "(BODY[TEXT])")
        assert "\\Seen" in mailbox.messages(SHOPPER)[0].flags  # a non-PEEK fetch in SELECT marks it read
        with pytest.raises(imaplib.IMAP4.error):
            conn.fetch("9", "(FLAGS)")  # no message 9: BAD
        assert conn.store("1", "+FLAGS", "\\Flagged")[0] == "NO"
        assert conn.select("Archive")[0] == "NO" and conn.state == "AUTH"
    finally:
        assert conn.logout()[0] == "BYE"


def test_imap_refuses_garbage_and_wrong_logins(mailbox: LabImapServer) -> None:
    conn = imaplib.IMAP4("127.0.0.1", mailbox.port)
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        conn.login(SHOPPER, "wrong")
    conn.logout()
    assert mailbox.failed_logins[SHOPPER] == 1

    with socket.create_connection(("127.0.0.1", mailbox.port), timeout=5) as sock:
        stream = sock.makefile("rb")
        assert stream.readline().startswith(b"* OK [CAPABILITY IMAP4rev1")

        def say(line: bytes) -> bytes:
            sock.sendall(line)
            return stream.readline()

        assert say(b"* LOGIN a b\r\n") == b"* BAD Invalid tag\r\n"
        assert say(b"a1 FROB\r\n").startswith(b"a1 BAD Unknown command")
        assert say(b"a2 SELECT INBOX\r\n").startswith(b"a2 BAD SELECT is not valid in state NONAUTH")
        assert say(b'a3 LOGIN "unterminated\r\n').startswith(b"a3 BAD")
        assert say(b"a4 LOGIN {20}\r\n") == b"+ Ready for literal data\r\n"  # a literal user name
        assert say(SHOPPER.encode()[:20] + b" {15+}\r\n" + MAIL_PASSWORD.encode() + b"\r\n").startswith(b"a4 NO")
        sock.sendall(b"a5 LOGIN {28+}\r\n" + SHOPPER.encode() + b" " + MAIL_PASSWORD.encode() + b"\r\n")
        assert stream.readline().startswith(b"a5 OK")
        assert say(b"a6 FETCH 1 (FLAGS)\r\n").startswith(b"a6 BAD FETCH is not valid in state AUTH")
        assert say(b"a7 EXAMINE INBOX\r\n").startswith(b"* FLAGS")
        while not (line := stream.readline()).startswith(b"a7 "):
            pass
        assert line.startswith(b"a7 OK [READ-ONLY]")
        assert say(b"a8 UID FETCH 1:* (BODY[1.MIME])\r\n").startswith(b"a8 BAD")
        assert say(b"a9 SEARCH FROBNICATE\r\n").startswith(b"a9 BAD")
        assert say(b"b1 LOGOUT\r\n") == b"* BYE Logging out\r\n"
        assert stream.readline() == b"b1 OK LOGOUT completed\r\n"
    assert mailbox.logins[SHOPPER] == 1
