"""The mystery-shopper probe against real servers: Postfix (submission + MX) and Dovecot (IMAP).

The auditor submits its inquiries to Postfix over STARTTLS with a login that
Postfix checks against Dovecot (SASL). Postfix delivers mail for the auditor's
own domain and for the test companies into Dovecot's Maildirs, and relays one
company domain to a second Postfix (the lead's ``postfix()`` MX) that discards
mail for its one mailbox and rejects every other address.

The companies then behave as companies do:

- Answer GmbH: an RFC 3834 auto-reply a minute after the inquiry, a person's
  answer 2.5 h after it (the test cannot wait 2.5 h: the inquiries are stamped
  as sent 2.5 h ago, and the auto-reply is appended over IMAP with an arrival
  time one minute after that; IMAP servers refuse arrival times in the future);
- Jegy Kft.: a ticket-system receipt from a no-reply address, nothing else;
- Duch Sp. z o.o.: its address does not exist, Postfix bounces at delivery;
- Gone Ltd: the remote MX rejects the address, Postfix bounces the relay;
- Sessiz A.Ş.: the remote MX takes the mail and nobody ever answers;
- Tikho OOO: a person answers in a new thread, keeping only the subject.

Collecting twice adds nothing, a cutoff later every open inquiry is decided,
and a renumbered mailbox (UIDVALIDITY change) is read again without duplicates.
"""

from __future__ import annotations

import dataclasses
import imaplib
import os
import re
import shutil
import smtplib
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from auditor.models import Company, CompanyResult, ContactPoint
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
from auditor.probes.inquiries.classify import parse_message
from auditor.store.sqlite import SqliteStore
from tests.support.dovecot import Dovecot, Tls, dovecot, make_tls
from tests.support.requirements import need_binary, need_root
from tests.support.servers import free_port, postfix, wait_tcp

pytestmark = pytest.mark.integration

