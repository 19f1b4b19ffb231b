"""Pure parts of the email validator: reply classification, mail routes, the host limiter."""

from __future__ import annotations

import asyncio

import pytest

from auditor.net.guard import AddressPolicy
from auditor.net.resolver import DnsAnswer
from auditor.validate.email import MailRoute, mail_hosts
from auditor.validate.limits import HostLimiter
from auditor.validate.smtp_reply import (
    classify_reply,
    classify_sender_reply,
    enhanced_code,
    is_too_many_recipients,
)

# (code, text as aiosmtplib hands it over: basic code stripped, lines joined by \n)
REPLIES = [
    # acceptance and non-answers
    (250, "2.1.5 Ok", "active", "mailbox-exists"),
    (250, "2.1.5 <info@firma.example>... Recipient ok", "active", "mailbox-exists"),
    (251, "User not local; will forward to <info@elsewhere.example>", "active", "mailbox-exists"),
    (252, "2.1.5 Cannot VRFY user, but will accept message and attempt delivery", "unknown", "cannot-verify"),
    # Gmail / Google Workspace
    (550, "5.1.1 The email account that you tried to reach does not exist. Please try\n5.1.1 double-checking the recipient's email address for typos or\n5.1.1 unnecessary spaces. Learn more at\n5.1.1  https://support.google.com/mail/?p=NoSuchUser x1si2.2 - gsmtp", "inactive", "no-such-mailbox"),
    (550, "5.2.1 The email account that you tried to reach is disabled. Learn more at\n5.2.1  https://support.google.com/mail/?p=DisabledUser - gsmtp", "inactive", "no-such-mailbox"),
    (552, "5.2.2 The email account that you tried to reach is over quota. Please direct\n5.2.2 the recipient to\n5.2.2  https://support.google.com/mail/?p=OverQuotaTemp - gsmtp", "unknown", "mailbox-disabled"),
    (550, "5.7.1 [203.0.113.5] Our system has detected that this message is\n5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n5.7.1 this message has been blocked.", "unknown", "blocked-by-policy"),
    (450, "4.2.1 The user you are trying to contact is receiving mail at a rate that\n4.2.1 prevents additional messages from being delivered. - gsmtp", "unknown", "greylisted"),
    (421, "4.7.0 [203.0.113.5] Our system has detected an unusual rate of\n4.7.0 unsolicited mail originating from your IP address.", "unknown", "greylisted"),  # a rate limit: retry later
    # Outlook.com / Microsoft 365 / Exchange
    (550, "5.5.0 Requested action not taken: mailbox unavailable (S2017062302) [DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]", "inactive", "no-such-mailbox"),
    (550, "5.4.1 Recipient address rejected: Access denied. AS(201806281) [AM0PR01MB1234.eurprd01.prod.exchangelabs.com]", "inactive", "no-such-mailbox"),
    (550, "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "inactive", "no-such-mailbox"),
    (550, "5.7.606 Access denied, banned sending IP [203.0.113.5]. To request removal from this list please visit https://sender.office.com/", "unknown", "blocked-by-policy"),
    (550, "5.7.1 Unfortunately, messages from [203.0.113.5] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).", "unknown", "blocked-by-policy"),
    (451, "4.7.500 Server busy. Please try again later from [203.0.113.5]. (S77719)", "unknown", "greylisted"),
    # Postfix
    (550, "5.1.1 <nobody@firma.example>: Recipient address rejected: User unknown in virtual mailbox table", "inactive", "no-such-mailbox"),
    (550, "5.1.1 <nobody@firma.example>: Recipient address rejected: User unknown in local recipient table", "inactive", "no-such-mailbox"),
    (554, "5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/203.0.113.5", "unknown", "blocked-by-policy"),
    (450, "4.2.0 <info@firma.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/firma.example.html", "unknown", "greylisted"),
    (450, "4.7.1 Client host rejected: cannot find your hostname, [203.0.113.5]", "unknown", "blocked-by-policy"),
    (554, "5.7.1 <info@other.example>: Relay access denied", "unknown", "blocked-by-policy"),
    (450, "4.1.2 <info@firma.example>: Recipient address rejected: Domain not found", "unknown", "greylisted"),
    (550, "5.1.0 <postmaster@checker.example>: Sender address rejected: Domain not found", "unknown", "blocked-by-policy"),
    (452, "4.5.3 Error: too many recipients", "unknown", "greylisted"),
    # Exim, qmail, others
    (550, "Unrouteable address", "inactive", "no-such-mailbox"),
    (550, "No Such User Here", "inactive", "no-such-mailbox"),
    (550, "rejected because 203.0.113.5 is in a black list at zen.spamhaus.org", "unknown", "blocked-by-policy"),
    (451, "4.7.1 Please try again later", "unknown", "greylisted"),
    (550, "Administrative prohibition", "unknown", "recipient-refused"),
    (550, "sorry, no mailbox here by that name. (#5.1.1)", "inactive", "no-such-mailbox"),
    (553, "sorry, that domain isn't in my list of allowed rcpthosts. (#5.7.1)", "unknown", "blocked-by-policy"),
    (554, "delivery error: dd This user doesn't have a yahoo.com account (info@yahoo.example) [0] - mta1130.mail.ir2.yahoo.com", "inactive", "no-such-mailbox"),
    (421, "4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user complaints", "unknown", "greylisted"),
    (550, "5.1.1 <nobody@icloud.example>: user does not exist", "inactive", "no-such-mailbox"),
    (550, "Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550", "inactive", "no-such-mailbox"),
    (554, "Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554", "unknown", "blocked-by-policy"),
    (550, "permanent failure for one or more recipients (nobody@firma.example:blocked)", "unknown", "blocked-by-policy"),
    (550, "5.7.25 [203.0.113.5] The IP address sending this message does not have a PTR record setup", "unknown", "blocked-by-policy"),
    (550, "5.1.1 User unknown; rejecting, but your IP is listed at bl.spamcop.net", "unknown", "blocked-by-policy"),
    (552, "Mailbox full", "unknown", "mailbox-disabled"),
    (553, "5.1.3 Error: malformed address", "inactive", "no-such-mailbox"),
    (554, "5.4.14 Hop count exceeded - possible mail loop", "unknown", "recipient-refused"),
    (999, "what is this", "unknown", "smtp-error"),
    (354, "End data with <CR><LF>.<CR><LF>", "unknown", "smtp-error"),
]


@pytest.mark.parametrize(("code", "text", "verdict", "reason"), REPLIES)
def test_classify_reply(code: int, text: str, verdict: str, reason: str) -> None:
    assert classify_reply(code, text) == (verdict, reason)


def test_reply_table_is_broad() -> None:
    assert len(REPLIES) >= 25


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("5.1.1 User unknown", "5.1.1"),
        ("  4.7.500 Server busy", "4.7.500"),
        ("sorry, no mailbox here by that name. (#5.1.1)", "5.1.1"),
        ("5.1.10 RESOLVER.ADR.RecipientNotFound", "5.1.10"),
        ("Ok", None),
        ("2.0.0.1 not a code", None),
        ("version 5.1.1.2 of something", None),
    ],
)
def test_enhanced_code(text: str, code: str | None) -> None:
    assert enhanced_code(text) == code


