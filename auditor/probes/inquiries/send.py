"""Plan and send the inquiries: one per company, after a confirmation, at a limited rate.

Sending uses the standard library's :mod:`smtplib` on one connection: the run
is strictly sequential and rate-limited, so an async client would buy nothing,
and ``smtplib`` exposes each command's reply (RCPT and the final DATA answer,
``250 2.0.0 Ok: queued as ...``), which is recorded as evidence.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from auditor import reasons
from auditor.extract.emails import classify_address
from auditor.models import Company, ContactPoint, Verdict
from auditor.probes.inquiries.compose import (
    ascii_address,
    build_message,
    make_message_id,
    new_token,
    pick_language,
    pick_topic,
    render,
    subject_with_token,
)
from auditor.probes.inquiries.config import (
    INTERVAL_DAYS,
    RATE_PER_MINUTE,
    InquiryConfig,
    SubmissionConfig,
)
from auditor.probes.inquiries.store import UNANSWERED, InquiryStore, iso, parse_iso
from auditor.store.base import InquiryTables, Store

log = logging.getLogger(__name__)

# Label order for the customer-service address: who answers a customer's question.
LABEL_RANK = {"customer-service": 0, "support": 1, None: 2, "sales": 3, "billing": 4}
EXCLUDED_LABELS = frozenset({"jobs", "press", "privacy", "fax"})
EXCLUDED_LOCALS = frozenset({
    "noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "postmaster", "hostmaster",
    "webmaster", "abuse", "mailer-daemon", "root", "admin", "administrator", "security", "newsletter",
    "unsubscribe", "bounce", "bounces", "dpo", "gdpr", "privacy",
})  # fmt: skip
GENERIC_LOCALS = frozenset({"info", "office", "contact", "kontakt", "hello", "mail", "post", "biuro",
                            "iletisim", "kapcsolat", "iroda", "enquiries", "inquiries", "service"})


@dataclass(frozen=True)
class Planned:
    """One inquiry ready to send: the company, the chosen address and the exact text."""

    company: Company
    address: str
    language: str
    subject: str
    body: str
    topic: str
    token: str
    message_id: str
    from_address: str
    sender_name: str


@dataclass(frozen=True)
class Skipped:
    company_key: str
    company_name: str
    reason: str  # no-email | only-personal | only-inactive | unanswered-inquiry | duplicate | ...


class Plan(list[Planned]):
    """The planned inquiries (a list) with the companies left out and why."""

    def __init__(self, items: Iterable[Planned] = (), skipped: Iterable[Skipped] = ()) -> None:
        super().__init__(items)
        self.skipped: list[Skipped] = list(skipped)


def _rank(cp: ContactPoint, verdict: Verdict | None, config: InquiryConfig) -> tuple[Any, ...] | str:
    """Sort key of a candidate address, or the reason it is not a candidate."""
    local = cp.value.rpartition("@")[0].split("+", 1)[0].lower()
    if local in EXCLUDED_LOCALS or cp.label in EXCLUDED_LABELS:
        return "not-customer-facing"
    if ascii_address(cp.value) is None:
        return "non-ascii-address"
    inactive = verdict is not None and verdict.verdict == "inactive"
    if inactive and not config.include_inactive:
        return "only-inactive"
    klass = cp.details.get("address_class") or classify_address(cp.value)
    personal = klass == "personal"
    if personal and not config.include_personal:
        return "only-personal"
    label_rank: float = LABEL_RANK.get(cp.label, 5)
    if cp.label is None and local not in GENERIC_LOCALS:
        label_rank = 2.5  # an unlabelled role box that is not the generic info/office one
    return (
        inactive,
        personal,
        label_rank,
        not cp.details.get("same_site", True),
        -cp.confidence,
        cp.value,
    )


def pick_address(
    contacts: Iterable[ContactPoint], verdicts: Mapping[tuple[str, str], Verdict], config: InquiryConfig
) -> tuple[ContactPoint | None, str]:
    """The best customer-service address (role: customer-service, support, info first).

    Returns (contact point, "") or (None, the reason there is none). Personal
    mailboxes and addresses already found inactive are left out unless configured.
    """
    best: tuple[tuple[Any, ...], ContactPoint] | None = None
    refusals: list[str] = []
    for cp in contacts:
        if cp.kind != "email":
            continue
        key = _rank(cp, verdicts.get(("email", cp.value)), config)
        if isinstance(key, str):
            refusals.append(key)
        elif best is None or key < best[0]:
            best = (key, cp)
    if best:
        return best[1], ""
    for reason in ("only-inactive", "only-personal", "non-ascii-address", "not-customer-facing"):
        if reason in refusals:
            return None, reason
    return None, "no-email"


def recently_asked(rows: Iterable[Mapping[str, Any]], now: datetime, interval_days: float) -> dict[str, str]:
    """Companies that may not be asked now: key -> ``unanswered-inquiry`` or ``already-answered``.

    ``rows`` are every inquiry the store holds (across waves and runs). A
    company is left alone while an inquiry to it was sent (or may have been:
    ``sending``) less than ``interval_days`` ago, and while one still waits for
    replies (``pending``, before its cutoff). A failed send does not count.
    """
    horizon = now - timedelta(days=interval_days)
    out: dict[str, str] = {}
    for r in rows:
        if r["status"] == "send-failed":
            continue
        at = parse_iso(r["sent_at"] or r["created_at"])
        waiting = r["status"] == "pending" and not r["final"]
        if waiting or at is None or at > horizon:
            reason = reasons.UNANSWERED_INQUIRY if r["status"] in UNANSWERED else reasons.ALREADY_ANSWERED
            if reason == reasons.UNANSWERED_INQUIRY or r["company_key"] not in out:
                out[r["company_key"]] = reason
    return out


def plan_inquiries(store: Store, config: InquiryConfig, now: datetime | None = None) -> Plan:
    """One inquiry per company with a usable address, not asked recently (unless ``config.force``).

    A company asked less than ``config.interval_days`` ago (in any wave or
    run), or whose inquiry still waits for replies, is not asked again without
    ``force``, so running ``send`` twice, or once per wave, mails nobody twice.
    """
    istore = InquiryStore.of(store)
    asked = recently_asked(istore.inquiries(), now or datetime.now(UTC), config.interval_days)
    planned: list[Planned] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for result in store.results():
        c = result.company
        if c.key in seen:
            skipped.append(Skipped(c.key, c.name, "duplicate"))
            continue
        seen.add(c.key)
        if c.key in asked and not config.force:
            skipped.append(Skipped(c.key, c.name, asked[c.key]))
            continue
        cp, reason = pick_address(result.contacts, store.verdicts(c.key), config)
        if cp is None:
            skipped.append(Skipped(c.key, c.name, reason))
            continue
        language = pick_language(c, config)
        topic = pick_topic(c, config)
        subject, body = render(topic, language, config.sender_name, c.name, config.templates_dir)
        token = new_token()
        planned.append(Planned(
            company=c, address=ascii_address(cp.value) or cp.value, language=language,
            subject=subject_with_token(subject, token), body=body, topic=topic, token=token,
            message_id=make_message_id(token, config.from_address), from_address=config.from_address,
            sender_name=config.sender_name,
        ))
    return Plan(planned, skipped)


# ---------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SentItem:
    """One line of the run summary: what was sent (or not) to whom, and the server's answer."""

    company_key: str
    company_name: str
    address: str
    subject: str
    message_id: str
    token: str
    status: str  # sent | failed | unknown (connection lost during DATA) | dry-run
    sent_at: str | None = None
    smtp_code: int | None = None
    smtp_reply: str = ""


