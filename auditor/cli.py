"""The `auditor` command.

Exit codes: 0 the run completed (per-company failures are recorded, not fatal);
1 a check failed its threshold (`check`); 2 usage or configuration error;
3 nothing could be audited (unreadable input, no valid row); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from auditor import __version__

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_NOTHING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

log = logging.getLogger("auditor")


# -- shared options -------------------------------------------------------------
def _add_crawl_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("crawling")
    g.add_argument("--config", metavar="FILE", help="TOML config file (flags override it)")
    g.add_argument("--max-pages", type=int, metavar="N", help="page budget per company (default 25)")
    g.add_argument("--max-depth", type=int, metavar="N", help="link depth limit (default 3)")
    g.add_argument("--delay", type=float, metavar="SECONDS", help="pause between requests to one host (default 1)")
    g.add_argument("--concurrency", type=int, metavar="N", help="requests in flight overall (default 16)")
    g.add_argument("--timeout", type=float, metavar="SECONDS", help="per HTTP request (default 20)")
    g.add_argument("--company-timeout", type=float, metavar="SECONDS", help="time budget per company (default 300)")
    g.add_argument("--max-page-bytes", type=int, metavar="BYTES", help="largest page downloaded (default 5 MiB)")
    g.add_argument("--max-redirects", type=int, metavar="N", help="redirects followed per request (default 10)")
    g.add_argument("--user-agent", metavar="UA", help="full User-Agent (default names the tool and --contact-url)")
    g.add_argument("--contact-url", metavar="URL", help="where site owners can read about this crawler")
    g.add_argument("--no-autothrottle", dest="autothrottle", action="store_const", const=False,
                   help="fixed --delay instead of Scrapy's AutoThrottle (benchmarks, your own site)")
    g.add_argument("--ignore-robots", dest="obey_robots", action="store_const", const=False,
                   help="do not obey robots.txt (only for your own site)")
    n = p.add_argument_group("network")
    n.add_argument("--nameserver", metavar="IP[:PORT]", help="DNS server for every lookup (default: system resolver)")
    n.add_argument("--dns-timeout", type=float, metavar="SECONDS", help="per DNS query (default 5)")
    n.add_argument("--allow-private-targets", action="store_const", const=True, default=None,
                   help="allow connections to private, loopback and reserved addresses (lab, intranets)")
    m = p.add_argument_group("email checks")
    m.add_argument("--smtp-port", type=int, metavar="PORT", help="SMTP port of mail hosts (default 25)")
    m.add_argument("--helo", metavar="FQDN", help="your host name for EHLO (with a matching PTR record)")
    m.add_argument("--mail-from", metavar="ADDRESS", help="MAIL FROM address on your own domain")
    m.add_argument("--smtp-timeout", type=float, metavar="SECONDS", help="per SMTP step (default 10)")
    m.add_argument("--greylist-delay", type=float, metavar="SECONDS",
                   help="wait before re-probing a greylisted address (default 900)")
    m.add_argument("--no-smtp", dest="smtp", action="store_const", const=False,
                   help="check email syntax and DNS only, no SMTP conversation")
    lp = p.add_argument_group("line probe (opt-in: places real calls through YOUR SIP trunk)")
    lp.add_argument("--probe-lines", action="store_const", const=True, default=None,
                    help="call each valid published number via the [sip] trunk in --config; by default the "
                    "call is cancelled as soon as it rings (nothing is connected or charged)")
    lp.add_argument("--line-window", metavar="NAME",
                    help="only call in this window of the number's local time (business-hours, evening, "
                    "weekend, or one from [sip.windows]); at most one call per number per window")
    lp.add_argument("--answer-window", type=float, metavar="SECONDS",
                    help="wait up to SECONDS for a human answer (then hang up at once) instead of cancelling on ring")
    p.add_argument("--browser", action="store_const", const=True, default=None,
                   help="also render contact pages in headless Chromium to find chat widgets only "
                   "JavaScript injects and see whether the launcher appears (slower)")
    o = p.add_argument_group("output")
    o.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="no progress bar")
    o.add_argument("-v", "--verbose", action="store_true", help="log Scrapy's own messages too")


def _add_report_options(p: argparse.ArgumentParser, no_report: bool = True) -> None:
    g = p.add_argument_group("report")
    if no_report:
        g.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    g.add_argument("--no-redact", action="store_true",
                   help="show personal email addresses in the report (redacted by default)")
    g.add_argument("--compare", metavar="PREVIOUS_DIR", help="add a page of changes against an earlier audit")
    g.add_argument("--weights", metavar="FILE", help="scoring weights TOML (default: the packaged one)")


def _settings_from(args: argparse.Namespace, **overrides: Any) -> Any:
    from auditor.config import build_settings

    names = ("max_redirects", "autothrottle", "max_pages", "max_depth", "delay", "concurrency", "timeout", "company_timeout",
             "max_page_bytes", "user_agent", "contact_url", "obey_robots", "nameserver",
             "dns_timeout", "allow_private_targets", "progress", "smtp_port", "helo", "mail_from",
             "smtp_timeout", "greylist_delay", "smtp", "browser", "probe_lines", "line_window",
             "answer_window")
    flags = {n: getattr(args, n, None) for n in names}
    if getattr(args, "no_validate", False):
        flags["validate"] = False
    flags.update({k: v for k, v in overrides.items() if v is not None})
    settings = build_settings(getattr(args, "config", None), **flags)
    _sip_config(settings, settings.config_file)  # fail before any crawling, not after
    return settings


def _setup_logging(out_dir: Path | None, verbose: bool) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    if not verbose:
        # Per-site download errors are recorded in the results and the log file;
        # the console only carries the tool's own warnings.
        console.addFilter(lambda r: r.name.startswith("auditor") or r.levelno >= logging.CRITICAL)
    root.addHandler(console)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(out_dir / "audit.log", encoding="utf-8")
        fh.setLevel(logging.INFO)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    for noisy in ("scrapy", "twisted", "filelock", "py.warnings"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)


# -- audit ----------------------------------------------------------------------
def run_audit(source: str | None, out_dir: Path, settings: Any, resume: bool = False,
              network: Any = None, report: dict[str, Any] | None = None) -> int:
    """Harvest (and later validate) ``source`` into ``out_dir``; print a summary."""
    from tqdm import tqdm

    from auditor.export import export
    from auditor.harvest import run_harvest
    from auditor.inputs import read_companies
    from auditor.store import open_store

    store = open_store(out_dir)
    try:
        if resume:
            if not store.run_info():
                print(f"auditor: nothing to resume in {out_dir}", file=sys.stderr)
                return EXIT_USAGE
            store.start_run(settings.to_dict(), __version__, resume=True)
            if source:
                listing = read_companies(source)
                store.register_companies(listing.companies)
            companies = [c for c in store.companies() if c.key not in store.done_keys()]
            print(f"Resuming: {len(companies)} companies left in {out_dir}", file=sys.stderr)
        else:
            assert source is not None
            try:
                listing = read_companies(source)
            except OSError as exc:
                print(f"auditor: cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
                return EXIT_NOTHING
            store.start_run(settings.to_dict(), __version__)
            store.save_input_errors(listing.errors)
            store.register_companies(listing.companies)
            companies = listing.companies
            for err in listing.errors:
                print(f"row {err.row}: {err.tag}: {err.message}", file=sys.stderr)
            if not companies:
                export(store, out_dir)
                print("auditor: no company to audit (every row had an error)", file=sys.stderr)
                return EXIT_NOTHING
        if settings.contact_url == settings.__class__().contact_url and not settings.user_agent:
            log.warning("no --contact-url configured: the User-Agent points to the tool's page, not to you")
        bar = tqdm(total=len(companies), unit="company", desc="harvest",
                   disable=not settings.progress or not sys.stderr.isatty(), file=sys.stderr)

        def done(result: Any) -> None:
            bar.update(1)
            log.info("%s: %d contact points, %d pages, failures: %s", result.company.website,
                     len(result.contacts), len(result.pages),
                     ", ".join(f.tag for f in result.failures) or "none")

        try:
            stats = run_harvest(companies, store, settings, on_done=done)
        finally:
            bar.close()
        if stats.get("finish_reason") == "shutdown":
            export(store, out_dir)
            print("Interrupted: finished companies are saved; continue with "
                  f"`auditor audit --resume {out_dir}`", file=sys.stderr)
            return EXIT_INTERRUPTED
        verdicts = _validate(store, settings, network) if settings.validate else None
        summary = export(store, out_dir)
        summary["pages_per_second"] = _pages_per_second(stats)
        if verdicts is not None:
            summary["verdicts"] = dict(verdicts)
        store.finish_run(summary)
        _print_summary(summary, out_dir)
        if report is not None:
            index = _write_report(store, out_dir, **report)
            print(f"Report: {index} (open it in a browser: file://{index.resolve()})")
        return EXIT_OK
    finally:
        store.close()


def _write_report(store: Any, out_dir: Path, redact: bool = True, compare: str | None = None,
                  weights: str | None = None) -> Path:
    from reports.render import render_report

    responsiveness = _responsiveness(store)
    return render_report(store, out_dir, redact=redact, compare=Path(compare) if compare else None,
                         weights_path=Path(weights) if weights else None, responsiveness=responsiveness)


def _responsiveness(store: Any) -> dict[str, Any] | None:
    """Live-probe figures per company, when the opt-in probes ran (else None)."""
    try:
        from auditor.probes.inquiries import scoring_probes
    except ImportError:
        return None
    try:
        return scoring_probes(store) or None
    except Exception:  # noqa: BLE001 - a probe table problem must not block the report
        log.exception("could not read the live-probe results")
        return None


def _network_from_env() -> Any:
    """Test and lab hook: ports and CA the validators use instead of the defaults.

    AUDITOR_HTTP_PORT_OVERRIDES='{"http": 8080, "https": 8443}' and
    AUDITOR_CA_FILE=/path/ca.pem point HTTP checks at a lab on loopback.
    """
    import os

    from auditor.validation import NetworkOptions

    raw = os.environ.get("AUDITOR_HTTP_PORT_OVERRIDES", "")
    overrides: dict[str, int] = {}
    if raw:
        try:
            overrides = {str(k): int(v) for k, v in json.loads(raw).items()}
        except (ValueError, AttributeError) as exc:
            from auditor.config import ConfigError

            raise ConfigError(f"AUDITOR_HTTP_PORT_OVERRIDES must be a JSON object of ports: {exc}") from exc
    return NetworkOptions(http_port_overrides=overrides, ca_file=os.environ.get("AUDITOR_CA_FILE") or None)


def _sip_config(settings: Any, config_file: str | None) -> Any:
    """The user's trunk for --probe-lines, or None (the probe then does not run)."""
    if not settings.probe_lines:
        return None
    from auditor.config import ConfigError
    from auditor.probes.sip.config import SipConfigError, load_sip_config

    if not config_file:
        raise ConfigError("--probe-lines needs --config FILE with a [sip] table naming your own SIP trunk")
    try:
        return load_sip_config(config_file)
    except SipConfigError as exc:
        raise ConfigError(str(exc)) from exc


