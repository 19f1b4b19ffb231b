"""An audit, stage by stage: companies -> harvest -> validate -> score -> report.

This is the one module that knows every stage, and the only core module that
imports ``spiders/`` (the crawl) and ``reports/`` (the HTML report). It keeps
the run's bookkeeping (resume, input errors, the run record, exports); the CLI
parses arguments, calls these functions and prints their outcome. Notes the user
must see while a run goes on (input errors, resuming, the line probe's calls) go
to ``notify``; the CLI's prints them on stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass
from enum import Enum
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from tqdm import tqdm

from auditor import __version__
from auditor.config import DEFAULT_CONTACT_URL, ConfigError, Settings
from auditor.export import export
from auditor.extract import extract_contacts, parse_page
from auditor.extract.chat import Fingerprints
from auditor.extract.chat_external import FingerprintFileError, merged_fingerprints
from auditor.harvest.browser import render_companies
from auditor.harvest.crawl import run_crawl
from auditor.harvest.inputs import stream_companies
from auditor.harvest.render import render_summary
from auditor.models import Company, CompanyResult, ContactPoint, Subject, Verdict
from auditor.net.guard import AddressPolicy
from auditor.net.options import NetworkOptions
from auditor.net.ratelimit import SharedLimits
from auditor.net.resolver import DnsResolver
from auditor.probes.inquiries import scoring_probes
from auditor.probes.sip.config import SipConfigError, load_sip_config
from auditor.probes.sip.probe import SipTrunkConfig, new_ledger, probe_lines
from auditor.score import ScoreCard, load_weights, score_company
from auditor.store import Store, open_store
from auditor.validate.browser import company_browser_verdicts
from auditor.validate.http import HttpClient
from auditor.validate.links import LinkValidator
from auditor.validate.run import (
    VALIDATED_KINDS,
    check_key,
    company_verdicts,
    merge_line,
    validate_points,
)
from reports.render import render_report
from spiders.contact import ContactSpider
from spiders.ratelimit import shared_pace_settings

log = logging.getLogger("auditor")

SPIDER_SETTINGS = "spiders.settings"
REGISTER_BATCH = 1000  # companies registered in the store per transaction
LEDGER_FILE = "line-probe-ledger.json"


class Outcome(Enum):
    """How a run ended; the CLI turns it into an exit code."""

    DONE = "done"
    NOTHING_TO_RESUME = "nothing-to-resume"  # --resume DIR holds no audit
    NOTHING = "nothing"  # unreadable input, or no valid row
    INTERRUPTED = "interrupted"  # finished companies are saved; --resume continues


Notify = Callable[[str], None]


def to_stderr(text: str) -> None:
    print(text, file=sys.stderr)


@dataclass(frozen=True)
class AuditRun:
    """How a run ended and, when it got that far, the exported summary."""

    outcome: Outcome
    summary: dict[str, Any] | None = None


@dataclass(frozen=True)
class ReportOptions:
    """How the HTML report is written."""

    redact: bool = True
    compare: str | None = None
    weights: str | None = None


# -- audit ----------------------------------------------------------------------
def run_audit(source: str | None, out_dir: Path, settings: Settings, resume: bool = False,
              network: NetworkOptions | None = None, notify: Notify = to_stderr) -> AuditRun:
    """Harvest ``source`` into ``out_dir``, validate it, export the results and record the run."""
    store = open_store(out_dir)
    try:
        companies = _companies(store, source, out_dir, settings, resume, notify)
        if isinstance(companies, Outcome):
            return AuditRun(companies)
        stats = harvest(companies, out_dir, settings)
        if stats.get("finish_reason") == "shutdown":
            export(store, out_dir)
            notify("Interrupted: finished companies are saved; continue with "
                   f"`auditor audit --resume {out_dir}`")
            return AuditRun(Outcome.INTERRUPTED)
        verdicts = validate(store, out_dir, settings, network, notify) if settings.validate else None
        summary = export(store, out_dir)
        summary["pages_per_second"] = _pages_per_second(stats)
        summary["rendering"] = render_summary(stats)
        if verdicts is not None:
            summary["verdicts"] = dict(verdicts)
        store.finish_run(summary)
        return AuditRun(Outcome.DONE, summary)
    finally:
        store.close()


def _companies(store: Store, source: str | None, out_dir: Path, settings: Settings, resume: bool,
               notify: Notify) -> Iterable[Company] | Outcome:
    """Start (or resume) the run record; the companies left to harvest, or why there are none.

    A new run reads the list as a stream: its companies are registered in the
    store batch by batch, and the harvest is fed by a second pass over the file
    (``len()`` of the stream is the number of companies), never by a list of them.
    """
    if resume:
        if not store.run_info():
            notify(f"auditor: nothing to resume in {out_dir}")
            return Outcome.NOTHING_TO_RESUME
        store.start_run(settings.to_dict(), __version__, resume=True)
        if source:
            _register(store, stream_companies(source))
        companies = PendingCompanies(store)
        notify(f"Resuming: {len(companies)} companies left in {out_dir}")
        return companies
    assert source is not None
    try:
        listing = stream_companies(source)
    except OSError as exc:
        notify(f"auditor: cannot read {source}: {exc.strerror or exc}")
        return Outcome.NOTHING
    store.start_run(settings.to_dict(), __version__)
    count = _register(store, listing)
    store.save_input_errors(listing.errors)
    for err in listing.errors:
        notify(f"row {err.row}: {err.tag}: {err.message}")
    if not count:
        export(store, out_dir)
        notify("auditor: no company to audit (every row had an error)")
        return Outcome.NOTHING
    return listing


class PendingCompanies:
    """The companies a resume harvests, streamed from the store by key (none loaded whole), with their count."""

    def __init__(self, store: Store) -> None:
        self.store = store
        counts = store.company_counts()
        self.count = counts["registered"] - counts["stored"]

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Company]:
        return iter(self.store.pending_companies())


def _register(store: Store, companies: Iterable[Company]) -> int:
    """Register the companies in batches (a long list is never held whole); how many."""
    count = 0
    pending = iter(companies)
    while batch := list(islice(pending, REGISTER_BATCH)):
        store.register_companies(batch)
        count += len(batch)
    return count


def harvest(companies: Iterable[Company], out_dir: Path, settings: Settings) -> dict[str, Any]:
    """Crawl the companies with the contact spider; each is stored as it finishes. Scrapy's stats.

    ``companies`` is iterated once, by the spider, as it takes them on.
    """
    if settings.contact_url == DEFAULT_CONTACT_URL and not settings.user_agent:
        log.warning("no --contact-url configured: the User-Agent points to the tool's page, not to you")
    total = len(companies) if isinstance(companies, Sized) else None
    if total == 0:  # a list, or a stream whose registering pass found nobody
        return {}
    bar = tqdm(total=total, unit="company", desc="harvest",
               disable=not settings.progress or not sys.stderr.isatty(), file=sys.stderr)

    def done(result: CompanyResult) -> None:
        bar.update(1)
        log.info("%s: %d contact points, %d pages, failures: %s", result.company.website,
                 len(result.contacts), len(result.pages),
                 ", ".join(f.tag for f in result.failures) or "none")

    try:
        return run_crawl(companies, out_dir, settings, ContactSpider, SPIDER_SETTINGS, on_done=done)
    finally:
        bar.close()


def crawl_claims(claims: Iterable[Company], store: str | Path, settings: Settings,
                 guard: object, limits_url: str | None = None) -> dict[str, Any]:
    """A distributed worker's crawl: companies claimed from the queue as the spider asks for them.

    ``guard`` (the claims) goes to the store pipeline: a company whose lease was
    lost is not written, a stored one finishes its claim. With ``limits_url``
    (the run's Redis) the per-host delay holds across all workers. Scrapy's stats.
    """
    extra = shared_pace_settings(limits_url, settings.delay) if limits_url and settings.delay > 0 else None
    return run_crawl(claims, store, settings, ContactSpider, SPIDER_SETTINGS, spider_args={"store_guard": guard},
                     extra_settings=extra)


def finish_shared(store_target: str, out_dir: Path, settings: Settings, network: NetworkOptions | None = None,
                  notify: Notify = to_stderr, validated: Callable[[], Counter[str]] | None = None) -> AuditRun:
    """After the workers of a distributed run: validate, export into ``out_dir`` and record the run.

    ``validated`` gives the verdict counts when the workers validated in batches
    (it writes their verdicts to the store first if no worker did); otherwise the
    contact points are validated here.
    """
    store = open_store(store_target)
    try:
        if validated is not None:
            verdicts: Counter[str] | None = validated()
        else:
            verdicts = validate(store, out_dir, settings, network, notify) if settings.validate else None
        summary = export(store, out_dir)
        if verdicts is not None:
            summary["verdicts"] = dict(verdicts)
        store.finish_run(summary)
        return AuditRun(Outcome.DONE, summary)
    finally:
        store.close()


def revalidate(out_dir: Path, settings: Settings, notify: Notify = to_stderr,
               store_target: str | None = None, validated: Callable[[], Counter[str]] | None = None) -> dict[str, Any]:
    """Check every stored contact point again, rewrite the exports; return their summary.

    ``store_target`` (a database URL) reads a shared store; the exports go to ``out_dir``.
    ``validated`` gives the counts when a distributed run's workers validated in batches.
    """
    store = open_store(store_target or out_dir)
    try:
        counts = validated() if validated is not None else validate(store, out_dir, settings, notify=notify)
        summary = export(store, out_dir)
        summary["verdicts"] = dict(counts)
        return summary
    finally:
        store.close()


def _pages_per_second(stats: Mapping[str, Any]) -> float | None:
    start, end = stats.get("start_time"), stats.get("finish_time")
    count = stats.get("response_received_count", 0)
    if start and end and count:
        seconds = (end - start).total_seconds()
        return round(count / seconds, 2) if seconds > 0 else None
    return None


# -- validate -------------------------------------------------------------------
def network_from_env() -> NetworkOptions:
    """Test and lab hook: ports and CA the validators use instead of the defaults.

    AUDITOR_HTTP_PORT_OVERRIDES='{"http": 8080, "https": 8443}' and
    AUDITOR_CA_FILE=/path/ca.pem point HTTP checks at a lab on loopback.
    """
    raw = os.environ.get("AUDITOR_HTTP_PORT_OVERRIDES", "")
    overrides: dict[str, int] = {}
    if raw:
        try:
            overrides = {str(k): int(v) for k, v in json.loads(raw).items()}
        except (ValueError, AttributeError) as exc:
            raise ConfigError(f"AUDITOR_HTTP_PORT_OVERRIDES must be a JSON object of ports: {exc}") from exc
    return NetworkOptions(http_port_overrides=overrides, ca_file=os.environ.get("AUDITOR_CA_FILE") or None)


def sip_config(settings: Settings) -> SipTrunkConfig | None:
    """The user's trunk for --probe-lines, or None (the probe then does not run)."""
    if not settings.probe_lines:
        return None
    if not settings.config_file:
        raise ConfigError("--probe-lines needs --config FILE with a [sip] table naming your own SIP trunk")
    try:
        return load_sip_config(settings.config_file)
    except SipConfigError as exc:
        raise ConfigError(str(exc)) from exc


def chat_fingerprints(settings: Settings) -> Fingerprints | None:
    """The audit's chat fingerprints with the user's (``--fingerprints``) merged in, or None.

    Read here once so that a bad path is a configuration error before any crawling."""
    try:
        return merged_fingerprints(settings.fingerprints)
    except FingerprintFileError as exc:
        raise ConfigError(f"--fingerprints: {exc}") from exc


def validate(store: Store, out_dir: Path, settings: Settings,
             network: NetworkOptions | None = None, notify: Notify = to_stderr) -> Counter[str]:
    """Store a verdict beside every harvested contact point; return counts by verdict.

    With --browser, the pages are rendered first (harvest: chat points only
    rendering shows are stored, and validated with the rest); the launcher
    checks of those renders join the chat verdicts. With --probe-lines, each
    valid number is called once and the call's verdict joins the phone's.
    """
    network = network or network_from_env()
    progress = settings.progress and sys.stderr.isatty()
    trunk = sip_config(settings)
    browsed: dict[str, dict[tuple[Subject, str], Verdict]] = {}
    if settings.browser:
        done = [r for r in store.results() if r.status == "done"]
        rendered = asyncio.run(render_companies(done, store, settings, network))
        browsed = {key: company_browser_verdicts(pages) for key, pages in rendered.items()}
    results: list[CompanyResult] = [r for r in store.results() if r.status != "pending"]
    points = _points(results)
    total = len({check_key(cp) for cp, _ in points if cp.kind in VALIDATED_KINDS})
    bar = tqdm(total=total, unit="check", desc="validate", disable=not progress)

    def tick(_verdict: Verdict) -> None:
        bar.update(1)

    try:
        verdicts = asyncio.run(validate_points(points, settings, network, on_verdict=tick))
    finally:
        bar.close()
    if settings.probe_lines and trunk is not None:
        lines, calls = probe_company_lines(results, verdicts, settings, trunk, out_dir / LEDGER_FILE)
        for key, line in lines.items():
            verdicts[key] = merge_line(verdicts.get(key), line)
        for call in calls:
            log.info("line probe call: %s", call)
        notify(line_probe_summary(calls))
    counts = _save_verdicts(store, results, verdicts, browsed)
    log.info("verdicts: %s", dict(counts))
    return counts


def _points(results: Iterable[CompanyResult]) -> list[tuple[ContactPoint, str | None]]:
    """Every harvested contact point with its company's country (what the validators take)."""
    return [(cp, r.company.country) for r in results for cp in r.contacts]


def _save_verdicts(store: Store, results: Iterable[CompanyResult], verdicts: Mapping[tuple[str, ...], Verdict],
                   browsed: Mapping[str, Mapping[tuple[Subject, str], Verdict]] | None = None) -> Counter[str]:
    """Each company's verdicts beside it in the store (replacing its earlier ones); counts by verdict."""
    counts: Counter[str] = Counter()
    for r in results:
        mine = company_verdicts(r, verdicts, (browsed or {}).get(r.company.key))
        store.save_verdicts(r.company.key, mine)
        counts.update(v.verdict for v in mine)
    return counts


# -- validate, distributed (auditor.dist.validation plans and runs the batches) ---
def shared_validation_points(store_target: str) -> list[tuple[ContactPoint, str | None]]:
    """The contact points of every stored company of a shared store, to be grouped into batches."""
    store = open_store(store_target)
    try:
        return _points(r for r in store.results() if r.status != "pending")
    finally:
        store.close()


def validate_batch(points: list[tuple[ContactPoint, str | None]], settings: Settings,
                   limits: SharedLimits) -> dict[tuple[str, ...], Verdict]:
    """One batch of a distributed validation, its per-host limits shared with every worker."""
    async def run() -> dict[tuple[str, ...], Verdict]:
        try:
            return await validate_points(points, settings, network_from_env(), limits=limits)
        finally:
            await limits.close()

    return asyncio.run(run())


def store_shared_verdicts(store_target: str, verdicts: Mapping[tuple[str, ...], Verdict]) -> Counter[str]:
    """The verdicts of every batch, written beside each company of the shared store; counts by verdict."""
    store = open_store(store_target)
    try:
        counts = _save_verdicts(store, (r for r in store.results() if r.status != "pending"), verdicts)
    finally:
        store.close()
    log.info("verdicts: %s", dict(counts))
    return counts


def probe_company_lines(
    results: list[CompanyResult], verdicts: Mapping[tuple[str, ...], Verdict], settings: Settings,
    trunk: SipTrunkConfig, ledger_path: Path,
) -> tuple[dict[tuple[str, ...], Verdict], list[dict[str, Any]]]:
    """Call each valid published number once through the user's trunk (opt-in).

    The ledger file (one call per number per window, across runs) is read
    before and written after the calls.
    """
    ledger = json.loads(ledger_path.read_text(encoding="utf-8")) if ledger_path.exists() else new_ledger()
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
        list(numbers.items()), trunk, resolver=resolver, policy=policy,
        window=settings.line_window or None, answer_window=settings.answer_window or None, ledger=ledger,
    ))
    ledger_path.write_text(json.dumps(ledger, indent=1, default=str), encoding="utf-8")
    merged: dict[tuple[str, ...], Verdict] = {("phone", number): verdict for number, verdict in found.items()}
    return merged, list(found.calls)


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