@dataclass
class SendReport:
    """What a send run did. ``error`` is set when the run stopped early (login, connection)."""

    dry_run: bool
    confirmed: bool
    items: list[SentItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    error: str | None = None

    @property
    def sent(self) -> list[SentItem]:
        return [i for i in self.items if i.status == "sent"]

    @property
    def failed(self) -> list[SentItem]:
        return [i for i in self.items if i.status == "failed"]

    def summary(self) -> str:
        """Every message sent or attempted, one per line, then the totals."""
        lines = [
            f"{i.status:8} {i.company_name} <{i.address}> {i.subject}"
            + (f"  [{i.smtp_code} {i.smtp_reply}]" if i.smtp_code else "")
            + (f"  {i.message_id}" if i.status == "sent" else "")
            for i in self.items
        ]
        lines += [f"skipped  {s.company_name}: {s.reason}" for s in self.skipped]
        verb = "would send" if self.dry_run else "sent"
        lines.append(f"{verb} {len(self.sent) if not self.dry_run else len(self.items)},"
                     f" failed {len(self.failed)}, skipped {len(self.skipped)}"
                     + (f"; stopped: {self.error}" if self.error else ""))
        return "\n".join(lines)


def confirmation_text(planned: list[Planned], config: SubmissionConfig, rate_per_minute: float) -> str:
    """The human summary shown before anything is sent."""
    companies = len({p.company.key for p in planned})
    minutes = max(len(planned) - 1, 0) / rate_per_minute
    head = (f"About to send {len(planned)} inquir{'y' if len(planned) == 1 else 'ies'} to {companies}"
            f" compan{'y' if companies == 1 else 'ies'} via {config.describe()},"
            f" at most {rate_per_minute:g} per minute (about {minutes:.0f} min).")
    if planned:
        head += f"\nFrom: {planned[0].sender_name} <{planned[0].from_address}>"
    lines = [f"  {p.company.name} <{p.address}> [{p.language}] {p.subject}" for p in planned]
    return "\n".join([head, *lines])


class SubmissionError(RuntimeError):
    """The submission server could not be used at all (connect, TLS, login, sender refused)."""


class DeliveryUnknown(SubmissionError):
    """The connection broke after DATA began: the message may or may not have been accepted."""


class _Session:
    """One SMTP connection to the submission server, reopened when it dropped while idle."""

    def __init__(self, config: SubmissionConfig) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.config.ca_file)

    def open(self) -> smtplib.SMTP:
        c = self.config
        local = c.helo or socket.getfqdn()
        smtp: smtplib.SMTP | None = None
        try:
            if c.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    c.host, c.port, local_hostname=local, timeout=c.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(c.host, c.port, local_hostname=local, timeout=c.timeout)
            smtp.ehlo()
            if c.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise SubmissionError(f"{c.host}:{c.port} does not offer STARTTLS")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if c.user:
                _login(smtp, c.user, c.password() or "")
        except BaseException as exc:
            if smtp is not None:
                smtp.close()
            explained = self._explain(exc)
            if explained is exc:
                raise
            raise explained from exc
        self.smtp = smtp
        return smtp

    def _explain(self, exc: BaseException) -> BaseException:
        """A SubmissionError saying what went wrong, without credentials."""
        c = self.config
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return SubmissionError(f"login as {c.user} refused: {exc.smtp_code} {_text(exc.smtp_error)}")
        if isinstance(exc, UnicodeError):  # smtplib encodes credentials as ASCII
            return SubmissionError("the submission user name and password must be ASCII")
        if isinstance(exc, OSError | smtplib.SMTPException):
            return SubmissionError(f"cannot use {c.describe()}: {exc}")
        return exc

    def send(self, sender: str, to: str, data: bytes) -> tuple[int, str]:
        """(code, reply) of the transaction: RCPT's on refusal, else DATA's final answer.

        A connection the server dropped while idle is reopened first (NOOP
        probe); a transaction is never retried, since a drop after DATA may
        follow a delivery, and sending twice is worse than not knowing.
        """
        smtp = self.smtp or self.open()
        try:
            smtp.noop()
        except (OSError, smtplib.SMTPServerDisconnected):
            self.smtp = None
            smtp = self.open()
        try:
            code, resp = smtp.mail(sender)
            if code != 250:
                smtp.rset()
                raise SubmissionError(f"sender {sender} refused: {code} {_text(resp)}")
            code, resp = smtp.rcpt(to)
            if code not in (250, 251):
                smtp.rset()
                return code, _text(resp)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.smtp = None
            raise SubmissionError(f"connection lost before DATA: {exc}") from exc
        try:
            code, resp = smtp.data(data)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.smtp = None
            raise DeliveryUnknown(f"connection lost during DATA, delivery unknown: {exc}") from exc
        return code, _text(resp)

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """Log in with one mechanism (PLAIN, else LOGIN), never trying the password several ways.

    ``smtplib.SMTP.login`` retries every mechanism after a refusal: with a wrong
    password that is several failures per run, which lock accounts and trip
    brute-force guards at real providers.
    """
    offered = (smtp.esmtp_features.get("auth") or "").upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
    if mechanism is None:
        raise SubmissionError(f"the server offers no PLAIN or LOGIN authentication (offers: {offered})")
    smtp.user, smtp.password = user, password
    smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"))  # raises when refused


