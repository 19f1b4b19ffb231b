"""What every subcommand shares: options, settings from flags, logging, exit codes.

Exit codes: 0 the run completed (per-company failures are recorded, not fatal);
1 a check failed its threshold (`check`); 2 usage or configuration error;
3 nothing could be audited (unreadable input, no valid row); 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor.config import RENDER_MODES, Settings, build_settings
from auditor.dist import DEFAULT_LEASE

if TYPE_CHECKING:
    from auditor.pipeline import Outcome, ReportOptions

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_NOTHING, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# Outcome values of auditor.pipeline.run_audit and their exit codes.
_OUTCOME_EXIT = {"done": EXIT_OK, "nothing-to-resume": EXIT_USAGE, "nothing": EXIT_NOTHING,
                 "interrupted": EXIT_INTERRUPTED}

DEFAULTS = Settings()


def exit_code(outcome: Outcome) -> int:
    return _OUTCOME_EXIT[outcome.value]


def _default(name: str) -> str:
    """A setting's default as the help texts show it (1 s, not 1.0 s)."""
    return f"{getattr(DEFAULTS, name):g}"


def add_crawl_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("crawling")
    g.add_argument("--config", metavar="FILE", help="TOML config file (flags override it)")
    g.add_argument("--max-pages", type=int, metavar="N", help=f"page budget per company (default {_default('max_pages')})")
    g.add_argument("--max-depth", type=int, metavar="N", help=f"link depth limit (default {_default('max_depth')})")
    g.add_argument("--delay", type=float, metavar="SECONDS",
                   help=f"pause between requests to one host (default {_default('delay')})")
    g.add_argument("--concurrency", type=int, metavar="N",
                   help=f"requests in flight overall (default {_default('concurrency')})")
    g.add_argument("--timeout", type=float, metavar="SECONDS", help=f"per HTTP request (default {_default('timeout')})")
    g.add_argument("--company-timeout", type=float, metavar="SECONDS",
                   help=f"time budget per company (default {_default('company_timeout')})")
    g.add_argument("--max-page-bytes", type=int, metavar="BYTES",
                   help=f"largest page downloaded (default {DEFAULTS.max_page_bytes // (1 << 20)} MiB)")
    g.add_argument("--max-redirects", type=int, metavar="N",
                   help=f"redirects followed per request (default {_default('max_redirects')})")
    g.add_argument("--user-agent", metavar="UA", help="full User-Agent (default names the tool and --contact-url)")
    g.add_argument("--contact-url", metavar="URL", help="where site owners can read about this crawler")
    g.add_argument("--no-autothrottle", dest="autothrottle", action="store_const", const=False,
                   help="fixed --delay instead of Scrapy's AutoThrottle (benchmarks, your own site)")
    g.add_argument("--ignore-robots", dest="obey_robots", action="store_const", const=False,
                   help="do not obey robots.txt (only for your own site)")
    g.add_argument("--fingerprints", metavar="PATH",
                   help="Wappalyzer-format technologies (folder or file): their live-chat ones are added")
    n = p.add_argument_group("network")
    n.add_argument("--nameserver", metavar="IP[:PORT]", help="DNS server for every lookup (default: system resolver)")
    n.add_argument("--dns-timeout", type=float, metavar="SECONDS", help=f"per DNS query (default {_default('dns_timeout')})")
    n.add_argument("--allow-private-targets", action="store_const", const=True, default=None,
                   help="allow connections to private, loopback and reserved addresses (lab, intranets)")
    m = p.add_argument_group("email checks")
    m.add_argument("--smtp-port", type=int, metavar="PORT", help=f"SMTP port of mail hosts (default {_default('smtp_port')})")
    m.add_argument("--helo", metavar="FQDN", help="your host name for EHLO (with a matching PTR record)")
    m.add_argument("--mail-from", metavar="ADDRESS", help="MAIL FROM address on your own domain")
    m.add_argument("--smtp-timeout", type=float, metavar="SECONDS", help=f"per SMTP step (default {_default('smtp_timeout')})")
    m.add_argument("--greylist-delay", type=float, metavar="SECONDS",
                   help=f"wait before re-probing a greylisted address (default {_default('greylist_delay')})")
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
    g.add_argument("--render", choices=RENDER_MODES, metavar="auto|always|never",
                   help="render pages built by scripts in headless Chromium and harvest what they show: "
                   f"auto renders the pages that need it (default {DEFAULTS.render}; never without Chromium)")
    p.add_argument("--browser", action="store_const", const=True, default=None,
                   help="also render contact pages in headless Chromium to find chat widgets only "
                   "JavaScript injects and see whether the launcher appears (slower)")
    o = p.add_argument_group("output")
    o.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="no progress bar")
    o.add_argument("-v", "--verbose", action="store_true", help="log Scrapy's own messages too")


