"""`auditor extract PAGE.html --url URL`: run the extractors on a saved page (no network)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from auditor.cli.common import EXIT_NOTHING, EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("extract", help="harvest contact points from one saved page",
                       description="Run the extractors on a saved HTML page (no network).")
    p.add_argument("page", metavar="PAGE.html")
    p.add_argument("--url", required=True, help="the URL the page was fetched from")
    p.add_argument("--country", metavar="CC", help="ISO 3166 alpha-2 country of the company")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the extractors' data load: only when the command runs
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