def _text(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
    return " ".join(text.split())[:500]


def send_inquiries(
    planned: list[Planned],
    submission_config: SubmissionConfig,
    *,
    confirm: Callable[[str], bool],
    rate_per_minute: float = RATE_PER_MINUTE,
    dry_run: bool = False,
    store: Store | InquiryTables | None = None,
    force: bool = False,
    interval_days: float = INTERVAL_DAYS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    utcnow: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SendReport:
    """Send the planned inquiries after ``confirm(summary)`` says yes.

    Never more than one per company per run, and none to a company asked less
    than ``interval_days`` ago (see :func:`plan_inquiries`) unless ``force``. Each inquiry is
    recorded before its SMTP transaction and updated with the sent time (UTC)
    and the server's reply after it. ``dry_run`` shows the plan and sends nothing.
    ``sleep``, ``clock`` and ``utcnow`` are the rate limiter's and the
    timestamps' clocks (tests replace them).
    """
    if rate_per_minute <= 0:
        raise ValueError("rate_per_minute must be > 0")
    istore = InquiryStore.of(store) if store is not None else None
    if istore is None and not dry_run:
        raise ValueError("send_inquiries needs the audit store to record what it sends")
    asked = recently_asked(istore.inquiries(), utcnow(), interval_days) if istore and not force else {}
    todo, skipped = _one_per_company(planned, asked)
    report = SendReport(dry_run=dry_run, confirmed=False, skipped=skipped)
    if not todo:
        return report
    if dry_run:
        report.items = [SentItem(p.company.key, p.company.name, p.address, p.subject, p.message_id,
                                 p.token, "dry-run") for p in todo]
        return report
    if not confirm(confirmation_text(todo, submission_config, rate_per_minute)):
        report.skipped += [Skipped(p.company.key, p.company.name, "not-confirmed") for p in todo]
        return report
    report.confirmed = True
    assert istore is not None
    session = _Session(submission_config)
    try:
        session.open()  # a refused login stops the run before anything is recorded
        _send_spaced(todo, session, istore, report, 60.0 / rate_per_minute, sleep, clock, utcnow)
    except SubmissionError as exc:
        report.error = str(exc)
        log.error("inquiries: %s", exc)
        tried = {i.company_key for i in report.items}
        report.skipped += [Skipped(p.company.key, p.company.name, "run-stopped")
                           for p in todo if p.company.key not in tried]
    finally:
        session.close()
    return report


def _one_per_company(planned: list[Planned], asked: Mapping[str, str]) -> tuple[list[Planned], list[Skipped]]:
    """The inquiries to send: the first per company, none to a company already asked."""
    todo: list[Planned] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for p in planned:
        if p.company.key in seen:
            skipped.append(Skipped(p.company.key, p.company.name, "duplicate"))
        elif p.company.key in asked:
            skipped.append(Skipped(p.company.key, p.company.name, asked[p.company.key]))
        else:
            seen.add(p.company.key)
            todo.append(p)
    return todo, skipped


def _send_spaced(
    todo: list[Planned], session: _Session, istore: InquiryTables, report: SendReport, interval: float,
    sleep: Callable[[float], None], clock: Callable[[], float], utcnow: Callable[[], datetime],
) -> None:
    """Send one by one, ``interval`` seconds apart; raise SubmissionError when the run must stop."""
    last: float | None = None
    for p in todo:
        if last is not None:
            wait = last + interval - clock()
            if wait > 0:
                sleep(wait)
        last = clock()
        item, stop = _send_one(p, session, istore, utcnow)
        report.items.append(item)
        if stop:
            raise SubmissionError(stop)


def _send_one(
    p: Planned, session: _Session, istore: InquiryTables, utcnow: Callable[[], datetime]
) -> tuple[SentItem, str | None]:
    """Send one inquiry; the second value is set when the run must stop (connection trouble)."""
    created = utcnow()
    msg = build_message(
        from_address=p.from_address, sender_name=p.sender_name, to=p.address, subject=p.subject,
        body=p.body, message_id=p.message_id, token=p.token, date=created,
    )
    iid = istore.begin_send({
        "company_key": p.company.key, "company_name": p.company.name, "website": p.company.website,
        "industry": p.company.industry, "address": p.address, "language": p.language, "topic": p.topic,
        "subject": p.subject, "token": p.token, "message_id": p.message_id, "created_at": iso(created),
    })
    item = partial(SentItem, company_key=p.company.key, company_name=p.company.name, address=p.address,
                   subject=p.subject, message_id=p.message_id, token=p.token)
    try:
        code, reply = session.send(p.from_address, p.address, msg.as_bytes())
    except DeliveryUnknown as exc:
        # Left as "sending": the company counts as asked and is not mailed again.
        istore.note_reply(iid, str(exc))
        return item(status="unknown", smtp_reply=str(exc)), str(exc)
    except (SubmissionError, OSError, smtplib.SMTPException) as exc:
        istore.mark_failed(iid, None, str(exc))
        return item(status="failed", smtp_reply=str(exc)), f"sending to {p.address}: {exc}"
    if code == 250:
        sent_at = utcnow()
        istore.mark_sent(iid, sent_at, code, reply)
        log.info("inquiry sent to %s <%s>: %s %s", p.company.name, p.address, code, reply)
        return item(status="sent", sent_at=iso(sent_at), smtp_code=code, smtp_reply=reply), None
    istore.mark_failed(iid, code, reply)
    log.warning("inquiry to %s <%s> refused: %s %s", p.company.name, p.address, code, reply)
    return item(status="failed", smtp_code=code, smtp_reply=reply), None
