"""`auditor check URL`: audit one site (your own) and print what to fix; CI-friendly."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from auditor import selfcheck
from auditor.cli.common import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    add_crawl_options,
    add_report_options,
    exit_code,
    report_options,
    settings_from,
    setup_logging,
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    add_report_options(p)
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline
    from auditor.harvest.inputs import normalize_website

    if normalize_website(args.url) is None:
        print(f"auditor check: {args.url!r} is not an http(s) website URL", file=sys.stderr)
        return EXIT_USAGE
    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="auditor-check-"))
    settings = settings_from(args, progress=False)
    setup_logging(out_dir, args.verbose)
    rc = exit_code(pipeline.run_audit(args.url, out_dir, settings).outcome)
    if rc != EXIT_OK:
        return rc
    if not args.no_report:  # kept in --out; the check prints its own outcome, not the audit's lines
        pipeline.write_report(out_dir, report_options(args))
    result, verdicts, card = pipeline.score_single(out_dir, args.weights)
    outcome = selfcheck.build_outcome(result, verdicts, card, args.fail_under, args.fail_on_inactive)
    print(selfcheck.print_json(outcome) if args.json else selfcheck.render_text(outcome))
    if args.junit:
        selfcheck.write_junit(outcome, Path(args.junit))
    if not args.json:
        print(f"\nFull results and report in {out_dir}")
    return EXIT_CHECK_FAILED if outcome.exit_reasons else EXIT_OK