def _validate(store: Any, settings: Any, network: Any = None) -> Any:
    from auditor.validation import validate_store

    network = network or _network_from_env()
    progress = settings.progress and sys.stderr.isatty()
    sip = _sip_config(settings, settings.config_file)
    ledger = Path(store.path).parent / "line-probe-ledger.json" if hasattr(store, "path") else None
    counts = validate_store(store, settings, network, progress=progress, sip_config=sip, ledger_path=ledger)
    log.info("verdicts: %s", dict(counts))
    return counts


def _pages_per_second(stats: dict[str, Any]) -> float | None:
    start, end = stats.get("start_time"), stats.get("finish_time")
    count = stats.get("response_received_count", 0)
    if start and end and count:
        seconds = (end - start).total_seconds()
        return round(count / seconds, 2) if seconds > 0 else None
    return None


def _print_summary(summary: dict[str, Any], out_dir: Path) -> None:
    print(f"Companies audited: {summary['companies']} ({summary['companies_failed']} unreachable)"
          f", input errors: {summary['input_errors']}")
    print(f"Pages fetched: {summary['pages']}")
    kinds = ", ".join(f"{k} {v}" for k, v in summary["contact_points"].items()) or "none"
    print(f"Contact points: {kinds}")
    if summary.get("verdicts"):
        v = summary["verdicts"]
        print(f"Verdicts: active {v.get('active', 0)}, inactive {v.get('inactive', 0)}, "
              f"unknown {v.get('unknown', 0)} (unknown is never counted as inactive)")
    if summary["errors"]:
        print("Findings and errors: " + ", ".join(f"{k} {v}" for k, v in summary["errors"].items()))
    print(f"Results: {out_dir / 'results.json'}, {out_dir / 'contacts.csv'} (database {out_dir / 'audit.sqlite'})")