def add_shared_options(p: argparse.ArgumentParser, queue: bool = True, queue_required: bool = False) -> None:
    """--store (and --queue): where a distributed run keeps its results and its work."""
    g = p.add_argument_group("distributed run")
    g.add_argument("--store", metavar="URL", help="shared store of a distributed run (postgresql://user@host/db)")
    if queue:
        g.add_argument("--queue", metavar="URL", required=queue_required,
                       help="Redis holding the run's queue of companies (redis://host:6379/0)")
        g.add_argument("--lease", type=float, metavar="SECONDS",
                       help=f"how long a claimed company stays a worker's without renewal (default {DEFAULT_LEASE:g})")


def server_errors() -> tuple[type[Exception], ...]:
    """Errors that mean the shared store or the queue cannot be reached (caught by the distributed commands)."""
    import redis
    import sqlalchemy.exc

    return (sqlalchemy.exc.OperationalError, redis.ConnectionError, redis.TimeoutError)


def unreachable(command: str, exc: Exception) -> int:
    """Say which server failed, in one line (no traceback); the usage exit code."""
    from auditor.masking import mask_credentials

    first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    print(f"auditor {command}: cannot reach the shared store or the queue: {mask_credentials(first)}",
          file=sys.stderr)
    return EXIT_USAGE


def add_report_options(p: argparse.ArgumentParser, no_report: bool = True) -> None:
    g = p.add_argument_group("report")
    if no_report:
        g.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    g.add_argument("--no-redact", action="store_true",
                   help="show personal email addresses in the report (redacted by default)")
    g.add_argument("--compare", metavar="PREVIOUS_DIR", help="add a page of changes against an earlier audit")
    g.add_argument("--weights", metavar="FILE", help="scoring weights TOML (default: the packaged one)")


def report_options(args: argparse.Namespace) -> ReportOptions:
    # the pipeline imports every stage: only when a command runs
    from auditor.pipeline import ReportOptions

    return ReportOptions(redact=not getattr(args, "no_redact", False), compare=getattr(args, "compare", None),
                         weights=getattr(args, "weights", None))


def print_summary(summary: Mapping[str, Any], out_dir: Path, database: str | None = None) -> None:
    """What a finished audit found, in a few lines (``database``: a shared store's URL)."""
    print(f"Companies audited: {summary['companies']} ({summary['companies_failed']} unreachable)"
          f", input errors: {summary['input_errors']}")
    print(f"Pages fetched: {summary['pages']}")
    rendering = summary.get("rendering")
    if rendering and rendering.get("pages"):
        memory = f", browser peak {rendering['peak_mb']:.0f} MB" if rendering.get("peak_mb") else ""
        print(f"Pages rendered (built by scripts): {rendering['pages']} in {rendering['seconds']:g} s{memory}, "
              f"{rendering['contact_points']} contact points only rendering showed")
    kinds = ", ".join(f"{k} {v}" for k, v in summary["contact_points"].items()) or "none"
    print(f"Contact points: {kinds}")
    if summary.get("verdicts"):
        v = summary["verdicts"]
        print(f"Verdicts: active {v.get('active', 0)}, inactive {v.get('inactive', 0)}, "
              f"unknown {v.get('unknown', 0)} (unknown is never counted as inactive)")
    if summary["errors"]:
        print("Findings and errors: " + ", ".join(f"{k} {v}" for k, v in summary["errors"].items()))
    from auditor.masking import mask_credentials

    shown = mask_credentials(database) if database else str(out_dir / "audit.sqlite")
    print(f"Results: {out_dir / 'results.json'}, {out_dir / 'contacts.csv'} (database {shown})")


def print_report(index: Path) -> None:
    print(f"Report: {index} (open it in a browser: file://{index.resolve()})")


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Defaults < --config file < flags given < ``overrides``; a bad [sip] table fails here."""
    # the pipeline imports every stage: only when a command runs
    from auditor.pipeline import chat_fingerprints, sip_config

    # A flag's dest is the name of the Settings field it sets; flags not given are None.
    flags = {f.name: getattr(args, f.name, None) for f in fields(Settings) if f.name != "config_file"}
    if getattr(args, "no_validate", False):
        flags["validate"] = False
    flags.update({k: v for k, v in overrides.items() if v is not None})
    settings = build_settings(getattr(args, "config", None), **flags)
    sip_config(settings)  # fail before any crawling, not after
    chat_fingerprints(settings)
    return settings


def setup_logging(out_dir: Path | None, verbose: bool) -> None:
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
    for noisy in ("scrapy", "twisted", "filelock", "py.warnings", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