# -- verify one value -----------------------------------------------------------
def verify_point(kind: Literal["email", "phone", "url"], value: str, country: str | None) -> ContactPoint:
    """The contact point ``auditor verify KIND VALUE`` checks (a URL may be a chat or messaging link)."""
    if kind == "url":
        page = parse_page(f'<a href="{value}">link</a>', value)
        found = [c for c in extract_contacts(page, country) if c.kind in ("messaging", "chat")]
        if found:
            return found[0]
        return ContactPoint("form", value, value, None, "form", value, "", 1.0, {"page_check": True})
    return ContactPoint(kind, value.strip(), value, None, "text", "", "", 1.0)


def verify(cp: ContactPoint, country: str | None, settings: Settings) -> Verdict:
    """The verdict of one contact point, checked on its own (a plain URL: is the page there?)."""
    network = network_from_env()
    if cp.kind == "form":
        return asyncio.run(_check_page(cp.value, settings, network))
    verdicts = asyncio.run(validate_points([(cp, country)], settings, network))
    return verdicts[check_key(cp)]


async def _check_page(url: str, settings: Settings, network: NetworkOptions) -> Verdict:
    resolver = DnsResolver(settings.nameserver, settings.dns_timeout)
    async with HttpClient(resolver, AddressPolicy(settings.allow_private_targets),
                          user_agent=settings.effective_user_agent(), timeout=settings.timeout,
                          port_overrides=network.http_port_overrides, ca_file=network.ca_file) as http:
        return await LinkValidator(http).check_page(url)


