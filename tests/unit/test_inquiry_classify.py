"""Classifying and matching what comes back from a mystery-shopper inquiry (pure functions).

The messages are modelled on real ones: Postfix and Exchange Online delivery
reports, a qmail bounce without a report, Gmail's delay notice and vacation
responder, Outlook and Lotus Notes out-of-office replies, ticket-system
receipts (OTRS, Freshdesk and in-house systems) in several languages, and
people's answers, quoted text and ticket numbers included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from textwrap import dedent
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.probes.inquiries.classify import (
    ReplyKeys,
    classify,
    fresh_text,
    match_inquiry,
    outcome,
    parse_message,
    reply_keys,
)
from auditor.probes.inquiries.collect import _fetch, parse_internaldate

MID = "<5f0c9a1e2b7d4c3f8e6a1b2c3d4e5f60.k3m9x2pq@auditor.example>"
TOKEN = "k3m9x2pq"
ORIGINAL = dedent(f"""\
    Return-Path: <shopper@auditor.example>
    From: Anna Weber <shopper@auditor.example>
    To: info@firma.example
    Subject: Question about your customer service hours [ref: {TOKEN}]
    Date: Mon, 03 Jun 2024 08:00:00 +0000
    Message-ID: {MID}
    X-Auditor-Token: {TOKEN}
    MIME-Version: 1.0
    Content-Type: text/plain; charset="utf-8"

    Hello,

    I have a question for your customer service.
    """)


def msg(text: str) -> bytes:
    """A raw message from an indented literal; ``@@ORIGINAL@@`` stands for the inquiry as sent."""
    return dedent(text).lstrip("\n").replace("@@ORIGINAL@@", ORIGINAL).encode("utf-8")


POSTFIX_DSN = msg("""
    Return-Path: <>
    Date: Mon,  3 Jun 2024 10:00:02 +0200 (CEST)
    From: MAILER-DAEMON@mail.auditor.example (Mail Delivery System)
    Subject: Undelivered Mail Returned to Sender
    To: shopper@auditor.example
    Auto-Submitted: auto-replied
    MIME-Version: 1.0
    Content-Type: multipart/report; report-type=delivery-status;
    \tboundary="4Vt8bB2.1717401602/mail.auditor.example"
    Message-Id: <20240603080002.4Vt8bB2@mail.auditor.example>

    This is a MIME-encapsulated message.

    --4Vt8bB2.1717401602/mail.auditor.example
    Content-Description: Notification
    Content-Type: text/plain; charset=utf-8

    This is the mail system at host mail.auditor.example.

    I'm sorry to have to inform you that your message could not
    be delivered to one or more recipients. It's attached below.

    <biuro@duch.example>: host mx.duch.example[192.0.2.10] said: 550 5.1.1
        <biuro@duch.example>: Recipient address rejected: User unknown in virtual
        mailbox table (in reply to RCPT TO command)

    --4Vt8bB2.1717401602/mail.auditor.example
    Content-Description: Delivery report
    Content-Type: message/delivery-status

    Reporting-MTA: dns; mail.auditor.example
    X-Postfix-Queue-ID: 4Vt8bB2
    X-Postfix-Sender: rfc822; shopper@auditor.example
    Arrival-Date: Mon,  3 Jun 2024 10:00:01 +0200 (CEST)

    Final-Recipient: rfc822; biuro@duch.example
    Original-Recipient: rfc822;biuro@duch.example
    Action: failed
    Status: 5.1.1
    Remote-MTA: dns; mx.duch.example
    Diagnostic-Code: smtp; 550 5.1.1 <biuro@duch.example>: Recipient address
        rejected: User unknown in virtual mailbox table

    --4Vt8bB2.1717401602/mail.auditor.example
    Content-Description: Undelivered Message
    Content-Type: message/rfc822

    @@ORIGINAL@@
    --4Vt8bB2.1717401602/mail.auditor.example--
    """)

EXCHANGE_NDR = msg(f"""
    From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>
    To: <shopper@auditor.example>
    Date: Mon, 3 Jun 2024 08:00:05 +0000
    Subject: Undeliverable: Question about your customer service hours [ref: {TOKEN}]
    Content-Type: multipart/report; report-type=delivery-status;
    \tboundary="_000_DM6PR11MB4react"
    Message-ID: <f1a2b3c4-d5e6-47f8-9a0b-c1d2e3f4a5b6@DM6PR11MB4react.namprd11.prod.outlook.com>
    MIME-Version: 1.0
    X-MS-Exchange-Message-Is-Ndr:
    Auto-Submitted: auto-replied

    --_000_DM6PR11MB4react
    Content-Type: multipart/alternative; boundary="_002_alt"

    --_002_alt
    Content-Type: text/plain; charset="us-ascii"

    Your message to info@contoso.com couldn't be delivered.
    info wasn't found at contoso.com.

    --_002_alt
    Content-Type: text/html; charset="us-ascii"

    <html><body><p>Your message to info@contoso.com couldn't be delivered.</p></body></html>
    --_002_alt--

    --_000_DM6PR11MB4react
    Content-Type: message/delivery-status

    Reporting-MTA: dns;DM6PR11MB4react.namprd11.prod.outlook.com
    Received-From-MTA: dns;mail.auditor.example
    Arrival-Date: Mon, 3 Jun 2024 08:00:04 +0000

    Final-recipient: RFC822; info@contoso.com
    Action: failed
    Status: 5.1.10
    Diagnostic-code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient info@contoso.com
     not found by SMTP address lookup

    --_000_DM6PR11MB4react
    Content-Type: text/rfc822-headers

    From: Anna Weber <shopper@auditor.example>
    To: info@contoso.com
    Subject: Question about your customer service hours [ref: {TOKEN}]
    Message-ID: {MID}
    X-Auditor-Token: {TOKEN}

    --_000_DM6PR11MB4react--
    """)

QMAIL_BOUNCE = msg("""
    Return-Path: <>
    Date: 3 Jun 2024 08:00:03 -0000
    From: MAILER-DAEMON@mx.sessiz.example
    To: shopper@auditor.example
    Subject: failure notice

    Hi. This is the qmail-send program at mx.sessiz.example.
    I'm afraid I wasn't able to deliver your message to the following addresses.
    This is a permanent error; I've given up. Sorry it didn't work out.

    <iletisim@sessiz.example>:
    Sorry, no mailbox here by that name. (#5.1.1)

    --- Below this line is a copy of the message.

    @@ORIGINAL@@""")

GMAIL_DELAY = msg("""
    From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
    To: shopper@auditor.example
    Auto-Submitted: auto-replied
    Subject: Delivery Status Notification (Delay)
    Date: Mon, 03 Jun 2024 12:00:00 -0700
    Message-ID: <665d3c1f.050a0220.delay@mx.google.com>
    MIME-Version: 1.0
    Content-Type: multipart/report; boundary="000000000000delay"; report-type=delivery-status

    --000000000000delay
    Content-Type: text/plain; charset="UTF-8"

    Message not delivered yet. Gmail will keep trying for 46 more hours.

    --000000000000delay
    Content-Type: message/delivery-status

    Reporting-MTA: dns; googlemail.com

    Final-Recipient: rfc822; info@slow.example
    Action: delayed
    Status: 4.4.7
    Will-Retry-Until: Wed, 05 Jun 2024 10:00:00 -0700

    --000000000000delay
    Content-Type: message/rfc822

    @@ORIGINAL@@
    --000000000000delay--
    """)


def reply(subject: str, body: str, *, sender: str = "Jane <jane@firma.example>", headers: str = "",
          thread: bool = True) -> bytes:
    threading = f"In-Reply-To: {MID}\nReferences: {MID}\n" if thread else ""
    return msg(
        f"From: {sender}\nTo: shopper@auditor.example\nSubject: {subject}\n"
        f"Date: Mon, 03 Jun 2024 09:30:00 +0200\nMessage-ID: <r{abs(hash(subject + body))}@firma.example>\n"
        f"{threading}{dedent(headers)}MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        f"Content-Transfer-Encoding: 8bit\n\n{dedent(body)}"
    )


S = f"Question about your customer service hours [ref: {TOKEN}]"

CASES: list[tuple[str, bytes, str, str]] = [
    # -- bounces ---------------------------------------------------------------
    ("postfix-dsn", POSTFIX_DSN, "bounce", "dsn-failed"),
    ("exchange-online-ndr", EXCHANGE_NDR, "bounce", "dsn-failed"),
    ("qmail-bounce-without-report", QMAIL_BOUNCE, "bounce", "ndr"),
    ("gmail-delay-notice", GMAIL_DELAY, "delay", "dsn-delayed"),
    ("exchange-onprem-ndr-de", reply(
        f"Unzustellbar: {S}", "Die Nachricht konnte nicht zugestellt werden.\n",
        sender="Microsoft Exchange <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@firma.example>",
        thread=False), "bounce", "ndr"),
    # -- automatic acknowledgements -------------------------------------------
    ("gmail-vacation", reply(
        "Szabadságon vagyok", "Június 10-ig szabadságon vagyok, utána válaszolok.\n",
        sender="Kovács Péter <kovacs.peter@firma.example>",
        headers="Auto-Submitted: auto-replied\n"), "auto-ack", "auto-submitted"),
    ("outlook-ooo-de", reply(
        f"Automatische Antwort: {S}", "Ich bin bis 10.06. nicht im Büro.\n",
        headers="Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All\n"
                "X-MS-Exchange-Inbox-Rules-Loop: jane@firma.example\n"), "auto-ack", "auto-submitted"),
    ("autoreply-header", reply(
        f"Re: {S}", "Thank you for your email.\n", headers="X-Autoreply: yes\n"), "auto-ack", "x-autoreply"),
    ("precedence-auto-reply", reply(
        f"Re: {S}", "Thanks!\n", headers="Precedence: auto_reply\n"), "auto-ack", "precedence"),
    ("lotus-notes-abwesenheitsnotiz", reply(
        f"Abwesenheitsnotiz: {S}", "Ich werde ab 01.06.2024 nicht im Büro sein.\n"),
        "auto-ack", "auto-reply-subject"),
    ("outlook-ooo-hu", reply(f"Automatikus válasz: {S}", "Szabadságon vagyok.\n"),
     "auto-ack", "auto-reply-subject"),
    ("outlook-ooo-pl", reply(f"Odpowiedź automatyczna: {S}", "Jestem na urlopie.\n"),
     "auto-ack", "auto-reply-subject"),
    ("outlook-ooo-tr", reply(f"Otomatik Yanıt: {S}", "İzindeyim.\n"), "auto-ack", "auto-reply-subject"),
    ("outlook-ooo-ru", reply(f"Автоматический ответ: {S}", "Я в отпуске.\n"),
     "auto-ack", "auto-reply-subject"),
    ("outlook-ooo-en", reply(f"Automatic reply: {S}", "I am out of the office.\n"),
     "auto-ack", "auto-reply-subject"),
    ("freshdesk-ticket-received", reply(
        f"Ticket Received - {S}",
        "Dear Customer,\n\nWe would like to acknowledge that we have received your request and a ticket"
        " has been created.\nA support representative will be reviewing your request.\n",
        sender="Acme Support <support@acme.freshdesk.com>"), "auto-ack", "auto-reply-subject"),
    ("otrs-ticket-de", reply(
        f"[Ticket#2024060310000123] {S}",
        "Sehr geehrte Damen und Herren,\n\nIhre Anfrage ist bei uns eingegangen und wird unter der"
        " oben genannten Ticketnummer bearbeitet.\n\nIhr Kundenservice\n",
        sender="Kundenservice <kundenservice@firma.example>", thread=False), "auto-ack", "ticket-ack"),
    ("ticket-pl", reply(
        f"Re: {S}",
        "Dzień dobry,\n\notrzymaliśmy Państwa wiadomość. Zgłoszenie nr 48213 zostało przekazane do"
        " konsultanta.\n\nBiuro Obsługi Klienta\n", sender="BOK <bok@firma.example>"),
        "auto-ack", "ticket-ack"),
    ("ticket-ru", reply(
        f"Re: {S}",
        "Здравствуйте!\n\nВаше обращение № 58213 принято в работу. Мы ответим в ближайшее время.\n",
        sender="Служба поддержки <support@firma.example>"), "auto-ack", "ticket-ack"),
    ("ticket-tr", reply(
        f"Talebiniz alınmıştır - Kayıt No: 100234 [ref: {TOKEN}]",
        "Merhaba,\n\nTalebiniz alınmıştır. En kısa sürede size dönüş yapılacaktır.\n",
        sender="Müşteri Hizmetleri <musteri@firma.example>"), "auto-ack", "auto-reply-subject"),
    ("ticket-hu-noreply", reply(
        f"Re: {S}",
        "Tisztelt Ügyfelünk!\n\nMegkaptuk megkeresését, kollégáink hamarosan válaszolnak.\n",
        sender="Ügyfélszolgálat <noreply@firma.example>"), "auto-ack", "no-reply-sender"),
    ("read-receipt", msg(f"""
        From: jane@firma.example
        To: shopper@auditor.example
        Subject: Read: {S}
        Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"

        --mdn
        Content-Type: text/plain

        Your message was read.
        --mdn
        Content-Type: message/disposition-notification

        Final-Recipient: rfc822; jane@firma.example
        Original-Message-ID: {MID}
        Disposition: manual-action/MDN-sent-manually; displayed
        --mdn--
        """), "auto-ack", "read-receipt"),
    # -- people ----------------------------------------------------------------
    ("human-gmail-quoted", reply(
        f"Re: {S}", """\
        Hi Anna,

        our customer service is available Monday to Friday, 9:00-17:00, and yes, by phone too.

        Best regards,
        Jane

        On Mon, 3 Jun 2024 at 10:00, Anna Weber <shopper@auditor.example> wrote:
        > Hello,
        > I have a question for your customer service. Automatic reply: none.
        """), "human", "no-automation-signs"),
    ("human-says-automatic", reply(
        f"Re: {S}",
        "Hello Anna,\n\nwe have received many questions about this lately: our hotline uses an"
        " automatic call-back system, so leave your number and we call you within the hour.\n\nJane\n"),
        "human", "no-automation-signs"),
    ("human-zendesk-agent", reply(
        f"[#12345] Re: {S}",
        "Hi Anna,\n\nthanks for reaching out! Our team is available 24/7 in the chat and from 8 to 20"
        " by phone.\n\nTom | Acme Support\n", sender="Acme Support <support@acme.zendesk.com>"),
        "human", "no-automation-signs"),
    ("human-below-quoted-ticket-ack", reply(
        f"[#48213] Re: {S}",
        "Tisztelt Weber Anna!\n\nÜgyfélszolgálatunk hétköznap 8 és 20 óra között hívható.\n\n"
        "Üdvözlettel:\nNagy Éva\n\n> Megkaptuk megkeresését, kollégáink hamarosan válaszolnak.\n"
        "> Bejelentés azonosító: #48213\n", sender="Ügyfélszolgálat <ugyfelszolgalat@firma.example>"),
        "human", "no-automation-signs"),
    ("human-outlook-html-pl", msg(f"""
        From: Katarzyna Nowak <k.nowak@firma.example>
        To: shopper@auditor.example
        Subject: RE: {S}
        Thread-Topic: Question about your customer service hours
        X-Auto-Response-Suppress: All
        In-Reply-To: {MID}
        MIME-Version: 1.0
        Content-Type: text/html; charset="utf-8"

        <html><body><p>Dzień dobry,</p><p>biuro obsługi klienta pracuje od poniedziałku do piątku
        w godzinach 8-16.</p><p>Pozdrawiam<br>Katarzyna Nowak</p>
        <div><b>Od:</b> Anna Weber &lt;shopper@auditor.example&gt;<br><b>Wysłano:</b> poniedziałek,
        3 czerwca 2024 10:00<br><b>Temat:</b> Automatyczna odpowiedź? Zgłoszenie nr 1234
        otrzymaliśmy</div></body></html>
        """), "human", "no-automation-signs"),
]


@pytest.mark.parametrize(("name", "raw", "kind", "reason"), CASES, ids=[c[0] for c in CASES])
def test_classify(name: str, raw: bytes, kind: str, reason: str) -> None:
    got = classify(parse_message(raw))
    assert (got.kind, got.reason) == (kind, reason), got


def test_bounce_details_carry_status_and_diagnostic() -> None:
    assert "5.1.1" in classify(parse_message(POSTFIX_DSN)).detail
    assert "User unknown" in classify(parse_message(POSTFIX_DSN)).detail
    assert "RecipientNotFound" in classify(parse_message(EXCHANGE_NDR)).detail


# ---------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------

KNOWN_IDS = {MID: 7, "<other.aaaaaaaa@auditor.example>": 8}
KNOWN_TOKENS = {TOKEN: 7, "aaaaaaaa": 8}


@pytest.mark.parametrize(("raw", "how"), [
    (POSTFIX_DSN, "embedded-message-id"),
    (EXCHANGE_NDR, "embedded-message-id"),
    (QMAIL_BOUNCE, "body-message-id"),
    (reply("Re: hello", "Hi"), "in-reply-to"),
    (reply(f"Re: {S}", "Hi", thread=False, headers=f"References: <x@y.example> {MID}\n"), "references"),
    (reply(f"New question {S}", "Hi", thread=False), "subject-token"),
    (reply("Your question", f"Hi\n\n> Subject: Question ... [ref: {TOKEN}]\n", thread=False), "body-token"),
], ids=["postfix-dsn", "exchange-ndr", "qmail", "in-reply-to", "references", "subject", "body"])
def test_match_by_every_handle(raw: bytes, how: str) -> None:
    assert match_inquiry(reply_keys(parse_message(raw)), KNOWN_IDS, KNOWN_TOKENS) == (7, how)


def test_strongest_handle_wins_and_unknown_handles_do_not_match() -> None:
    # In-Reply-To names inquiry 8 while the subject carries inquiry 7's token.
    raw = reply(f"Re: {S}", "Hi", thread=False, headers="In-Reply-To: <other.aaaaaaaa@auditor.example>\n")
    assert match_inquiry(reply_keys(parse_message(raw)), KNOWN_IDS, KNOWN_TOKENS) == (8, "in-reply-to")
    stranger = reply("Newsletter", "ref: zzzzzzzz and <nobody@x.example>", thread=False)
    assert match_inquiry(reply_keys(parse_message(stranger)), KNOWN_IDS, KNOWN_TOKENS) is None
    assert match_inquiry(ReplyKeys(), KNOWN_IDS, KNOWN_TOKENS) is None


def test_references_newest_first() -> None:
    raw = reply("Re: x", "Hi", thread=False,
                headers=f"References: {MID} <other.aaaaaaaa@auditor.example>\n")
    assert match_inquiry(reply_keys(parse_message(raw)), KNOWN_IDS, KNOWN_TOKENS) == (8, "references")


def test_fresh_text_cuts_quotes_in_several_languages() -> None:
    for marker in ("On Mon, 3 Jun 2024 at 10:00, Anna <a@b.example> wrote:",
                   "Am 03.06.2024 um 10:00 schrieb Anna Weber:", "2024. jún. 3. 10:00 időpontben Anna írta:",
                   "W dniu 3.06.2024 o 10:00 Anna napisał(a):", "3 Haz 2024 10:00 tarihinde Anna şunu yazdı:",
                   "3 июня 2024 г., в 10:00, Анна написал(а):", "-----Original Message-----",
                   "-----Ursprüngliche Nachricht-----"):
        assert fresh_text(f"Answer here.\n\n{marker}\nQuoted receipt: we have received your") == "Answer here."
    assert fresh_text("Top\nFrom: Anna\nSent: Monday\nTo: x\n\nold") == "Top"
    assert fresh_text("Top\nFrom: the team\nThanks") == "Top\nFrom: the team\nThanks"


def test_internaldate_parsing() -> None:
    assert parse_internaldate(b" 3-Jun-2024 10:00:05 +0200") == datetime(2024, 6, 3, 8, 0, 5, tzinfo=UTC)
    assert parse_internaldate("17-Jul-1996 02:44:25 -0700") == datetime(1996, 7, 17, 9, 44, 25, tzinfo=UTC)
    assert parse_internaldate("garbage") is None


# ---------------------------------------------------------------------------
# Outcome of one inquiry
# ---------------------------------------------------------------------------

T0 = datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_outcome_pending_then_no_reply_at_cutoff() -> None:
    assert outcome(T0, [], h(1), WEEK).status == "pending"
    o = outcome(T0, [], h(24 * 8), WEEK)
    assert (o.status, o.final, o.no_reply, o.closed_at) == ("no-reply", True, True, T0 + WEEK)


def test_outcome_ack_is_kept_when_nobody_answers() -> None:
    o = outcome(T0, [("auto-ack", h(0.01))], h(2), WEEK)
    assert (o.status, o.final, o.first_ack_at) == ("auto-ack-only", False, h(0.01))
    o = outcome(T0, [("auto-ack", h(0.01)), ("delay", h(3))], h(24 * 8), WEEK)
    assert (o.status, o.final, o.no_reply, o.first_ack_at) == ("auto-ack-only", True, True, h(0.01))


def test_outcome_human_reply_wins_and_late_replies_do_not_count() -> None:
    o = outcome(T0, [("auto-ack", h(0.1)), ("bounce", h(0.2)), ("human", h(5)), ("human", h(3))], h(6), WEEK)
    assert (o.status, o.final, o.no_reply, o.first_human_at, o.first_ack_at) == (
        "human-reply", True, False, h(3), h(0.1))
    late = outcome(T0, [("human", h(24 * 7 + 1))], h(24 * 8), WEEK)
    assert (late.status, late.first_human_at) == ("no-reply", None)


def test_outcome_bounce_and_clock_skew() -> None:
    assert outcome(T0, [("bounce", h(0.01))], h(1), WEEK).status == "bounced"
    skewed = outcome(T0, [("human", T0 - timedelta(minutes=3))], h(1), WEEK)
    assert skewed.first_human_at == T0  # a reply "before" the inquiry counts as immediate


# ---------------------------------------------------------------------------
# Robustness and the IMAP FETCH answer
# ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([c[1] for c in CASES]))
def test_never_raises_on_damaged_mail(noise: bytes, base: bytes) -> None:
    for raw in (noise, base[: len(noise)] + noise, noise + base):
        m = parse_message(raw)
        assert classify(m).kind in ("bounce", "auto-ack", "human", "delay")
        reply_keys(m)


class FakeImap:
    def __init__(self, data: list[Any]) -> None:
        self.data = data

    def uid(self, *args: str) -> tuple[str, list[Any]]:
        return "OK", self.data


def test_fetch_reads_uid_and_internaldate_before_or_after_the_literal() -> None:
    answer = [
        (b'1 (UID 41 INTERNALDATE "03-Jun-2024 10:00:05 +0200" BODY[] {5}', b"hello"), b")",
        (b"2 (UID 42 BODY[] {5}", b"world"), b' INTERNALDATE "03-Jun-2024 08:30:00 +0000")',
    ]
    got = list(_fetch(FakeImap(answer), [41, 42]))  # type: ignore[arg-type]
    assert got == [(41, datetime(2024, 6, 3, 8, 0, 5, tzinfo=UTC), b"hello"),
                   (42, datetime(2024, 6, 3, 8, 30, tzinfo=UTC), b"world")]