SHOPPER = "shopper@auditor.test"
SMTP_PASSWORD = "s3cret-submission-pw"
IMAP_PASSWORD = SMTP_PASSWORD  # one account, as at a real provider
FAR = "far.test"  # the remote MX's domain (a second Postfix)
LOCAL_MAILBOXES = ["info@answer.test", "ugyfelszolgalat@ticket.test", "info@tikho.test"]
TLS_CHECK = "frontdesk@tls.test"  # only the implicit-TLS test writes to it

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mail.auditor.test
mydomain = auditor.test
myorigin = auditor.test
mydestination =
local_recipient_maps =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = {domains}
virtual_mailbox_base = {mail_root}
virtual_mailbox_maps = texthash:{d}/conf/vmailbox
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_minimum_uid = 1
transport_maps = texthash:{d}/conf/transport
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth}
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
maillog_file = /dev/stdout
smtpd_banner = $myhostname ESMTP
smtpd_error_sleep_time = 0
"""

# Submission (RFC 6409) on STARTTLS and on implicit TLS (RFC 8314): TLS and a
# login required; recipients are checked at delivery, not at RCPT, so an
# unknown mailbox comes back as a bounce.
SUBMISSION = """\
127.0.0.1:{port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_reject_unlisted_recipient=no
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{smtps} inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_reject_unlisted_recipient=no
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{mx} inet n - n - - smtpd
"""


@dataclass(frozen=True)
class Relay:
    submission_port: int
    smtps_port: int
    mx_port: int
    maillog: Path


@contextmanager
def postfix_relay(dv: Dovecot, tls: Tls, domains: list[str], mailboxes: list[str],
                  routes: dict[str, str]) -> Iterator[Relay]:
    """Postfix with a submission port and an MX port, delivering ``domains`` into Dovecot's Maildirs."""
    need_binary("postfix", "postfix")
    need_root("Postfix conformance")
    sub, smtps, mx = free_port(), free_port(), free_port()
    d = Path(tempfile.mkdtemp(prefix="auditor-postfix-sub-"))
    d.chmod(0o755)
    for sub_dir in ("conf", "queue", "data"):
        (d / sub_dir).mkdir()
    shutil.chown(d / "data", "postfix")
    (d / "data").chmod(0o700)
    (d / "conf" / "main.cf").write_text(MAIN_CF.format(
        d=d, domains=" ".join(domains), mail_root=dv.mail_root, uid=dv.uid, gid=dv.gid,
        auth=dv.auth_port, cert=tls.cert, key=tls.key,
    ))
    (d / "conf" / "vmailbox").write_text("".join(
        f"{m} {m.partition('@')[2]}/{m.partition('@')[0]}/\n" for m in mailboxes))
    (d / "conf" / "transport").write_text("".join(f"{dom} {nexthop}\n" for dom, nexthop in routes.items()))
    master = Path("/etc/postfix/master.cf").read_text()
    # No chroot: the private queue directory has no copy of /etc for it.
    master = re.sub(r"(?m)^(\S+\s+(?:inet|unix|unix-dgram|fifo|pass)\s+\S+\s+\S+\s+)y(\s)", r"\1n\2", master)
    master = re.sub(r"(?m)^smtp\s+inet\s.*$", SUBMISSION.format(port=sub, smtps=smtps, mx=mx).rstrip(), master, count=1)
    (d / "conf" / "master.cf").write_text(master)
    conf = str(d / "conf")
    maillog = d / "maillog"
    with maillog.open("w") as log:
        proc = subprocess.Popen(["postfix", "-c", conf, "start-fg"], stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            for port in (sub, smtps, mx):
                wait_tcp("127.0.0.1", port)
        except TimeoutError as exc:
            raise RuntimeError(f"Postfix did not start: {maillog.read_text(errors='replace')[-3000:]}") from exc
        yield Relay(sub, smtps, mx, maillog)
    finally:
        subprocess.run(["postfix", "-c", conf, "stop"], capture_output=True, timeout=60)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(d, ignore_errors=True)


@dataclass(frozen=True)
class Stack:
    dv: Dovecot
    relay: Relay
    tls: Tls
    password_file: Path


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    need_binary("postfix", "postfix")
    need_binary("dovecot", "dovecot-imapd")
    need_root("Postfix conformance")
    tmp = Path(tempfile.mkdtemp(prefix="auditor-inquiries-"))
    tls = make_tls(tmp / "tls")
    password_file = tmp / "imap-password"
    password_file.write_text(IMAP_PASSWORD + "\n")
    password_file.chmod(0o600)
    users = {SHOPPER: IMAP_PASSWORD, **{m: "company-pw" for m in [*LOCAL_MAILBOXES, TLS_CHECK]}}
    domains = sorted({u.partition("@")[2] for u in users} | {"ghost.test"})
    os.environ["AUDITOR_TEST_SMTP_PASSWORD"] = SMTP_PASSWORD
    try:
        with (
            dovecot(users, tls) as dv,
            postfix(FAR, ["iletisim"]) as (far_port, _),
            postfix_relay(dv, tls, domains, list(users), {FAR: f"smtp:[127.0.0.1]:{far_port}"}) as relay,
        ):
            yield Stack(dv, relay, tls, password_file)
    finally:
        os.environ.pop("AUDITOR_TEST_SMTP_PASSWORD", None)
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------
# The audited companies and the simulated company side
# ---------------------------------------------------------------------------


def _email(value: str, label: str | None = None, klass: str = "role") -> ContactPoint:
    site = value.rpartition("@")[2]
    return ContactPoint("email", value, value, label, "mailto", f"https://www.{site}/contact", "",
                        0.95, {"address_class": klass, "same_site": True})


COMPANIES: list[tuple[Company, list[ContactPoint]]] = [
    (Company(1, "Answer GmbH", "https://www.answer.test", "DE", "retail"),
     [_email("info@answer.test"), _email("presse@answer.test", "press")]),
    (Company(2, "Jegy Kft.", "https://www.ticket.test", "HU", "banking"),
     [_email("ugyfelszolgalat@ticket.test", "customer-service")]),
    (Company(3, "Duch Sp. z o.o.", "https://www.ghost.test", "PL", "travel"), [_email("biuro@ghost.test")]),
    (Company(4, "Gone Ltd", "https://www.gone.test", "GB", "technology"), [_email(f"support@{FAR}", "support")]),
    (Company(5, "Sessiz A.Ş.", "https://www.sessiz.test", "TR", "online games"), [_email(f"iletisim@{FAR}")]),
    (Company(6, "Tikho OOO", "https://www.tikho.test", "RU", "technology"),
     [_email("ivan.petrov@tikho.test", klass="personal"), _email("info@tikho.test")]),
    (Company(7, "Solo Kowalski", "https://www.solo.test", "PL", None),
     [_email("jan.kowalski@solo.test", klass="personal")]),
    (Company(8, "Phone Only", "https://www.phone.test", "DE", None), []),
]


def _audit_store(directory: Path) -> SqliteStore:
    store = SqliteStore(directory / "audit.sqlite")
    store.start_run({}, "test")
    store.register_companies(c for c, _ in COMPANIES)
    for company, contacts in COMPANIES:
        store.save_company(CompanyResult(company, contacts=tuple(contacts)))
    return store


def _wait(condition: Callable[[], bool], what: str, relay: Relay, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; Postfix log:\n"
                         f"{relay.maillog.read_text(errors='replace')[-3000:]}")


def _delivered(dv: Dovecot, user: str) -> EmailMessage:
    """The one message in a company's inbox, as delivered (read from its Maildir)."""
    files = [p for sub in ("new", "cur") for p in (dv.maildir(user) / sub).glob("*")]
    assert len(files) == 1, files
    return parse_message(files[0].read_bytes())


def _send_as_company(relay: Relay, msg: EmailMessage, envelope_from: str) -> None:
    with smtplib.SMTP("127.0.0.1", relay.mx_port, local_hostname="mx.company.test", timeout=10) as smtp:
        smtp.sendmail(envelope_from, [SHOPPER], msg.as_bytes())


def _reply(original: EmailMessage, sender: str, subject: str, body: str, *,
           thread: bool = True, **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = SHOPPER
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<{time.time_ns()}.{abs(hash(subject))}@{sender.rpartition('@')[2].rstrip('>')}>"
    if thread:
        msg["In-Reply-To"] = original["Message-ID"]
        msg["References"] = original["Message-ID"]
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg


def _configs(stack: Stack, smtp_password_env: str = "AUDITOR_TEST_SMTP_PASSWORD") -> tuple[
        InquiryConfig, SubmissionConfig, ImapConfig]:
    inquiry = InquiryConfig(from_address=SHOPPER, sender_name="Anna Weber",
                            topics_by_industry={"retail": "delivery"}, rate_per_minute=600)
    submission = SubmissionConfig(
        host="127.0.0.1", port=stack.relay.submission_port, security="starttls", user=SHOPPER,
        password_env=smtp_password_env, ca_file=str(stack.tls.ca), helo="probe.auditor.test",
    )
    imap = ImapConfig(host="127.0.0.1", port=stack.dv.imaps_port or 0, tls=True, user=SHOPPER,
                      password_file=str(stack.password_file), ca_file=str(stack.tls.ca))
    return inquiry, submission, imap


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------


def test_send_then_collect_against_postfix_and_dovecot(
    stack: Stack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    dv, relay = stack.dv, stack.relay
    store = _audit_store(tmp_path)
    inquiry_config, submission, imap = _configs(stack)

    plan = plan_inquiries(store, inquiry_config)
    by_name = {p.company.name: p for p in plan}
    assert set(by_name) == {"Answer GmbH", "Jegy Kft.", "Duch Sp. z o.o.", "Gone Ltd", "Sessiz A.Ş.",
                            "Tikho OOO"}
    assert {s.company_name: s.reason for s in plan.skipped} == {
        "Solo Kowalski": "only-personal", "Phone Only": "no-email"}
    assert by_name["Answer GmbH"].address == "info@answer.test"  # not the press desk
    assert by_name["Tikho OOO"].address == "info@tikho.test"  # the role box, not Ivan
    assert by_name["Answer GmbH"].language == "de" and by_name["Answer GmbH"].topic == "delivery"
    assert [by_name[n].language for n in ("Jegy Kft.", "Duch Sp. z o.o.", "Gone Ltd", "Sessiz A.Ş.",
                                          "Tikho OOO")] == ["hu", "pl", "en", "tr", "ru"]

    asked: list[str] = []
    naps: list[float] = []
    delay = timedelta(hours=2.5)
    report = send_inquiries(plan, submission, confirm=lambda text: asked.append(text) or True,
                            rate_per_minute=600, store=store, sleep=naps.append,
                            utcnow=lambda: datetime.now(UTC) - delay)
    assert report.error is None, report.error
    assert len(asked) == 1 and "6 inquiries to 6 companies" in asked[0]
    assert len(report.sent) == 6 and not report.failed
    assert all(i.smtp_code == 250 and "queued as" in i.smtp_reply for i in report.sent)
    assert all(0 < n <= 0.1 for n in naps)  # 600/min: 0.1 s apart at most
    summary = report.summary()
    assert all(p.message_id in summary for p in plan)
    sent_at = {i.company_name: datetime.fromisoformat(i.sent_at or "") for i in report.sent}

    # The company side: inquiries arrive, some are answered, two bounce.
    _wait(lambda: all(dv.count(m) == 1 for m in LOCAL_MAILBOXES), "inquiries in company inboxes", relay)
    answer_in = _delivered(dv, "info@answer.test")
    assert answer_in["X-Auditor-Token"] == by_name["Answer GmbH"].token
    assert answer_in["Message-ID"] == by_name["Answer GmbH"].message_id
    assert "Lieferung" in answer_in.get_content()

    # The auto-reply a minute after the (back-dated) inquiry, appended with that arrival time.
    ack = _reply(
        answer_in, "Answer GmbH <info@answer.test>", f"Automatische Antwort: {answer_in['Subject']}",
        "Vielen Dank für Ihre Nachricht. Wir melden uns so schnell wie möglich bei Ihnen.",
        Auto_Submitted="auto-replied", X_Autoreply="yes")
    ctx = ssl.create_default_context(cafile=str(stack.tls.ca))
    with imaplib.IMAP4_SSL("127.0.0.1", dv.imaps_port or 0, ssl_context=ctx) as conn:
        conn.login(SHOPPER, IMAP_PASSWORD)
        arrival = sent_at["Answer GmbH"] + timedelta(minutes=1)
        typ, _ = conn.append("INBOX", None, imaplib.Time2Internaldate(arrival), ack.as_bytes())
        assert typ == "OK"

    # A person at Answer GmbH answers now, 2.5 h after the inquiry, through Postfix.
    human = _reply(
        answer_in, "Klaus Berger <k.berger@answer.test>", f"AW: {answer_in['Subject']}",
        "Guten Tag,\n\ndie Lieferung dauert 2-3 Werktage; den Liefertag können Sie im Warenkorb wählen.\n"
        "Übrigens: Bestellungen über 50 Euro versenden wir automatisch versandkostenfrei.\n\n"
        "Mit freundlichen Grüßen\nKlaus Berger\n\n"
        f"Am {answer_in['Date']} schrieb Anna Weber <{SHOPPER}>:\n> Guten Tag,\n> ich überlege, ...\n")
    human["References"] = f"<older.thread@answer.test> {answer_in['Message-ID']}"
    del human["In-Reply-To"]
    _send_as_company(relay, human, envelope_from="k.berger@answer.test")

    ticket_in = _delivered(dv, "ugyfelszolgalat@ticket.test")
    _send_as_company(relay, _reply(
        ticket_in, "Jegy Ügyfélszolgálat <noreply@ticket.test>", f"[#48213] {ticket_in['Subject']}",
        "Kedves Ügyfelünk!\n\nMegkaptuk megkeresését, bejelentésének azonosítója: #48213.\n"
        "Kollégáink hamarosan válaszolnak.\n", thread=False), envelope_from="noreply@ticket.test")

    tikho_in = _delivered(dv, "info@tikho.test")
    _send_as_company(relay, _reply(
        tikho_in, "Мария Соколова <maria.sokolova@tikho.test>", str(tikho_in["Subject"]),
        "Здравствуйте!\n\nСлужба поддержки работает ежедневно с 9 до 21. Заявки с сайта распределяются "
        "автоматически, но на письма отвечают сотрудники, и по телефону тоже можно.\n\n"
        "С уважением,\nМария", thread=False), envelope_from="maria.sokolova@tikho.test")

    # the appended ack + ticket ack + two answers + 2 bounces (virtual(8) and the far MX)
    _wait(lambda: dv.count(SHOPPER) == 6, "six messages in the auditor's mailbox", relay)

    now = datetime.now(UTC)
    first = collect_replies(store, imap, now=now)
    assert (first.fetched, first.matched, first.unmatched, first.added) == (6, 6, 0, 6), first.summary()
    assert dict(first.by_kind) == {"bounce": 2, "auto-ack": 2, "human": 2}

    r = responsiveness(store)
    key = {c.name: c.key for c, _ in COMPANIES}
    answer = r[key["Answer GmbH"]]
    assert answer["status"] == "human-reply" and answer["final"]
    assert answer["hours_to_first_human_reply"] == pytest.approx(2.5, abs=0.02)
    assert answer["hours_to_first_ack"] == pytest.approx(1 / 60, abs=0.01)
    assert (answer["outcome"], answer["reply_hours"]) == ("human-reply", answer["hours_to_first_human_reply"])
    ticket = r[key["Jegy Kft."]]
    assert (ticket["status"], ticket["final"], ticket["no_reply"]) == ("auto-ack-only", False, False)
    assert ticket["hours_to_first_ack"] == pytest.approx(2.5, abs=0.02)
    assert ticket["hours_to_first_human_reply"] is None
    for name, diag in (("Duch Sp. z o.o.", "5.1.1"), ("Gone Ltd", "User unknown")):
        assert r[key[name]]["status"] == "bounced", name
        assert diag in (r[key[name]]["bounce_detail"] or ""), r[key[name]]
    assert r[key["Sessiz A.Ş."]]["status"] == "pending"
    tikho = r[key["Tikho OOO"]]
    assert tikho["status"] == "human-reply"
    assert tikho["hours_to_first_human_reply"] == pytest.approx(2.5, abs=0.02)
    assert key["Solo Kowalski"] not in r and key["Phone Only"] not in r

    istore = InquiryStore.of(store)
    how = {(row["inquiry_id"], row["kind"]): (row["matched_by"], row["reason"]) for row in istore.replies()}
    ids = {row["company_name"]: row["id"] for row in istore.inquiries()}
    assert how[(ids["Answer GmbH"], "auto-ack")] == ("in-reply-to", "auto-submitted")
    assert how[(ids["Answer GmbH"], "human")][0] == "references"
    assert how[(ids["Jegy Kft."], "auto-ack")] == ("subject-token", "ticket-ack")
    assert how[(ids["Tikho OOO"], "human")][0] == "subject-token"
    assert how[(ids["Duch Sp. z o.o."], "bounce")] == ("embedded-message-id", "dsn-failed")
    assert how[(ids["Gone Ltd"], "bounce")] == ("embedded-message-id", "dsn-failed")

    # Again: nothing new, nothing changes.
    second = collect_replies(store, imap, now=now)
    assert (second.fetched, second.added, second.status_changes) == (0, 0, [])
    assert responsiveness(store) == r

    # Eight days on: the cutoff decides every open inquiry; the ack is kept.
    later = collect_replies(store, imap, now=now + timedelta(days=8))
    assert later.added == 0
    r2 = responsiveness(store)
    assert (r2[key["Jegy Kft."]]["status"], r2[key["Jegy Kft."]]["final"], r2[key["Jegy Kft."]]["no_reply"]) == (
        "auto-ack-only", True, True)
    assert r2[key["Jegy Kft."]]["hours_to_first_ack"] == ticket["hours_to_first_ack"]
    assert (r2[key["Sessiz A.Ş."]]["status"], r2[key["Sessiz A.Ş."]]["outcome"]) == ("no-reply", "no-reply")
    assert r2[key["Gone Ltd"]]["final"] and r2[key["Answer GmbH"]] == answer

    # The server renumbers the folder: everything is read again, nothing is added twice.
    istore.db.execute("UPDATE imap_state SET uidvalidity = uidvalidity + 1")
    again = collect_replies(store, imap, now=now + timedelta(days=8))
    assert again.uidvalidity_reset and again.fetched == 6 and again.added == 0
    assert len(istore.replies()) == 6

    # The same mailbox over the plain port with STARTTLS: another account key, nothing new.
    plain = dataclasses.replace(imap, port=dv.imap_port, tls=False)
    via_starttls = collect_replies(store, plain, now=now + timedelta(days=8))
    assert (via_starttls.fetched, via_starttls.added) == (6, 0)

    # No second inquiry to anyone already asked, answered or not.
    assert list(plan_inquiries(store, inquiry_config)) == []

    # The password never lands in results, logs or the database.
    assert SMTP_PASSWORD not in summary and SMTP_PASSWORD not in caplog.text
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert SMTP_PASSWORD.encode() not in (tmp_path / "audit.sqlite").read_bytes()
    # Postfix saw a TLS-protected, authenticated submission session.
    log = relay.maillog.read_text(errors="replace")
    assert "sasl_method=PLAIN" in log and f"sasl_username={SHOPPER}" in log


def test_implicit_tls_sends_with_the_right_password_and_refuses_a_wrong_one(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITOR_TEST_WRONG_PASSWORD", "not-the-password")
    store = SqliteStore(tmp_path / "audit.sqlite")
    store.start_run({}, "test")
    company = Company(1, "TLS Check AG", "https://www.tls.test", "CH")
    store.register_companies([company])
    store.save_company(CompanyResult(company, contacts=(_email(TLS_CHECK),)))
    inquiry_config, starttls, _ = _configs(stack)
    right = dataclasses.replace(starttls, port=stack.relay.smtps_port, security="tls")
    plan = plan_inquiries(store, inquiry_config)
    report = send_inquiries(plan, right, confirm=lambda _: True, rate_per_minute=600, store=store,
                            sleep=lambda _: None)
    assert report.error is None and [i.company_name for i in report.sent] == ["TLS Check AG"]
    _wait(lambda: stack.dv.count(TLS_CHECK) == 1, "the inquiry sent over implicit TLS", stack.relay)
    delivered = _delivered(stack.dv, TLS_CHECK)
    assert delivered["Message-ID"] == plan[0].message_id and plan[0].language == "de"

    # A wrong password stops the run at login: nothing is recorded or sent (forced past the guard).
    wrong = dataclasses.replace(right, password_env="AUDITOR_TEST_WRONG_PASSWORD")
    report = send_inquiries(plan, wrong, confirm=lambda _: True, rate_per_minute=600, store=store,
                            sleep=lambda _: None, force=True)
    assert report.error and "login" in report.error and "not-the-password" not in report.error
    assert report.sent == [] and len(InquiryStore.of(store).inquiries()) == 1
    assert [(s.company_name, s.reason) for s in report.skipped] == [("TLS Check AG", "run-stopped")]
