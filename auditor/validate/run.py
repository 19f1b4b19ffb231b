"""The validation dispatcher: harvested contact points in, verdicts out.

Each distinct value is checked once per run (an address listed by three
companies costs one SMTP probe); emails go through one batch so sessions are
shared per MX host. Nothing here reads or writes the store: the pipeline hands
the points in and stores the verdicts. In a distributed run ``limits`` (Redis)
makes the per-host limits hold across workers: one SMTP connection per mail host,
its greylisting delay, and the crawl's per-host delay between HTTP requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager

from auditor import reasons
from auditor.config import Settings
from auditor.models import Check, CompanyResult, ContactPoint, Subject, Verdict
from auditor.net.guard import AddressPolicy
from auditor.net.options import NetworkOptions
from auditor.net.ratelimit import SharedLimits
from auditor.net.resolver import DnsResolver
from auditor.validate.browser import merge_browser
from auditor.validate.email import EmailCheckConfig, EmailValidator
from auditor.validate.email.validator import MAX_OPEN_SESSIONS
from auditor.validate.http import HttpClient
from auditor.validate.limits import SharedHostLimiter
from auditor.validate.links import LinkValidator
from auditor.validate.phone import validate_phone

log = logging.getLogger(__name__)

VALIDATED_KINDS = ("phone", "email", "chat", "messaging", "form")
LINK_CONCURRENCY = 16


def check_key(cp: ContactPoint) -> tuple[str, ...]:
    """What one check is about: the value, and for chat widgets also the account.

    Two companies using the same chat provider have different widgets (one
    may be deleted): their checks must not be shared.
    """
    if cp.kind == "chat":
        account = cp.details.get("account_id") or cp.raw
        return (cp.kind, cp.value, str(account))
    return cp.dedupe_key


def _email_config(settings: Settings) -> EmailCheckConfig:
    return EmailCheckConfig(
        smtp_port=settings.smtp_port,
        helo=settings.helo,
        mail_from=settings.mail_from,
        timeout=settings.smtp_timeout,
        greylist_retry_delay=settings.greylist_delay,
        allow_private=settings.allow_private_targets,
        smtp=settings.smtp,
        preflight=settings.smtp_preflight,
    )


def _crash_verdict(cp: ContactPoint, exc: BaseException) -> Verdict:
    """A validator bug must cost one verdict (unknown), never the run."""
    message = f"the check failed unexpectedly: {type(exc).__name__}: {exc}"[:300]
    check = Check("internal", "unknown", reasons.CHECK_ERROR, message, {}, time.time(), 0.0)
    return Verdict(cp.kind, cp.value, "unknown", reasons.CHECK_ERROR, message, (check,))


async def validate_points(
    points: Iterable[tuple[ContactPoint, str | None]],
    settings: Settings,
    network: NetworkOptions | None = None,
    resolver: DnsResolver | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
    limits: SharedLimits | None = None,
) -> dict[tuple[str, ...], Verdict]:
    """Verdicts for (contact point, company country) pairs, keyed by :func:`check_key`."""
    network = network or NetworkOptions()
    resolver = resolver or DnsResolver(settings.nameserver, settings.dns_timeout)
    notify = on_verdict or (lambda verdict: None)
    unique: dict[tuple[str, ...], tuple[ContactPoint, str | None]] = {}
    for cp, country in points:
        if cp.kind in VALIDATED_KINDS:
            unique.setdefault(check_key(cp), (cp, country))
    verdicts: dict[tuple[str, ...], Verdict] = {}

    def found(cp: ContactPoint, verdict: Verdict) -> None:
        verdicts[check_key(cp)] = verdict
        notify(verdict)

    for cp, country in unique.values():
        if cp.kind == "phone":
            found(cp, _phone_verdict(cp, country))
    emails = [cp for cp, _ in unique.values() if cp.kind == "email"]
    links = [cp for cp, _ in unique.values() if cp.kind in ("chat", "messaging", "form")]
    await asyncio.gather(
        _check_emails(emails, resolver, settings, found, limits),
        _check_links(links, resolver, settings, network, found, limits),
    )
    return verdicts


def _phone_verdict(cp: ContactPoint, country: str | None) -> Verdict:
    try:
        return validate_phone(cp, country)
    except Exception as exc:  # noqa: BLE001
        return _crash_verdict(cp, exc)


async def _check_emails(
    emails: list[ContactPoint], resolver: DnsResolver, settings: Settings,
    found: Callable[[ContactPoint, Verdict], None], limits: SharedLimits | None = None,
) -> None:
    """Every address in one validator run, so that each mail host gets few, polite sessions."""
    if not emails:
        return
    config = _email_config(settings)
    shared = SharedHostLimiter(limits, config.per_mx_concurrency, config.per_mx_sessions_per_minute,
                               MAX_OPEN_SESSIONS) if limits is not None else None
    validator = EmailValidator(resolver, config, limiter=shared)
    try:
        by_value = await validator.validate_many(cp.value for cp in emails)
    except Exception as exc:  # noqa: BLE001
        log.exception("email validation failed")
        by_value = {cp.value: _crash_verdict(cp, exc) for cp in emails}
    for cp in emails:
        found(cp, by_value.get(cp.value) or _crash_verdict(cp, KeyError(cp.value)))


async def _check_links(
    links: list[ContactPoint], resolver: DnsResolver, settings: Settings, network: NetworkOptions,
    found: Callable[[ContactPoint, Verdict], None], limits: SharedLimits | None = None,
) -> None:
    """Chat, messaging and form checks over one guarded HTTP client, LINK_CONCURRENCY at a time."""
    if not links:
        return
    limit = asyncio.Semaphore(LINK_CONCURRENCY)

    def turn(host: str) -> AbstractAsyncContextManager[float]:
        assert limits is not None
        return limits.turn(host, settings.delay)  # the crawl's per-host delay, across all workers

    async with HttpClient(
        resolver, AddressPolicy(settings.allow_private_targets), user_agent=settings.effective_user_agent(),
        timeout=settings.timeout, port_overrides=network.http_port_overrides, ca_file=network.ca_file,
        turn=turn if limits is not None else None,
    ) as http:
        validator = LinkValidator(http)

        async def one(cp: ContactPoint) -> None:
            async with limit:
                try:
                    verdict = await validator.validate(cp)
                except Exception as exc:  # noqa: BLE001
                    log.exception("link check of %s failed", cp.value)
                    verdict = _crash_verdict(cp, exc)
            found(cp, verdict)

        await asyncio.gather(*(one(cp) for cp in links))


def merge_line(verdict: Verdict | None, line: Verdict) -> Verdict:
    """A phone verdict with the live line probe's check added; a decisive probe decides."""
    if verdict is None:
        return line
    checks = verdict.checks + line.checks
    flags = tuple(dict.fromkeys(verdict.flags + line.flags))
    if line.verdict in ("active", "inactive"):
        return Verdict(verdict.kind, verdict.value, line.verdict, line.reason, line.message, checks, flags)
    return Verdict(verdict.kind, verdict.value, verdict.verdict, verdict.reason, verdict.message, checks, flags)


def company_verdicts(
    result: CompanyResult, verdicts: Mapping[tuple[str, ...], Verdict],
    browsed: Mapping[tuple[Subject, str], Verdict] | None = None,
) -> list[Verdict]:
    """The verdicts of one company's contact points, the browser's launcher checks merged in."""
    mine = [verdicts[check_key(cp)] for cp in result.contacts if check_key(cp) in verdicts]
    if browsed:
        by_key = {(v.kind, v.value): v for v in mine}
        for key, browser_verdict in browsed.items():
            by_key[key] = merge_browser(by_key.get(key), browser_verdict)
        mine = list(by_key.values())
    return mine
