"""`auditor wave DIR`: audit the companies of an existing audit again, as a new wave kept beside the earlier ones."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from auditor.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_crawl_options,
    add_report_options,
    add_shared_options,
    exit_code,
    print_report,
    print_summary,
    report_options,
    server_errors,
    settings_from,
    setup_logging,
    unreachable,
)
from auditor.config import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("wave", help="audit the companies of DIR again as a new wave (history kept)",
                       description="Harvest and validate every company of the audit in DIR again, with the "
                       "configuration it was audited with (flags given here override it, e.g. --line-window), "
                       "keeping every earlier wave. Refuses while another wave of DIR runs.")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--no-validate", action="store_true", help="harvest only")
    p.add_argument("--abandon-stale", action="store_true",
                   help="a previous wave whose process is gone (crashed) is marked 'crashed' and a new one starts")
    add_report_options(p)
    add_shared_wave_options(p)
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline
    from auditor.store.waves import WaveBusy
    from auditor.waves.run import abandon_stale, run_wave, stored_settings

    out_dir = Path(args.dir)
    if args.store or args.queue:
        return run_shared(args, out_dir)
    if not (out_dir / "audit.sqlite").exists():
        print(f"auditor wave: no audit in {out_dir} (expected {out_dir / 'audit.sqlite'})", file=sys.stderr)
        return EXIT_USAGE
    names = {f.name for f in fields(Settings)} - {"config_file"}
    # The stored configuration, except where a flag was given: defaults < config < stored < flags.
    stored = {k: v for k, v in stored_settings(out_dir).items() if k in names and getattr(args, k, None) is None}
    if args.no_validate:
        stored.pop("validate", None)
    settings = settings_from(args, **stored)
    setup_logging(out_dir, args.verbose)
    try:
        if args.abandon_stale and (stale := abandon_stale(out_dir)) is not None:
            print(f"auditor wave: wave {stale} had crashed; marked 'crashed'", file=sys.stderr)
        run, number = run_wave(out_dir, settings)
    except WaveBusy as busy:
        hint = ("its process is gone: check it, then run `auditor wave --abandon-stale DIR`"
                if busy.stale else "wait for it to finish")
        print(f"auditor wave: {busy}; {hint}", file=sys.stderr)
        return EXIT_USAGE
    if run.summary is not None:
        print(f"Wave {number} of {out_dir}")
        print_summary(run.summary, out_dir)
    rc = exit_code(run.outcome)
    if rc == EXIT_OK and not args.no_report:
        print_report(pipeline.write_report(out_dir, report_options(args)))
    return rc


# -- a wave of a distributed run (--store, --queue) ------------------------------
def add_shared_wave_options(p: argparse.ArgumentParser) -> None:
    add_shared_options(p)
    g = p.add_argument_group("distributed wave")
    g.add_argument("--workers", type=int, default=1, metavar="N",
                   help="with --store/--queue: local worker processes (default 1)")
    g.add_argument("--detach", action="store_true",
                   help="with --store/--queue: return once every company is enqueued; the wave command run "
                   "again after the workers drained the queue finishes the wave")


def run_shared(args: argparse.Namespace, out_dir: Path) -> int:
    """A wave through the run's queue (DIR receives the exports and the report), finished as `audit --store` is."""
    from auditor import pipeline
    from auditor.dist import DEFAULT_LEASE
    from auditor.masking import mask_credentials
    from auditor.store.waves import WaveBusy
    from auditor.waves.run import (
        QueueBusy,
        SharedWave,
        abandon_stale,
        run_shared_wave,
        stored_settings,
    )

    if not (args.store and args.queue):
        print("auditor wave: a distributed wave takes both --store URL and --queue URL", file=sys.stderr)
        return EXIT_USAGE
    try:
        names = {f.name for f in fields(Settings)} - {"config_file"}
        stored = {k: v for k, v in stored_settings(args.store).items() if k in names and getattr(args, k, None) is None}
        if args.no_validate:
            stored.pop("validate", None)
        settings = settings_from(args, **stored)
        setup_logging(out_dir, args.verbose)
        if args.abandon_stale and (stale := abandon_stale(args.store)) is not None:
            print(f"auditor wave: wave {stale} had crashed; marked 'crashed'", file=sys.stderr)
        shared = SharedWave(args.store, args.queue, max(1, args.workers), args.lease or DEFAULT_LEASE, args.detach)
        run, number = run_shared_wave(shared, out_dir, settings)
    except server_errors() as exc:
        return unreachable("wave", exc)
    except LookupError as exc:
        print(f"auditor wave: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (WaveBusy, QueueBusy) as busy:
        hint = ("its process is gone: check it, then run `auditor wave --abandon-stale DIR --store ... --queue ...`"
                if isinstance(busy, WaveBusy) and busy.stale else
                "finish it with `auditor worker`, then run this command again" if isinstance(busy, QueueBusy)
                else "wait for it to finish")
        print(f"auditor wave: {busy}; {hint}", file=sys.stderr)
        return EXIT_USAGE
    if run.summary is None and run.outcome is pipeline.Outcome.DONE:
        print(f"Wave {number} enqueued in {mask_credentials(args.queue)}: start workers with `auditor worker "
              "--store STORE --queue QUEUE`, then run this command again to finish the wave")
        return EXIT_OK
    if run.summary is not None:
        print(f"Wave {number} of {mask_credentials(args.store)}")
        print_summary(run.summary, out_dir, database=args.store)
    rc = exit_code(run.outcome)
    if rc == EXIT_OK and not args.no_report:
        print_report(pipeline.write_report(out_dir, report_options(args), store_target=args.store))
    return rc
