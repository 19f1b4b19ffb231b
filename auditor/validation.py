"""The validation stage: read harvested contact points, store a verdict beside each.

Each distinct value is checked once per run (an address listed by three
companies costs one SMTP probe); emails go through one batch so sessions are
shared per MX host. Nothing here changes a harvested record.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from auditor.config import Settings
from auditor.models import Check, CompanyResult, ContactPoint, Verdict
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import DnsResolver
from auditor.store import Store

log = logging.getLogger(__name__)

VALIDATED_KINDS = ("phone", "email", "chat", "messaging", "form")
LINK_CONCURRENCY = 16


@dataclass
class NetworkOptions:
    """Where the validators may connect; the lab sets ports and its own CA."""

    http_port_overrides: dict[str, int] = field(default_factory=dict)
    ca_file: str | None = None


def check_key(cp: ContactPoint) -> tuple[str, ...]:
    """What one check is about: the value, and for chat widgets also the account.

    Two companies using the same chat provider have different widgets (one
    may be deleted): their checks must not be shared.
    """
    if cp.kind == "chat":
        account = cp.details.get("account_id") or cp.raw
        return (cp.kind, cp.value, str(account))
    return cp.dedupe_key


def _email_config(settings: Settings) -> Any:
    from auditor.validate.email import EmailCheckConfig

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
    check = Check("internal", "unknown", "check-error", message, {}, time.time(), 0.0)
    return Verdict(cp.kind, cp.value, "unknown", "check-error", message, (check,))


async def validate_points(
    points: Iterable[tuple[ContactPoint, str | None]],
    settings: Settings,
    network: NetworkOptions | None = None,
    resolver: DnsResolver | None = None,
    on_verdict: Callable[[Verdict], None] | None = None,
) -> dict[tuple[str, ...], Verdict]:
    """Verdicts for (contact point, company country) pairs, keyed by :func:`check_key`."""
    from auditor.validate.email import EmailValidator
    from auditor.validate.http import HttpClient
    from auditor.validate.links import LinkValidator
    from auditor.validate.phone import validate_phone

    network = network or NetworkOptions()
    resolver = resolver or DnsResolver(settings.nameserver, settings.dns_timeout)
    policy = AddressPolicy(settings.allow_private_targets)
    notify = on_verdict or (lambda verdict: None)
    unique: dict[tuple[str, ...], tuple[ContactPoint, str | None]] = {}
    for cp, country in points:
        if cp.kind in VALIDATED_KINDS:
            unique.setdefault(check_key(cp), (cp, country))
    verdicts: dict[tuple[str, ...], Verdict] = {}

    for key, (cp, country) in unique.items():
        if cp.kind == "phone":
            try:
                verdicts[key] = validate_phone(cp, country)
            except Exception as exc:  # noqa: BLE001
                verdicts[key] = _crash_verdict(cp, exc)
            notify(verdicts[key])

    emails = [cp for cp, _ in unique.values() if cp.kind == "email"]
    links = [cp for cp, _ in unique.values() if cp.kind in ("chat", "messaging", "form")]

    async def run_emails() -> None:
        if not emails:
            return
        validator = EmailValidator(resolver, _email_config(settings))
        try:
            found = await validator.validate_many(cp.value for cp in emails)
        except Exception as exc:  # noqa: BLE001
            log.exception("email validation failed")
            found = {cp.value: _crash_verdict(cp, exc) for cp in emails}
        for cp in emails:
            verdict = found.get(cp.value) or _crash_verdict(cp, KeyError(cp.value))
            verdicts[check_key(cp)] = verdict
            notify(verdict)

    async def run_links() -> None:
        if not links:
            return
        limit = asyncio.Semaphore(LINK_CONCURRENCY)
        async with HttpClient(
            resolver, policy, user_agent=settings.effective_user_agent(), timeout=settings.timeout,
            port_overrides=network.http_port_overrides, ca_file=network.ca_file,
        ) as http:
            validator = LinkValidator(http)

            async def one(cp: ContactPoint) -> None:
                async with limit:
                    try:
                        verdict = await validator.validate(cp)
                    except Exception as exc:  # noqa: BLE001
                        log.exception("link check of %s failed", cp.value)
                        verdict = _crash_verdict(cp, exc)
                verdicts[check_key(cp)] = verdict
                notify(verdict)

            await asyncio.gather(*(one(cp) for cp in links))

    await asyncio.gather(run_emails(), run_links())
    return verdicts


BROWSER_PAGES_PER_COMPANY = 3
BROWSER_CONCURRENCY = 2


def merge_browser(verdict: Verdict | None, browser: Verdict) -> Verdict:
    """A chat verdict with the browser's launcher check added.

    A script that no longer loads stays inactive; a launcher seen on screen
    makes an otherwise undecided widget active; the rest keeps its verdict.
    """
    if verdict is None:
        return browser
    checks = verdict.checks + browser.checks
    if verdict.verdict != "inactive" and browser.verdict == "active":
        return Verdict(verdict.kind, verdict.value, "active", browser.reason, browser.message, checks,
                       tuple(dict.fromkeys(verdict.flags + browser.flags)))
    return Verdict(verdict.kind, verdict.value, verdict.verdict, verdict.reason, verdict.message, checks,
                   verdict.flags)


async def browse_companies(
    results: list[CompanyResult], store: Store, settings: Settings, network: NetworkOptions,
) -> dict[str, dict[tuple[str, str], Verdict]]:
    """Render each company's chat and contact pages; store JS-only widgets; launcher checks."""
    from auditor.validate.browser import BrowserRenderer, BrowserUnavailable, browser_chat_check
    from auditor.validate.http import HttpClient

    resolver = DnsResolver(settings.nameserver, settings.dns_timeout)
    policy = AddressPolicy(settings.allow_private_targets)
    found: dict[str, dict[tuple[str, str], Verdict]] = {}
    limit = asyncio.Semaphore(BROWSER_CONCURRENCY)
    async with HttpClient(resolver, policy, user_agent=settings.effective_user_agent(), timeout=settings.timeout,
                          port_overrides=network.http_port_overrides, ca_file=network.ca_file) as http:
        try:
            renderer = BrowserRenderer(http)
            await renderer.__aenter__()
        except BrowserUnavailable as exc:
            log.warning("browser mode is off: %s", exc)
            return found
        try:
            async def company(result: CompanyResult) -> None:
                pages = [p for p in result.pages if p.error_tag is None and p.status == 200]
                chat_pages = [cp.page_url for cp in result.contacts if cp.kind == "chat"]
                best = [p.url for p in sorted(pages, key=lambda p: -p.score) if p.score < 5]
                urls = list(dict.fromkeys(chat_pages + best))[:BROWSER_PAGES_PER_COMPANY]
                mine: dict[tuple[str, str], Verdict] = {}
                for url in urls:
                    async with limit:
                        try:
                            new, verdicts = await browser_chat_check(renderer, url, result.contacts)
                        except Exception:  # noqa: BLE001 - one page never stops the run
                            log.exception("browser check of %s failed", url)
                            continue
                    if new:
                        store.add_contacts(result.company.key, new)
                    for v in verdicts:
                        mine.setdefault((v.kind, v.value), v)
                found[result.company.key] = mine

            await asyncio.gather(*(company(r) for r in results))
        finally:
            await renderer.__aexit__(None, None, None)
    return found