def cmd_audit(args: argparse.Namespace) -> int:
    if not args.companies and not args.resume:
        print("auditor audit: give COMPANIES (CSV, JSON Lines or a URL) or --resume DIR", file=sys.stderr)
        return EXIT_USAGE
    out_dir = Path(args.resume or args.out)
    settings = _settings_from(args)
    _setup_logging(out_dir, args.verbose)
    report = None if args.no_report else _report_options(args)
    return run_audit(args.companies, out_dir, settings, resume=bool(args.resume), report=report)


def _report_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"redact": not getattr(args, "no_redact", False), "compare": getattr(args, "compare", None),
            "weights": getattr(args, "weights", None)}


def cmd_report(args: argparse.Namespace) -> int:
    from auditor.store import open_store

    out_dir = Path(args.dir)
    if not (out_dir / "audit.sqlite").exists():
        print(f"auditor report: no audit in {out_dir}", file=sys.stderr)
        return EXIT_USAGE
    if args.compare and not (Path(args.compare) / "audit.sqlite").exists() and not (Path(args.compare) / "results.json").exists():
        print(f"auditor report: --compare {args.compare} holds no audit", file=sys.stderr)
        return EXIT_USAGE
    _setup_logging(out_dir, args.verbose)
    store = open_store(out_dir)
    try:
        index = _write_report(store, out_dir, **_report_options(args))
    finally:
        store.close()
    print(f"Report: {index} (open it in a browser: file://{index.resolve()})")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from auditor import selfcheck
    from auditor.inputs import normalize_website
    from auditor.score import load_weights, score_company
    from auditor.store import open_store

    if normalize_website(args.url) is None:
        print(f"auditor check: {args.url!r} is not an http(s) website URL", file=sys.stderr)
        return EXIT_USAGE
    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="auditor-check-"))
    settings = _settings_from(args, progress=False)
    _setup_logging(out_dir, args.verbose)
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        rc = run_audit(args.url, out_dir, settings, report=None if args.no_report else _report_options(args))
    if rc not in (EXIT_OK,):
        return rc
    store = open_store(out_dir)
    try:
        result = next(iter(store.results()))
        verdicts = store.verdicts(result.company.key)
        card = score_company(result, verdicts, load_weights(args.weights) if args.weights else None)
    finally:
        store.close()
    outcome = selfcheck.build_outcome(result, verdicts, card, args.fail_under, args.fail_on_inactive)
    print(selfcheck.print_json(outcome) if args.json else selfcheck.render_text(outcome))
    if args.junit:
        selfcheck.write_junit(outcome, Path(args.junit))
    if not args.json:
        print(f"\nFull results and report in {out_dir}")
    return EXIT_CHECK_FAILED if outcome.exit_reasons else EXIT_OK