# -- score ----------------------------------------------------------------------
def score_single(out_dir: Path, weights: str | None = None) -> tuple[CompanyResult, dict[tuple[str, str], Verdict], ScoreCard]:
    """The one company of a finished audit (``auditor check``), its verdicts and score card."""
    store = open_store(out_dir)
    try:
        result = next(iter(store.results()))
        verdicts = store.verdicts(result.company.key)
        card = score_company(result, verdicts, load_weights(weights) if weights else None)
    finally:
        store.close()
    return result, verdicts, card


# -- report ---------------------------------------------------------------------
def write_report(out_dir: Path, options: ReportOptions, store_target: str | None = None) -> Path:
    """Render DIR/report/ from the audit stored in ``out_dir`` (or at ``store_target``); its index page."""
    store = open_store(store_target or out_dir)
    try:
        if store_target:
            export(store, out_dir)  # a shared store's exports are written where its report goes
        return render_report(store, out_dir, redact=options.redact,
                             compare=Path(options.compare) if options.compare else None,
                             weights_path=Path(options.weights) if options.weights else None,
                             responsiveness=_responsiveness(store))
    finally:
        store.close()


def _responsiveness(store: Store) -> dict[str, Any] | None:
    """Live-probe figures per company, when the opt-in probes ran (else None)."""
    try:
        return scoring_probes(store) or None
    except Exception:  # noqa: BLE001 - a probe table problem must not block the report
        log.exception("could not read the live-probe results")
        return None
