"""`auditor validate DIR`: check the stored contact points again and rewrite the results."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from auditor.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_crawl_options,
    print_summary,
    settings_from,
    setup_logging,
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="(re)validate the contact points of a stored audit",
                       description="Check every contact point stored in DIR again and rewrite the results.")
    p.add_argument("dir", metavar="DIR")
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline

    out_dir = Path(args.dir)
    if not (out_dir / "audit.sqlite").exists():
        print(f"auditor validate: no audit in {out_dir} (expected {out_dir / 'audit.sqlite'})", file=sys.stderr)
        return EXIT_USAGE
    settings = settings_from(args)
    setup_logging(out_dir, args.verbose)
    print_summary(pipeline.revalidate(out_dir, settings), out_dir)
    return EXIT_OK
