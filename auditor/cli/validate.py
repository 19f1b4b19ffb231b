"""`auditor validate DIR`: check the stored contact points again and rewrite the results."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from auditor.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_USAGE,
    add_crawl_options,
    add_shared_options,
    print_summary,
    server_errors,
    settings_from,
    setup_logging,
    unreachable,
)
from auditor.config import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="(re)validate the contact points of a stored audit",
                       description="Check every contact point stored in DIR again and rewrite the results. "
                       "With --store and --queue, the run's workers check them in batches (one mail host's "
                       "addresses, one platform's links per batch), as after a distributed crawl.")
    p.add_argument("dir", metavar="DIR", nargs="?", help="the audit folder (or the output folder of --store)")
    p.add_argument("--out", metavar="DIR", help="with --store: where the exports go (default audit-out)")
    add_shared_options(p)
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="with --store/--queue: local worker processes (default 1; 0: only workers started "
                   "elsewhere with `auditor worker --forever`)")
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline

    if args.queue and not args.store:
        print("auditor validate: --queue needs --store URL (the run's shared store)", file=sys.stderr)
        return EXIT_USAGE
    if args.store:
        out_dir = Path(args.out or args.dir or "audit-out")
        settings = settings_from(args)
        setup_logging(out_dir, args.verbose)
        try:
            if args.queue:
                return distributed(args, out_dir, settings)
            summary = pipeline.revalidate(out_dir, settings, store_target=args.store)
        except server_errors() as exc:
            return unreachable("validate", exc)
        print_summary(summary, out_dir, database=args.store)
        return EXIT_OK
    if not args.dir:
        print("auditor validate: give DIR (or --store URL)", file=sys.stderr)
        return EXIT_USAGE
    out_dir = Path(args.dir)
    if not (out_dir / "audit.sqlite").exists():
        print(f"auditor validate: no audit in {out_dir} (expected {out_dir / 'audit.sqlite'})", file=sys.stderr)
        return EXIT_USAGE
    settings = settings_from(args)
    setup_logging(out_dir, args.verbose)
    print_summary(pipeline.revalidate(out_dir, settings), out_dir)
    return EXIT_OK


def distributed(args: argparse.Namespace, out_dir: Path, settings: Settings) -> int:
    """Re-validate a shared run through its workers' batches, then rewrite the exports as the embedded one does."""
    from auditor import pipeline
    from auditor.dist import DEFAULT_LEASE
    from auditor.dist.run import (
        RunNotFinished,
        RunWork,
        WorkerOptions,
        describe,
        revalidate_and_enqueue,
        run_local_workers,
    )
    from auditor.dist.validation import wanted
    from auditor.masking import mask_credentials

    if not wanted(settings):
        # the opt-in browser and line probe run once, here (one trunk, one browser), as `audit --store` does
        print_summary(pipeline.revalidate(out_dir, settings, store_target=args.store), out_dir, database=args.store)
        return EXIT_OK
    try:
        run = revalidate_and_enqueue(args.store, args.queue)
    except RunNotFinished as exc:
        print(f"auditor validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if run is None:
        print(f"auditor validate: no run in {mask_credentials(args.store)}", file=sys.stderr)
        return EXIT_NOTHING
    print(f"Run {run}: validation planned by the workers of {mask_credentials(args.queue)}")
    work = RunWork.of(args.queue, run)
    if args.workers <= 0:
        print("Waiting for workers started elsewhere (`auditor worker --store STORE --queue QUEUE`)")
        try:
            while work.left() or not work.batches.is_stored():  # the workers store the verdicts themselves
                time.sleep(1.0)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
    else:
        run_local_workers(WorkerOptions(args.store, args.queue, args.lease or DEFAULT_LEASE, run=run), settings,
                          args.workers)
    if work.left():
        print(describe(work.queue.status().to_dict()), file=sys.stderr)
        print("auditor validate: batches are left; run `auditor worker` to finish them, then this command "
              "again", file=sys.stderr)
        return EXIT_INTERRUPTED
    summary = pipeline.revalidate(out_dir, settings, store_target=args.store, validated=work.verdicts(args.store))
    print_summary(summary, out_dir, database=args.store)
    return EXIT_OK
