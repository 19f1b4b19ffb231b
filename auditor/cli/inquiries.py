"""`auditor inquiries send|collect DIR`: the opt-in mystery-shopper email probe."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.cli.common import EXIT_OK, EXIT_USAGE, setup_logging
from auditor.store import Store, open_store

if TYPE_CHECKING:
    from auditor.probes.inquiries import ProbeConfig


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("inquiries", help="opt-in mystery-shopper email: send inquiries, collect replies",
                       description="Send one short inquiry per audited company from your own mailbox "
                       "(asks for confirmation; --yes for scripts), then collect and classify the "
                       "replies over IMAP (safe to run repeatedly, e.g. from cron).")
    p.add_argument("action", choices=("send", "collect"))
    p.add_argument("dir", metavar="DIR", help="the audit directory")
    p.add_argument("--config", metavar="FILE", help="TOML with [inquiries], [inquiries.submission], [inquiries.imap]")
    p.add_argument("--yes", action="store_true", help="send without asking (for scripts)")
    p.add_argument("--dry-run", action="store_true", help="show what would be sent, send nothing")
    p.add_argument("--interval-days", type=float, metavar="DAYS",
                   help="ask a company at most once per DAYS, across waves and runs (overrides [inquiries] "
                   "interval_days; 0 lifts the limit)")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=run)


def status_counts(store: Store) -> str:
    """Companies by responsiveness status, as the console shows them ("" when none yet)."""
    # mail clients and classifier: only when the command runs
    from auditor.probes import inquiries as inq

    statuses: dict[str, int] = {}
    for value in inq.responsiveness(store).values():
        statuses[value["status"]] = statuses.get(value["status"], 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))


def run(args: argparse.Namespace) -> int:
    # mail clients and classifier: only when the command runs
    from auditor.probes import inquiries as inq

    out_dir = Path(args.dir)
    if not (out_dir / "audit.sqlite").exists():
        print(f"auditor inquiries: no audit in {out_dir}", file=sys.stderr)
        return EXIT_USAGE
    if not args.config:
        print("auditor inquiries: --config FILE with an [inquiries] table is required "
              "(your own submission server and mailbox; see the README)", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(out_dir, args.verbose)
    try:
        config = inq.load_config(args.config)
    except Exception as exc:  # noqa: BLE001 - the probe's ConfigError and I/O errors
        print(f"auditor inquiries: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store = open_store(out_dir)
    try:
        if args.action == "send":
            return _send(args, config, store)
        return _collect(config, store, out_dir)
    finally:
        store.close()


def _send(args: argparse.Namespace, config: ProbeConfig, store: Store) -> int:
    # mail clients and classifier: only when the command runs
    from auditor.probes import inquiries as inq

    if config.submission is None:
        print("auditor inquiries: [inquiries.submission] is missing from the config", file=sys.stderr)
        return EXIT_USAGE
    inquiry = config.inquiry
    if args.interval_days is not None:
        inquiry = replace(inquiry, interval_days=args.interval_days)  # validated again on construction
    plan = inq.plan_inquiries(store, inquiry)

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
                                    dry_run=args.dry_run, store=store, interval_days=inquiry.interval_days)
    except inq.SubmissionError as exc:
        print(f"auditor inquiries: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(report.summary())
    return EXIT_OK


def _collect(config: ProbeConfig, store: Store, out_dir: Path) -> int:
    # mail clients and classifier: only when the command runs
    from auditor.probes import inquiries as inq

    if config.imap is None:
        print("auditor inquiries: [inquiries.imap] is missing from the config", file=sys.stderr)
        return EXIT_USAGE
    try:
        collected = inq.collect_replies(store, config.imap, cutoff=timedelta(days=config.inquiry.cutoff_days))
    except inq.CollectError as exc:
        print(f"auditor inquiries: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(collected.summary())
    print("Responsiveness: " + (status_counts(store) or "none yet"))
    print(f"Re-render the report with `auditor report {out_dir}` to show it.")
    return EXIT_OK