def merge_line(verdict: Verdict | None, line: Verdict) -> Verdict:
    """A phone verdict with the live line probe's check added; a decisive probe decides."""
    if verdict is None:
        return line
    checks = verdict.checks + line.checks
    flags = tuple(dict.fromkeys(verdict.flags + line.flags))
    if line.verdict in ("active", "inactive"):
        return Verdict(verdict.kind, verdict.value, line.verdict, line.reason, line.message, checks, flags)
    return Verdict(verdict.kind, verdict.value, verdict.verdict, verdict.reason, verdict.message, checks, flags)


def probe_company_lines(
    results: list[CompanyResult], verdicts: dict[tuple[str, ...], Verdict], settings: Settings,
    sip_config: Any, ledger_path: Any,
) -> tuple[dict[tuple[str, ...], Verdict], list[dict[str, Any]]]:
    """Call each valid published number once through the user's trunk (opt-in)."""
    import json
    from pathlib import Path

    from auditor.probes.sip.probe import new_ledger, probe_lines

    path = Path(ledger_path)
    ledger = json.loads(path.read_text(encoding="utf-8")) if path.exists() else new_ledger()
    numbers: dict[str, dict[str, Any]] = {}
    for r in results:
        always = any(cp.kind == "hours" and cp.details.get("always_open") for cp in r.contacts)
        for cp in r.contacts:
            if cp.kind == "phone" and cp.label != "fax":
                plan = verdicts.get(check_key(cp))
                if plan is not None and plan.verdict == "inactive":
                    continue  # an invalid number is never dialled
                numbers.setdefault(cp.value, {"country": r.company.country, "claims_24_7": always})
    if not numbers:
        return {}, []
    resolver = DnsResolver(settings.nameserver, settings.dns_timeout)
    policy = AddressPolicy(settings.allow_private_targets)
    found = asyncio.run(probe_lines(
        list(numbers.items()), sip_config, resolver=resolver, policy=policy,
        window=settings.line_window or None, answer_window=settings.answer_window or None, ledger=ledger,
    ))
    path.write_text(json.dumps(ledger, indent=1, default=str), encoding="utf-8")
    merged = {("phone", number): verdict for number, verdict in found.items()}
    calls = list(found.calls)
    return merged, calls


