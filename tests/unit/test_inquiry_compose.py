"""Composing, planning and sending inquiries without a mail server.

Every language's template renders a short, polite question with the token in
the subject and header, a unique Message-ID and no personal data; the plan
picks one customer-service address per company and never asks a company twice;
sending asks for confirmation, keeps the rate and records what happened.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.config import ConfigError
from auditor.models import Company, CompanyResult, ContactPoint, Verdict
from auditor.probes.inquiries import (
    InquiryConfig,
    InquiryStore,
    SubmissionConfig,
    parse_config,
    plan_inquiries,
    responsiveness,
    send_inquiries,
)
from auditor.probes.inquiries import send as send_module
from auditor.probes.inquiries.classify import TOKEN_RE, parse_message
from auditor.probes.inquiries.compose import (
    SUBJECT_MAX,
    TOKEN_HEADER,
    ascii_address,
    build_message,
    make_message_id,
    new_token,
    pick_language,
    render,
    subject_with_token,
)
from auditor.probes.inquiries.config import LANGUAGES, TOPICS, load_config
from auditor.probes.inquiries.send import pick_address
from auditor.store.sqlite import SqliteStore

FROM = "mystery.shopper@auditor.example"
CONFIG = InquiryConfig(from_address=FROM, sender_name="Anna Weber")


# ---------------------------------------------------------------------------
# Compose
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_a_short_clean_inquiry(language: str, topic: str) -> None:
    subject, body = render(topic, language, "Anna Weber", "Acme & Söhne GmbH")
    token = new_token()
    full = subject_with_token(subject, token)
    mid = make_message_id(token, FROM)
    msg = build_message(from_address=FROM, sender_name="Anna Weber", to="info@acme.example",
                        subject=full, body=body, message_id=mid, token=token)
    raw = msg.as_bytes()
    assert raw.isascii()  # 7-bit: no server needs 8BITMIME or SMTPUTF8 for it
    parsed = parse_message(raw)
    assert str(parsed["Subject"]) == full and len(full) <= SUBJECT_MAX
    assert full.endswith(f" [ref: {token}]") and TOKEN_RE.search(full).group(1) == token  # type: ignore[union-attr]
    assert parsed[TOKEN_HEADER] == token and parsed["Message-ID"] == mid
    text = parsed.get_content()
    assert text.strip().endswith("Anna Weber")
    assert 80 < len(text) < 600 and text.count("?") >= 1  # short, and it asks something
    # No personal data: no addresses, numbers or names other than the configured signature.
    assert "@" not in text and not re.search(r"\d{3,}", text)
    assert "Acme" not in text and "{{" not in text and "}}" not in text


def test_tokens_and_message_ids_are_unique_and_on_the_senders_domain() -> None:
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000 and all(re.fullmatch(r"[a-z2-9]{8}", t) for t in tokens)
    ids = {make_message_id("abcdefgh", FROM) for _ in range(2000)}
    assert len(ids) == 2000 and all(i.startswith("<") and i.endswith("@auditor.example>") for i in ids)


def test_long_subjects_are_shortened_to_keep_the_token() -> None:
    full = subject_with_token("A very long subject " * 10, "abcdefgh")
    assert len(full) == SUBJECT_MAX and full.endswith("… [ref: abcdefgh]")


@pytest.mark.parametrize(("company", "expected"), [
    (Company(1, "A", "https://a.example", "DE"), "de"),
    (Company(1, "A", "https://a.example", "AT"), "de"),
    (Company(1, "A", "https://a.example", "HU", language="en"), "en"),
    (Company(1, "A", "https://a.example", "PL", language="pl-PL"), "pl"),
    (Company(1, "A", "https://a.example", "TR"), "tr"),
    (Company(1, "A", "https://a.example", "RU"), "ru"),
    (Company(1, "A", "https://a.example", "FR"), "en"),
    (Company(1, "A", "https://a.example", None), "en"),
])
def test_language_from_company_then_country(company: Company, expected: str) -> None:
    assert pick_language(company, CONFIG) == expected
    forced = InquiryConfig(from_address=FROM, sender_name="A", language="hu")
    assert pick_language(company, forced) == "hu"


def test_ascii_addresses() -> None:
    assert ascii_address("info@bücher.example") == "info@xn--bcher-kva.example"
    assert ascii_address("INFO@Firma.Example") == "INFO@firma.example"
    assert ascii_address("müller@firma.example") is None


# ---------------------------------------------------------------------------
# Choosing the address
# ---------------------------------------------------------------------------


def cp(value: str, label: str | None = None, klass: str = "role", same_site: bool = True,
       confidence: float = 0.9) -> ContactPoint:
    return ContactPoint("email", value, value, label, "mailto", "https://firma.example/kontakt", "",
                        confidence, {"address_class": klass, "same_site": same_site})


@pytest.mark.parametrize(("contacts", "expected"), [
    ([cp("sales@f.example", "sales"), cp("info@f.example"), cp("kundenservice@f.example", "customer-service")],
     "kundenservice@f.example"),
    ([cp("info@f.example"), cp("support@f.example", "support")], "support@f.example"),
    ([cp("shop24@f.example"), cp("info@f.example")], "info@f.example"),
    ([cp("anna.nowak@f.example", klass="personal"), cp("sales@f.example", "sales")], "sales@f.example"),
    ([cp("info@other.example", same_site=False), cp("office@f.example")], "office@f.example"),
    ([cp("noreply@f.example"), cp("press@f.example", "press"), cp("jobs@f.example", "jobs")], None),
])
def test_pick_address(contacts: list[ContactPoint], expected: str | None) -> None:
    found, _ = pick_address(contacts, {}, CONFIG)
    assert (found.value if found else None) == expected


def test_pick_address_skips_inactive_and_personal_unless_configured() -> None:
    dead = {("email", "info@f.example"): Verdict("email", "info@f.example", "inactive", "no-such-mailbox")}
    assert pick_address([cp("info@f.example")], dead, CONFIG) == (None, "only-inactive")
    loose = InquiryConfig(from_address=FROM, sender_name="A", include_inactive=True, include_personal=True)
    assert pick_address([cp("info@f.example")], dead, loose)[0] is not None
    person = [cp("jan.kowalski@f.example", klass="personal")]
    assert pick_address(person, {}, CONFIG) == (None, "only-personal")
    assert pick_address(person, {}, loose)[0] is not None
    assert pick_address([], {}, CONFIG) == (None, "no-email")


# ---------------------------------------------------------------------------
# Planning and sending (the SMTP session is replaced)
# ---------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "audit.sqlite")
    s.start_run({}, "test")
    companies = [
        (Company(1, "Alpha GmbH", "https://alpha.example", "DE", "retail"), [cp("info@alpha.example")]),
        (Company(2, "Beta Kft.", "https://beta.example", "HU"), [cp("ugyfelszolgalat@beta.example",
                                                                     "customer-service")]),
        (Company(3, "Gamma", "https://gamma.example", "PL"), []),
    ]
    s.register_companies(c for c, _ in companies)
    for c, contacts in companies:
        s.save_company(CompanyResult(c, contacts=tuple(contacts)))
    yield s
    s.close()


class FakeSession:
    """Stands in for the SMTP connection: records what would be sent and answers like Postfix."""

    sent: list[tuple[str, str, bytes]] = []
    refuse: set[str] = set()
    lost: set[str] = set()

    def __init__(self, config: SubmissionConfig) -> None:
        self.config = config

    def open(self) -> None:
        pass

    def send(self, sender: str, to: str, data: bytes) -> tuple[int, str]:
        if to in self.lost:
            raise send_module.DeliveryUnknown("connection lost during DATA, delivery unknown")
        if to in self.refuse:
            return 550, f"5.1.1 <{to}>: Recipient address rejected: User unknown"
        FakeSession.sent.append((sender, to, data))
        return 250, f"2.0.0 Ok: queued as Q{len(FakeSession.sent)}"

    def close(self) -> None:
        pass


@pytest.fixture
def fake_smtp(monkeypatch: pytest.MonkeyPatch) -> type[FakeSession]:
    FakeSession.sent = []
    FakeSession.refuse = set()
    FakeSession.lost = set()
    monkeypatch.setattr(send_module, "_Session", FakeSession)
    return FakeSession


SUBMISSION = SubmissionConfig(host="127.0.0.1", port=2525, security="none")


def test_plan_one_inquiry_per_company(store: SqliteStore) -> None:
    config = InquiryConfig(from_address=FROM, sender_name="Anna Weber", topics_by_industry={"retail": "delivery"})
    plan = plan_inquiries(store, config)
    assert [(p.company.name, p.address, p.language, p.topic) for p in plan] == [
        ("Alpha GmbH", "info@alpha.example", "de", "delivery"),
        ("Beta Kft.", "ugyfelszolgalat@beta.example", "hu", "hours"),
    ]
    assert [(s.company_name, s.reason) for s in plan.skipped] == [("Gamma", "no-email")]
    assert len({p.token for p in plan}) == 2 and len({p.message_id for p in plan}) == 2


def test_dry_run_and_refusal_send_nothing(store: SqliteStore, fake_smtp: type[FakeSession]) -> None:
    plan = plan_inquiries(store, CONFIG)
    dry = send_inquiries(plan, SUBMISSION, confirm=lambda _: pytest.fail("dry run asked"), dry_run=True,
                         store=store)
    assert [i.status for i in dry.items] == ["dry-run", "dry-run"] and "would send 2" in dry.summary()
    shown: list[str] = []
    no = send_inquiries(plan, SUBMISSION, confirm=lambda text: bool(shown.append(text)), store=store)
    assert not no.confirmed and no.sent == [] and fake_smtp.sent == []
    assert "About to send 2 inquiries to 2 companies via 127.0.0.1:2525 (none)" in shown[0]
    assert "Alpha GmbH <info@alpha.example> [de]" in shown[0]
    assert InquiryStore.of(store).inquiries() == []


def test_send_records_everything_and_keeps_the_rate(store: SqliteStore, fake_smtp: type[FakeSession]) -> None:
    plan = plan_inquiries(store, CONFIG)
    doubled = [plan[0], plan[0], plan[1]]  # the same company twice in one run
    now = [100.0]
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        now[0] += seconds

    report = send_inquiries(doubled, SUBMISSION, confirm=lambda _: True, rate_per_minute=2, store=store,
                            sleep=sleep, clock=lambda: now[0])
    assert [i.company_name for i in report.sent] == ["Alpha GmbH", "Beta Kft."]
    assert [(s.company_name, s.reason) for s in report.skipped] == [("Alpha GmbH", "duplicate")]
    assert naps == [30.0]  # 2 per minute
    rows = InquiryStore.of(store).inquiries()
    assert [(r["status"], r["smtp_code"], r["smtp_reply"]) for r in rows] == [
        ("pending", 250, "2.0.0 Ok: queued as Q1"), ("pending", 250, "2.0.0 Ok: queued as Q2")]
    assert all(datetime.fromisoformat(r["sent_at"]).tzinfo == UTC for r in rows)
    sender, to, data = fake_smtp.sent[0]
    assert (sender, to) == (FROM, "info@alpha.example")
    assert plan[0].message_id.encode() in data and plan[0].token.encode() in data
    assert all(p.message_id in report.summary() for p in plan)
    assert responsiveness(store)[plan[0].company.key]["status"] == "pending"

    # A second run asks nobody again, a new audit run keeps the inquiries, force overrides.
    assert list(plan_inquiries(store, CONFIG)) == []
    again = send_inquiries(plan, SUBMISSION, confirm=lambda _: pytest.fail("asked"), store=store)
    assert {s.reason for s in again.skipped} == {"unanswered-inquiry"} and again.sent == []
    forced = InquiryConfig(from_address=FROM, sender_name="Anna Weber", force=True)
    assert [p.company.name for p in plan_inquiries(store, forced)] == ["Alpha GmbH", "Beta Kft."]
    store.start_run({}, "test")  # a new audit run clears companies, not inquiries
    assert len(InquiryStore.of(store).inquiries()) == 2


def test_refused_recipient_is_recorded_and_may_be_retried(
    store: SqliteStore, fake_smtp: type[FakeSession]
) -> None:
    fake_smtp.refuse = {"info@alpha.example"}
    report = send_inquiries(plan_inquiries(store, CONFIG), SUBMISSION, confirm=lambda _: True,
                            rate_per_minute=600, store=store, sleep=lambda _: None)
    assert [(i.company_name, i.status, i.smtp_code) for i in report.items] == [
        ("Alpha GmbH", "failed", 550), ("Beta Kft.", "sent", 250)]
    rows = {r["company_name"]: r for r in InquiryStore.of(store).inquiries()}
    assert rows["Alpha GmbH"]["status"] == "send-failed" and "User unknown" in rows["Alpha GmbH"]["smtp_reply"]
    assert [p.company.name for p in plan_inquiries(store, CONFIG)] == ["Alpha GmbH"]


def test_a_connection_lost_during_data_stops_the_run_and_never_mails_twice(
    store: SqliteStore, fake_smtp: type[FakeSession]
) -> None:
    fake_smtp.lost = {"info@alpha.example"}
    report = send_inquiries(plan_inquiries(store, CONFIG), SUBMISSION, confirm=lambda _: True,
                            rate_per_minute=600, store=store, sleep=lambda _: None)
    assert report.error and "delivery unknown" in report.error
    assert [(i.company_name, i.status) for i in report.items] == [("Alpha GmbH", "unknown")]
    assert "unknown  Alpha GmbH" in report.summary()
    assert [(s.company_name, s.reason) for s in report.skipped] == [("Beta Kft.", "run-stopped")]
    rows = InquiryStore.of(store).inquiries()
    assert [(r["company_name"], r["status"]) for r in rows] == [("Alpha GmbH", "sending")]
    plan = plan_inquiries(store, CONFIG)
    assert [p.company.name for p in plan] == ["Beta Kft."]
    assert ("Alpha GmbH", "unanswered-inquiry") in [(s.company_name, s.reason) for s in plan.skipped]


class FlakySmtp:
    """An smtplib.SMTP stand-in whose connection drops at a chosen command."""

    def __init__(self, drop_at: str) -> None:
        self.drop_at = drop_at
        self.calls: list[str] = []

    def _step(self, name: str) -> tuple[int, bytes]:
        self.calls.append(name)
        if name == self.drop_at:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return (250, b"2.0.0 Ok: queued as X") if name == "data" else (250, b"Ok")

    def noop(self) -> tuple[int, bytes]:
        return self._step("noop")

    def mail(self, sender: str) -> tuple[int, bytes]:
        return self._step("mail")

    def rcpt(self, to: str) -> tuple[int, bytes]:
        return self._step("rcpt")

    def data(self, data: bytes) -> tuple[int, bytes]:
        return self._step("data")

    def rset(self) -> tuple[int, bytes]:
        return self._step("rset")


def test_session_reopens_idle_connections_but_never_retries_a_transaction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fresh = FlakySmtp(drop_at="")
    session = send_module._Session(SUBMISSION)
    monkeypatch.setattr(session, "open", lambda: setattr(session, "smtp", fresh) or fresh)
    session.smtp = FlakySmtp(drop_at="noop")  # dropped while idle: reconnect, then send
    assert session.send(FROM, "a@b.example", b"x") == (250, "2.0.0 Ok: queued as X")
    assert fresh.calls == ["mail", "rcpt", "data"]
    session.smtp = FlakySmtp(drop_at="data")
    with pytest.raises(send_module.DeliveryUnknown):
        session.send(FROM, "a@b.example", b"x")
    assert session.smtp is None
    session.smtp = FlakySmtp(drop_at="rcpt")
    with pytest.raises(send_module.SubmissionError, match="before DATA"):
        session.send(FROM, "a@b.example", b"x")


def test_store_tables_are_created_once_and_shared(tmp_path: Path, store: SqliteStore) -> None:
    InquiryStore.of(store)
    InquiryStore.of(store)
    other = InquiryStore.of(tmp_path)  # the directory: DIR/audit.sqlite
    assert other.inquiries() == [] and responsiveness(tmp_path) == {}


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------

EXAMPLE = """
[inquiries]
from = "mystery.shopper@your-institute.example"
sender_name = "Anna Weber"
topic = "hours"
rate_per_minute = 6
cutoff_days = 7