def test_sender_refusals_are_never_about_the_mailbox() -> None:
    assert classify_sender_reply(550, "5.1.0 <me@checker.example>: Sender address rejected: Domain not found") == (
        "unknown", "blocked-by-policy")
    assert classify_sender_reply(451, "4.3.0 Temporary lookup failure") == ("unknown", "greylisted")
    assert classify_sender_reply(450, "4.7.1 Client host rejected: blocked using zen.spamhaus.org") == (
        "unknown", "blocked-by-policy")


def test_too_many_recipients() -> None:
    assert is_too_many_recipients(452, "4.5.3 Error: too many recipients")
    assert is_too_many_recipients(451, "4.5.3 Too many recipients")
    assert not is_too_many_recipients(450, "4.2.0 Greylisted")


# ----------------------------------------------------------------- mail_hosts


class StubResolver:
    """Hands out recorded answers; anything not recorded is NXDOMAIN. Counts queries."""

    def __init__(self, answers: dict[tuple[str, str], tuple[str, tuple[str, ...]]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str]] = []

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        self.asked.append((name, rdtype))
        status, records = self.answers.get((name, rdtype), ("nxdomain", ()))
        return DnsAnswer(name, rdtype, status, records)


PUBLIC = AddressPolicy(allow_private=False)


def route(answers: dict[tuple[str, str], tuple[str, tuple[str, ...]]], domain: str = "firma.example",
          policy: AddressPolicy = PUBLIC) -> MailRoute:
    return mail_hosts(StubResolver(answers), domain, policy)


def test_mx_by_preference() -> None:
    result = route({
        ("firma.example", "MX"): ("ok", ("20 mx2.firma.example.", "5 mx0.firma.example.", "10 mx1.firma.example.")),
        ("mx0.firma.example", "A"): ("ok", ("192.0.2.10",)),  # documentation range: not public
        ("mx0.firma.example", "AAAA"): ("nodata", ()),
        ("mx1.firma.example", "A"): ("ok", ("8.8.4.4",)),
        ("mx1.firma.example", "AAAA"): ("ok", ("2001:4860:4860::8844",)),
        ("mx2.firma.example", "A"): ("ok", ("1.1.1.1",)),
        ("mx2.firma.example", "AAAA"): ("nodata", ()),
    })
    assert (result.verdict, result.reason, result.implicit) == ("active", "mx-found", False)
    assert [h.name for h in result.hosts] == ["mx0.firma.example", "mx1.firma.example", "mx2.firma.example"]
    assert result.hosts[0].refused == ("192.0.2.10",)
    assert result.targets == (
        ("mx1.firma.example", "8.8.4.4"), ("mx1.firma.example", "2001:4860:4860::8844"),
        ("mx2.firma.example", "1.1.1.1"),
    )


