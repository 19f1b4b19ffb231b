"""The `auditor` command: one module per subcommand, as Scrapy's ``commands/`` does.

Each subcommand module adds its parser (``add_parser``) and runs it (``run``):
it parses arguments, calls :mod:`auditor.pipeline` and prints. Options, logging
and exit codes shared by all of them are in :mod:`auditor.cli.common`.
"""

from __future__ import annotations

import argparse
import sys

from auditor import __version__
from auditor.cli import audit, check, demo, extract, inquiries, lab, report, validate, verify
from auditor.cli.common import EXIT_INTERRUPTED, EXIT_USAGE
from auditor.config import ConfigError

COMMANDS = (audit, validate, verify, extract, demo, report, check, inquiries, lab)


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
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"auditor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("auditor: interrupted; finished companies are saved, resume with --resume DIR", file=sys.stderr)
        return EXIT_INTERRUPTED
