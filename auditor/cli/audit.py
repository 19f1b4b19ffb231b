"""`auditor audit`: crawl companies' websites, validate, export, report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from auditor.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_crawl_options,
    add_report_options,
    exit_code,
    print_report,
    print_summary,
    report_options,
    settings_from,
    setup_logging,
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="crawl companies' websites and harvest their contact points",
                       description="Crawl each company's website (robots.txt obeyed, one request per "
                       "second per host), harvest every contact point with its provenance, store it "
                       "in DIR/audit.sqlite and write DIR/results.json and DIR/contacts.csv.")
    p.add_argument("companies", nargs="?", metavar="COMPANIES",
                   help="CSV (name,website[,country,industry,language]), JSON Lines, or one URL")
    p.add_argument("--out", default="audit-out", metavar="DIR", help="output directory (default audit-out)")
    p.add_argument("--resume", metavar="DIR", help="finish an interrupted audit in DIR")
    p.add_argument("--no-validate", action="store_true", help="harvest only")
    add_report_options(p)
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline

    if not args.companies and not args.resume:
        print("auditor audit: give COMPANIES (CSV, JSON Lines or a URL) or --resume DIR", file=sys.stderr)
        return EXIT_USAGE
    out_dir = Path(args.resume or args.out)
    settings = settings_from(args)
    setup_logging(out_dir, args.verbose)
    run = pipeline.run_audit(args.companies, out_dir, settings, resume=bool(args.resume))
    if run.summary is not None:
        print_summary(run.summary, out_dir)
    rc = exit_code(run.outcome)
    if rc == EXIT_OK and not args.no_report:
        print_report(pipeline.write_report(out_dir, report_options(args)))
    return rc