# -- validate / verify ------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    from auditor.export import export
    from auditor.store import open_store

    out_dir = Path(args.dir)
    if not (out_dir / "audit.sqlite").exists():
        print(f"auditor validate: no audit in {out_dir} (expected {out_dir / 'audit.sqlite'})", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings_from(args)
    _setup_logging(out_dir, args.verbose)
    store = open_store(out_dir)
    try:
        counts = _validate(store, settings)
        summary = export(store, out_dir)
        summary["verdicts"] = dict(counts)
        _print_summary(summary, out_dir)
    finally:
        store.close()
    return EXIT_OK


def _verify_point(kind: str, value: str, country: str | None) -> Any:
    from auditor.extract import extract_contacts, parse_page
    from auditor.models import ContactPoint

    if kind == "url":
        page = parse_page(f'<a href="{value}">link</a>', value)
        found = [c for c in extract_contacts(page, country) if c.kind in ("messaging", "chat")]
        if found:
            return found[0]
        return ContactPoint("form", value, value, None, "form", value, "", 1.0, {"page_check": True})
    return ContactPoint(kind, value.strip(), value, None, "text", "", "", 1.0)


def cmd_verify(args: argparse.Namespace) -> int:
    import asyncio

    from auditor.validation import check_key, validate_points

    settings = _settings_from(args)
    _setup_logging(None, args.verbose)
    cp = _verify_point(args.kind, args.value, args.country)
    network = _network_from_env()
    if args.kind == "url" and cp.kind == "form":
        verdict = asyncio.run(_check_page(args.value, settings, network))
    else:
        verdicts = asyncio.run(validate_points([(cp, args.country)], settings, network))
        verdict = verdicts[check_key(cp)]
    doc = {
        "kind": args.kind if args.kind != "url" or cp.kind == "form" else cp.kind,
        "value": verdict.value,
        "verdict": verdict.verdict,
        "reason": verdict.reason,
        "message": verdict.message,
        "flags": list(verdict.flags),
        "checks": [
            {"name": c.name, "verdict": c.verdict, "reason": c.reason, "message": c.message,
             "evidence": dict(c.evidence), "duration_ms": round(c.duration_ms, 1)}
            for c in verdict.checks
        ],
    }
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
    else:
        print(f"{doc['kind']} {doc['value']}: {doc['verdict'].upper()} ({doc['reason']})")
        if doc["message"]:
            print(f"  {doc['message']}")
        for c in doc["checks"]:
            print(f"  - {c['name']}: {c['verdict']} ({c['reason']}) {c['message']}")
    return EXIT_OK


async def _check_page(url: str, settings: Any, network: Any) -> Any:
    from auditor.net.guard import AddressPolicy
    from auditor.net.resolver import DnsResolver
    from auditor.validate.http import HttpClient
    from auditor.validate.links import LinkValidator

    resolver = DnsResolver(settings.nameserver, settings.dns_timeout)
    async with HttpClient(resolver, AddressPolicy(settings.allow_private_targets),
                          user_agent=settings.effective_user_agent(), timeout=settings.timeout,
                          port_overrides=network.http_port_overrides, ca_file=network.ca_file) as http:
        return await LinkValidator(http).check_page(url)


# -- inquiries (opt-in mystery-shopper email) ----------------------------------------
def cmd_inquiries(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from auditor.probes import inquiries as inq
    from auditor.store import open_store

    out_dir = Path(args.dir)
    if not (out_dir / "audit.sqlite").exists():
        print(f"auditor inquiries: no audit in {out_dir}", file=sys.stderr)
        return EXIT_USAGE
    if not args.config:
        print("auditor inquiries: --config FILE with an [inquiries] table is required "
              "(your own submission server and mailbox; see the README)", file=sys.stderr)
        return EXIT_USAGE
    _setup_logging(out_dir, args.verbose)
    try:
        config = inq.load_config(args.config)
    except Exception as exc:  # noqa: BLE001 - the probe's ConfigError and I/O errors
        print(f"auditor inquiries: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store = open_store(out_dir)
    try:
        if args.action == "send":
            if config.submission is None:
                print("auditor inquiries: [inquiries.submission] is missing from the config", file=sys.stderr)
                return EXIT_USAGE
            plan = inq.plan_inquiries(store, config.inquiry)

            def confirm(text: str) -> bool:
                print(text)
                if args.yes:
                    return True
                if not sys.stdin.isatty():
                    print("auditor inquiries: not a terminal; pass --yes to send", file=sys.stderr)
                    return False
                return input("Send these inquiries? [y/N] ").strip().lower() in ("y", "yes")

            try:
                report = inq.send_inquiries(list(plan), config.submission, confirm=confirm,
                                            rate_per_minute=config.inquiry.rate_per_minute,
                                            dry_run=args.dry_run, store=store)
            except inq.SubmissionError as exc:
                print(f"auditor inquiries: {exc}", file=sys.stderr)
                return EXIT_USAGE
            print(report.summary())
        else:
            if config.imap is None:
                print("auditor inquiries: [inquiries.imap] is missing from the config", file=sys.stderr)
                return EXIT_USAGE
            try:
                collected = inq.collect_replies(store, config.imap,
                                                cutoff=timedelta(days=config.inquiry.cutoff_days))
            except inq.CollectError as exc:
                print(f"auditor inquiries: {exc}", file=sys.stderr)
                return EXIT_USAGE
            print(collected.summary())
            statuses: dict[str, int] = {}
            for value in inq.responsiveness(store).values():
                statuses[value["status"]] = statuses.get(value["status"], 0) + 1
            print("Responsiveness: " + (", ".join(f"{k} {v}" for k, v in sorted(statuses.items())) or "none yet"))
            print(f"Re-render the report with `auditor report {out_dir}` to show it.")
    finally:
        store.close()
    return EXIT_OK


# -- extract --------------------------------------------------------------------
def cmd_extract(args: argparse.Namespace) -> int:
    from auditor.extract import extract_page

    try:
        body = Path(args.page).read_bytes()
    except OSError as exc:
        print(f"auditor extract: cannot read {args.page}: {exc.strerror}", file=sys.stderr)
        return EXIT_NOTHING
    contacts = extract_page(body, args.url, args.country)
    if args.json:
        print(json.dumps({"url": args.url, "contacts": [c.to_dict() for c in contacts]},
                         ensure_ascii=False, indent=2))
    else:
        for c in contacts:
            label = f" [{c.label}]" if c.label else ""
            print(f"{c.kind:9} {c.value}{label}  ({c.method}: {c.raw!r})")
        if not contacts:
            print("no contact points found")
    return EXIT_OK


# -- demo -----------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from auditor.lab import Lab, load_world
    from auditor.lab.probes import LabProbeServers

    out_dir = Path(args.out)
    _setup_logging(out_dir, args.verbose)
    world = load_world(args.world)
    with Lab(world).start() as lab, LabProbeServers() as probes:
        companies_csv = out_dir / "input-companies.csv"
        out_dir.mkdir(parents=True, exist_ok=True)
        lab.write_companies_csv(companies_csv)
        probes_toml = out_dir / "probes.toml"
        probes_toml.write_text(probes.config_toml(), encoding="utf-8")
        (out_dir / "line-probe-ledger.json").unlink(missing_ok=True)
        print(f"Lab running: web on 127.0.0.1:{lab.http_port}, DNS on {lab.nameserver}; "
              f"{len(world.companies)} fictional companies, their mail servers, phone lines and chat hosts")
        lab_settings: dict[str, Any] = {
            "nameserver": lab.nameserver, "allow_private_targets": True,
            "delay": args.delay if args.delay is not None else 0.05,
            "timeout": args.timeout if args.timeout is not None else 5.0,
            "helo": args.helo or "demo.auditor.test",
            "contact_url": args.contact_url or "https://demo.auditor.test/about-this-crawler",
            "mail_from": args.mail_from or "probe@demo.auditor.test",
            "smtp_timeout": args.smtp_timeout if args.smtp_timeout is not None else 3.0,
            "greylist_delay": args.greylist_delay if args.greylist_delay is not None else 2.0,
            "probe_lines": not args.no_live_probes,
        }
        network = None
        if getattr(lab, "smtp_port", None):
            lab_settings["smtp_port"] = lab.smtp_port
        if hasattr(lab, "network_options"):
            network = lab.network_options()
        if not args.config:
            args.config = str(probes_toml)  # the lab's trunk for the line probe
        settings = _settings_from(args, **lab_settings)
        rc = run_audit(str(companies_csv), out_dir, settings, network=network, report=None)
        if rc != EXIT_OK:
            return rc
        if not args.no_live_probes:
            _demo_inquiries(out_dir, probes_toml)
    from auditor.store import open_store

    store = open_store(out_dir)
    try:
        index = _write_report(store, out_dir, **_report_options(args))
    finally:
        store.close()
    print(f"Report: {index} (open it in a browser: file://{index.resolve()})")
    return rc


def _demo_inquiries(out_dir: Path, probes_toml: Path) -> None:
    """Send the mystery-shopper inquiries to the lab and collect the (compressed-clock) replies."""
    from datetime import UTC, datetime, timedelta

    from auditor.probes import inquiries as inq
    from auditor.store import open_store

    config = inq.load_config(probes_toml)
    store = open_store(out_dir)
    try:
        plan = inq.plan_inquiries(store, config.inquiry)
        assert config.submission is not None and config.imap is not None
        sent = inq.send_inquiries(list(plan), config.submission, confirm=lambda _text: True,
                                  rate_per_minute=config.inquiry.rate_per_minute, store=store,
                                  sleep=lambda _seconds: None)
        # The lab's agents reply on a compressed clock; collect as of a week later.
        cutoff = timedelta(days=config.inquiry.cutoff_days)
        inq.collect_replies(store, config.imap, now=datetime.now(UTC) + cutoff + timedelta(hours=1), cutoff=cutoff)
        statuses: dict[str, int] = {}
        for value in inq.responsiveness(store).values():
            statuses[value["status"]] = statuses.get(value["status"], 0) + 1
        print(f"Mystery-shopper inquiries: {len(sent.sent)} sent; replies a week later: "
              + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    finally:
        store.close()


def cmd_lab(args: argparse.Namespace) -> int:
    from auditor.lab.__main__ import main as lab_main

    return int(lab_main(args.lab_args) or 0)


# -- parser ---------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auditor",
        description="Audit whether companies can really be contacted: harvest every published "
        "contact point from their websites, validate it and report.",
        epilog="Start with `auditor demo` (offline, built-in lab world). Exit codes: 0 done, "
        "1 check failed, 2 usage/config error, 3 nothing to audit, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"contact-auditor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("audit", help="crawl companies' websites and harvest their contact points",
                       description="Crawl each company's website (robots.txt obeyed, one request per "
                       "second per host), harvest every contact point with its provenance, store it "
                       "in DIR/audit.sqlite and write DIR/results.json and DIR/contacts.csv.")
    p.add_argument("companies", nargs="?", metavar="COMPANIES",
                   help="CSV (name,website[,country,industry,language]), JSON Lines, or one URL")
    p.add_argument("--out", default="audit-out", metavar="DIR", help="output directory (default audit-out)")
    p.add_argument("--resume", metavar="DIR", help="finish an interrupted audit in DIR")
    p.add_argument("--no-validate", action="store_true", help="harvest only")
    _add_report_options(p)
    _add_crawl_options(p)
    p.set_defaults(func=cmd_audit)

    p = sub.add_parser("validate", help="(re)validate the contact points of a stored audit",
                       description="Check every contact point stored in DIR again and rewrite the results.")
    p.add_argument("dir", metavar="DIR")
    _add_crawl_options(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("verify", help="check one email address, phone number or URL",
                       description="Check one value and print its verdict with the evidence.")
    p.add_argument("kind", choices=("email", "phone", "url"))
    p.add_argument("value")
    p.add_argument("--country", metavar="CC", help="ISO 3166 alpha-2 country for local phone formats")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_crawl_options(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("extract", help="harvest contact points from one saved page",
                       description="Run the extractors on a saved HTML page (no network).")
    p.add_argument("page", metavar="PAGE.html")
    p.add_argument("--url", required=True, help="the URL the page was fetched from")
    p.add_argument("--country", metavar="CC", help="ISO 3166 alpha-2 country of the company")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("demo", help="audit the built-in offline lab world (no network needed)",
                       description="Start the lab (fictional companies' websites and DNS on "
                       "loopback), audit every company and write the results.")
    p.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "auditor-demo"), metavar="DIR")
    p.add_argument("--world", metavar="FILE", help="a world file instead of the built-in one")
    p.add_argument("--no-live-probes", action="store_true",
                   help="skip the lab's line probe and mystery-shopper inquiries")
    _add_report_options(p)
    _add_crawl_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("report", help="write the HTML report and exports of a stored audit",
                       description="Render DIR/report/ (a static site that works offline) and "
                       "DIR/companies.csv from the audit stored in DIR.")
    p.add_argument("dir", metavar="DIR")
    _add_report_options(p, no_report=False)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("check", help="audit one site (your own) and print what to fix; CI-friendly",
                       description="Audit one website and print its contact points, verdicts, score "
                       "and what to fix first. Exit code 1 when a --fail-* gate fails.")
    p.add_argument("url", metavar="URL")
    p.add_argument("--out", metavar="DIR", help="keep the full audit here (default: a temporary directory)")
    p.add_argument("--fail-under", type=float, metavar="SCORE", help="exit 1 when the total score is below SCORE")
    p.add_argument("--fail-on-inactive", action="store_true", help="exit 1 when any contact point is inactive")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--junit", metavar="FILE", help="also write a JUnit XML file (for CI test reports)")
    p.add_argument("--no-validate", action="store_true", help=argparse.SUPPRESS)
    _add_report_options(p)
    _add_crawl_options(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("inquiries", help="opt-in mystery-shopper email: send inquiries, collect replies",
                       description="Send one short inquiry per audited company from your own mailbox "
                       "(asks for confirmation; --yes for scripts), then collect and classify the "
                       "replies over IMAP (safe to run repeatedly, e.g. from cron).")
    p.add_argument("action", choices=("send", "collect"))
    p.add_argument("dir", metavar="DIR", help="the audit directory")
    p.add_argument("--config", metavar="FILE", help="TOML with [inquiries], [inquiries.submission], [inquiries.imap]")
    p.add_argument("--yes", action="store_true", help="send without asking (for scripts)")
    p.add_argument("--dry-run", action="store_true", help="show what would be sent, send nothing")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_inquiries)

    p = sub.add_parser("lab", help="serve the lab world in the foreground (for trying things by hand)")
    p.add_argument("lab_args", nargs=argparse.REMAINDER, help="options of python -m auditor.lab")
    p.set_defaults(func=cmd_lab)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    from auditor.config import ConfigError

    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"auditor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("auditor: interrupted; finished companies are saved, resume with --resume DIR", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
