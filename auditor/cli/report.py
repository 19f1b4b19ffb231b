"""`auditor report DIR`: write the HTML report and exports of a stored audit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from auditor.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_report_options,
    print_report,
    report_options,
    setup_logging,
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="write the HTML report and exports of a stored audit",
                       description="Render DIR/report/ (a static site that works offline) and "
                       "DIR/companies.csv from the audit stored in DIR.")
    p.add_argument("dir", metavar="DIR")
    add_report_options(p, no_report=False)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline

    out_dir = Path(args.dir)
    if not (out_dir / "audit.sqlite").exists():
        print(f"auditor report: no audit in {out_dir}", file=sys.stderr)
        return EXIT_USAGE
    if args.compare and not (Path(args.compare) / "audit.sqlite").exists() and not (Path(args.compare) / "results.json").exists():
        print(f"auditor report: --compare {args.compare} holds no audit", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(out_dir, args.verbose)
    print_report(pipeline.write_report(out_dir, report_options(args)))
    return EXIT_OK