def line_probe_summary(calls: list[dict[str, Any]]) -> str:
    """One line for the console: calls by verdict and reason (each call is in the log)."""
    by_verdict: dict[str, Counter[str]] = {}
    for call in calls:
        by_verdict.setdefault(str(call.get("verdict")), Counter())[str(call.get("reason"))] += 1
    parts = [
        f"{verdict} {sum(reasons.values())} ("
        + ", ".join(f"{reason} {n}" for reason, n in reasons.most_common()) + ")"
        for verdict, reasons in sorted(by_verdict.items())
    ]
    return f"Line probe: {len(calls)} call(s) placed" + (": " + "; ".join(parts) if parts else "")


def validate_store(
    store: Store,
    settings: Settings,
    network: NetworkOptions | None = None,
    progress: bool = False,
    sip_config: Any = None,
    ledger_path: Any = None,
) -> Counter[str]:
    """Validate every stored company's contact points; return counts by verdict."""
    from tqdm import tqdm

    network = network or NetworkOptions()
    browsed: dict[str, dict[tuple[str, str], Verdict]] = {}
    if settings.browser:
        done = [r for r in store.results() if r.status == "done"]
        browsed = asyncio.run(browse_companies(done, store, settings, network))
    results: list[CompanyResult] = [r for r in store.results() if r.status != "pending"]
    points = [(cp, r.company.country) for r in results for cp in r.contacts]
    total = len({check_key(cp) for cp, _ in points if cp.kind in VALIDATED_KINDS})
    bar = tqdm(total=total, unit="check", desc="validate", disable=not progress)
    try:
        verdicts = asyncio.run(
            validate_points(points, settings, network, on_verdict=lambda v: bar.update(1))
        )
    finally:
        bar.close()
    if settings.probe_lines and sip_config is not None:
        lines, calls = probe_company_lines(results, verdicts, settings, sip_config, ledger_path)
        for key, line in lines.items():
            verdicts[key] = merge_line(verdicts.get(key), line)
        for call in calls:
            log.info("line probe call: %s", call)
        print(line_probe_summary(calls), file=sys.stderr)
    counts: Counter[str] = Counter()
    for r in results:
        mine = [verdicts[check_key(cp)] for cp in r.contacts if check_key(cp) in verdicts]
        extra = browsed.get(r.company.key, {})
        if extra:
            by_key = {(v.kind, v.value): v for v in mine}
            for key, browser_verdict in extra.items():
                by_key[key] = merge_browser(by_key.get(key), browser_verdict)
            mine = list(by_key.values())
        store.save_verdicts(r.company.key, mine)
        counts.update(v.verdict for v in mine)
    return counts
