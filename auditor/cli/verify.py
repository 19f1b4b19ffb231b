"""`auditor verify KIND VALUE`: check one email address, phone number or URL."""

from __future__ import annotations

import argparse
import json
from typing import Any

from auditor.cli.common import EXIT_OK, add_crawl_options, settings_from, setup_logging


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("verify", help="check one email address, phone number or URL",
                       description="Check one value and print its verdict with the evidence.")
    p.add_argument("kind", choices=("email", "phone", "url"))
    p.add_argument("value")
    p.add_argument("--country", metavar="CC", help="ISO 3166 alpha-2 country for local phone formats")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline

    settings = settings_from(args)
    setup_logging(None, args.verbose)
    cp = pipeline.verify_point(args.kind, args.value, args.country)
    verdict = pipeline.verify(cp, args.country, settings)
    doc: dict[str, Any] = {
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