[inquiries.topics_by_industry]
retail = "delivery"

[inquiries.submission]
host = "smtp.your-institute.example"
port = 587
security = "starttls"
user = "mystery.shopper@your-institute.example"
password_env = "AUDITOR_SMTP_PASSWORD"

[inquiries.imap]
host = "imap.your-institute.example"
port = 993
tls = true
user = "mystery.shopper@your-institute.example"
folder = "INBOX"
password_file = "~/.config/auditor/imap-password"
"""


def test_config_example_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "probe.toml"
    path.write_text(EXAMPLE)
    cfg = load_config(path)
    assert cfg.inquiry.sender_name == "Anna Weber" and cfg.inquiry.topics_by_industry == {"retail": "delivery"}
    assert cfg.submission and cfg.submission.security == "starttls" and cfg.submission.port == 587
    assert cfg.imap and cfg.imap.folder == "INBOX" and cfg.imap.tls
    monkeypatch.setenv("AUDITOR_SMTP_PASSWORD", "hunter2")
    assert cfg.submission.password() == "hunter2"
    assert "hunter2" not in repr(cfg) and "hunter2" not in cfg.submission.describe()
    monkeypatch.delenv("AUDITOR_SMTP_PASSWORD")
    with pytest.raises(ConfigError, match="AUDITOR_SMTP_PASSWORD"):
        cfg.submission.password()


@pytest.mark.parametrize(("patch", "message"), [
    ({"security": "ssl"}, "security"),
    ({"security": "none"}, "unencrypted"),
    ({"password_env": None}, "password"),
    ({"bogus": 1}, "unknown key"),
])
def test_config_errors(patch: dict[str, Any], message: str) -> None:
    import tomllib

    data = tomllib.loads(EXAMPLE)
    data["inquiries"]["submission"].update(patch)
    data["inquiries"]["submission"] = {k: v for k, v in data["inquiries"]["submission"].items() if v is not None}
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_plaintext_login_only_on_loopback() -> None:
    SubmissionConfig(host="127.0.0.1", port=25, security="none", user="u", password_env="X")
    with pytest.raises(ConfigError):
        SubmissionConfig(host="smtp.example", port=25, security="none", user="u", password_env="X")


def test_user_templates_override_and_add_languages(tmp_path: Path) -> None:
    from auditor.probes.inquiries.compose import render

    (tmp_path / "hours.en.j2").write_text("Subject: Opening hours?\nHello,\nwhen are you open?\n{{ sender_name }}\n")
    (tmp_path / "hours.fi.j2").write_text("Subject: Aukioloajat?\nHei,\nmilloin olette auki?\n{{ sender_name }}\n")
    assert render("hours", "en", "Anna", "", str(tmp_path))[0] == "Opening hours?"
    subject, body = render("hours", "fi", "Anna", "", str(tmp_path))
    assert subject == "Aukioloajat?" and "Anna" in body
    assert render("hours", "de", "Anna", "", str(tmp_path))[0]  # packaged template still there


def test_at_most_one_inquiry_per_company_per_interval_across_waves(
        store: SqliteStore, fake_smtp: type[FakeSession]) -> None:
    from datetime import timedelta

    from auditor.store import waves as store_waves

    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def send(at: datetime, config: InquiryConfig = CONFIG) -> list[str]:
        plan = plan_inquiries(store, config, now=at)
        report = send_inquiries(list(plan), SUBMISSION, confirm=lambda _: True, rate_per_minute=600, store=store,
                                sleep=lambda _: None, utcnow=lambda: at, interval_days=config.interval_days)
        return [i.company_name for i in report.sent]

    assert send(t0) == ["Alpha GmbH", "Beta Kft."]
    istore = InquiryStore.of(store)
    istore.db.execute("UPDATE inquiries SET status = 'no-reply', final = 1")  # the cutoff passed, nobody answered
    # a new wave harvests the same companies again: the inquiries stay, nobody is asked again
    engine = store.engine  # type: ignore[attr-defined]
    number = store_waves.begin_wave(engine, {})
    for result in [CompanyResult(Company(1, "Alpha GmbH", "https://alpha.example", "DE"),
                                 contacts=(cp("info@alpha.example"),)),
                   CompanyResult(Company(2, "Beta Kft.", "https://beta.example", "HU"),
                                 contacts=(cp("ugyfelszolgalat@beta.example", "customer-service"),))]:
        store.save_company(result)
    store_waves.finish_wave(engine, number)
    assert send(t0 + timedelta(days=30)) == []
    skipped = plan_inquiries(store, CONFIG, now=t0 + timedelta(days=89, hours=23)).skipped
    assert {(s.company_name, s.reason) for s in skipped} >= {("Alpha GmbH", "unanswered-inquiry"),
                                                            ("Beta Kft.", "unanswered-inquiry")}
    # the interval (90 days by default) has passed: each company may be asked once more
    assert send(t0 + timedelta(days=90, minutes=1)) == ["Alpha GmbH", "Beta Kft."]
    assert send(t0 + timedelta(days=91)) == []
    assert len(istore.inquiries()) == 4


def test_the_interval_is_configurable_and_an_open_inquiry_still_blocks(
        store: SqliteStore, fake_smtp: type[FakeSession], tmp_path: Path) -> None:
    from datetime import timedelta

    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    short = InquiryConfig(from_address=FROM, sender_name="Anna Weber", interval_days=3)
    plan = plan_inquiries(store, short, now=t0)
    send_inquiries(list(plan), SUBMISSION, confirm=lambda _: True, rate_per_minute=600, store=store,
                   sleep=lambda _: None, utcnow=lambda: t0, interval_days=3)
    InquiryStore.of(store).db.execute(
        "UPDATE inquiries SET status = 'human-reply', final = 1 WHERE company_name = 'Alpha GmbH'")
    later = plan_inquiries(store, short, now=t0 + timedelta(days=4))
    # Alpha answered and 3 days passed; Beta's inquiry is still waiting for replies (before its cutoff)
    assert [p.company.name for p in later] == ["Alpha GmbH"]
    assert ("Beta Kft.", "unanswered-inquiry") in [(s.company_name, s.reason) for s in later.skipped]
    config = tmp_path / "probes.toml"
    config.write_text('[inquiries]\nfrom = "a@b.example"\nsender_name = "A"\ninterval_days = 30\n', encoding="utf-8")
    assert load_config(config).inquiry.interval_days == 30
    config.write_text('[inquiries]\nfrom = "a@b.example"\nsender_name = "A"\ninterval_days = -1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="interval_days"):
        load_config(config)


def test_the_interval_flag_of_inquiries_send(store: SqliteStore, fake_smtp: type[FakeSession], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from auditor.cli import main

    send_inquiries(list(plan_inquiries(store, CONFIG)), SUBMISSION, confirm=lambda _: True, rate_per_minute=600,
                   store=store, sleep=lambda _: None)
    config = tmp_path / "probes.toml"
    config.write_text('[inquiries]\nfrom = "a@b.example"\nsender_name = "A"\n'
                      '[inquiries.submission]\nhost = "127.0.0.1"\nport = 2525\nsecurity = "none"\n', encoding="utf-8")
    args = ["inquiries", "send", str(tmp_path), "--config", str(config), "--dry-run"]
    assert main(args) == 0
    assert "would send 0" in capsys.readouterr().out
    InquiryStore.of(store).db.execute("UPDATE inquiries SET status = 'no-reply', final = 1")
    assert main([*args, "--interval-days", "0"]) == 0
    assert "would send 2" in capsys.readouterr().out