def test_null_mx() -> None:
    stub = StubResolver({("firma.example", "MX"): ("ok", ("0 .",))})
    result = mail_hosts(stub, "firma.example", PUBLIC)
    assert (result.verdict, result.reason) == ("inactive", "null-mx")
    assert stub.asked == [("firma.example", "MX")]  # never falls back to A


def test_no_mx_uses_the_domain_itself() -> None:
    result = route({
        ("firma.example", "MX"): ("nodata", ()),
        ("firma.example", "A"): ("ok", ("8.8.8.8",)),
        ("firma.example", "AAAA"): ("nodata", ()),
    })
    assert (result.verdict, result.reason, result.implicit) == ("active", "implicit-mx", True)
    assert result.targets == (("firma.example", "8.8.8.8"),)


def test_no_mx_and_no_address() -> None:
    result = route({
        ("firma.example", "MX"): ("nodata", ()),
        ("firma.example", "A"): ("nodata", ()),
        ("firma.example", "AAAA"): ("nodata", ()),
    })
    assert (result.verdict, result.reason) == ("inactive", "no-mail-host")


def test_implicit_mx_private_only() -> None:
    answers = {
        ("firma.example", "MX"): ("nodata", ()),
        ("firma.example", "A"): ("ok", ("10.0.0.5",)),
        ("firma.example", "AAAA"): ("nodata", ()),
    }
    assert route(answers).reason == "mx-private"
    assert route(answers, policy=AddressPolicy(allow_private=True)).reason == "implicit-mx"


@pytest.mark.parametrize(
    ("status", "verdict", "reason"),
    [
        ("nxdomain", "inactive", "nxdomain"),
        ("servfail", "unknown", "dns-servfail"),
        ("dns-timeout", "unknown", "dns-timeout"),
        ("refused", "unknown", "dns-error"),
        ("dns-error", "unknown", "dns-error"),
    ],
)
def test_mx_lookup_failures(status: str, verdict: str, reason: str) -> None:
    result = route({("firma.example", "MX"): (status, ())})
    assert (result.verdict, result.reason) == (verdict, reason)
    assert result.answers[0].status == status


def test_private_mx_is_refused() -> None:
    answers = {
        ("firma.example", "MX"): ("ok", ("10 mx.firma.example.",)),
        ("mx.firma.example", "A"): ("ok", ("127.0.0.2", "192.168.1.4")),
        ("mx.firma.example", "AAAA"): ("ok", ("::1",)),
    }
    result = route(answers)
    assert (result.verdict, result.reason, result.targets) == ("unknown", "mx-private", ())
    assert result.hosts[0].refused == ("127.0.0.2", "192.168.1.4", "::1")
    allowed = route(answers, policy=AddressPolicy(allow_private=True))
    assert allowed.reason == "mx-found" and allowed.targets[0] == ("mx.firma.example", "127.0.0.2")


def test_mx_host_without_address_and_with_dns_trouble() -> None:
    gone = route({("firma.example", "MX"): ("ok", ("10 nowhere.firma.example.",))})
    assert (gone.verdict, gone.reason) == ("inactive", "no-mail-host")
    slow = route({
        ("firma.example", "MX"): ("ok", ("10 mx.firma.example.",)),
        ("mx.firma.example", "A"): ("dns-timeout", ()),
        ("mx.firma.example", "AAAA"): ("dns-timeout", ()),
    })
    assert (slow.verdict, slow.reason) == ("unknown", "dns-timeout")


def test_route_evidence_carries_the_answers() -> None:
    result = route({("firma.example", "MX"): ("ok", ("0 .",))})
    evidence = result.evidence()
    assert evidence["answers"][0] == {
        "name": "firma.example", "type": "MX", "status": "ok", "records": ["0 ."], "ttl": None, "elapsed_ms": 0.0,
    }


# --------------------------------------------------------------- HostLimiter


def test_limiter_caps_concurrency_per_host() -> None:
    async def scenario() -> dict[str, int]:
        limiter = HostLimiter(concurrency=2, per_minute=1000)

        async def session(key: str) -> None:
            async with limiter.slot(key):
                await asyncio.sleep(0.01)

        await asyncio.gather(*(session("a") for _ in range(6)), *(session("b") for _ in range(3)))
        return limiter.max_active

    assert asyncio.run(scenario()) == {"a": 2, "b": 2}


def test_limiter_spaces_session_starts() -> None:
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def scenario() -> None:
        limiter = HostLimiter(concurrency=5, per_minute=2, clock=lambda: now[0], sleep=fake_sleep)
        for _ in range(3):
            async with limiter.slot("mx"):
                pass
        async with limiter.slot("other"):  # other hosts never wait
            pass

    asyncio.run(scenario())
    assert slept == [60.0]  # the third start waits for the window


def test_limiter_fractional_rate() -> None:
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    async def scenario() -> None:
        limiter = HostLimiter(per_minute=0.5, clock=lambda: now[0], sleep=fake_sleep)
        for _ in range(2):
            async with limiter.slot("mx"):
                pass

    asyncio.run(scenario())
    assert now[0] == 120.0
