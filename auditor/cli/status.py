"""`auditor status`: where a distributed run stands."""

from __future__ import annotations

import argparse
import json
import sys

from auditor.cli.common import EXIT_OK, EXIT_USAGE, add_shared_options, server_errors, unreachable


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="queued, in progress, done and failed companies of a distributed run",
                       description="Counts of the latest run in the shared store: queued, in progress, done, "
                       "failed; per worker; pages per second; time left.")
    add_shared_options(p)
    p.add_argument("--run", type=int, metavar="ID", help="the run (default: the store's latest)")
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _status(args)
    except server_errors() as exc:
        return unreachable("status", exc)


def _status(args: argparse.Namespace) -> int:
    from auditor.dist.queue import WorkQueue, connect
    from auditor.dist.run import current_run, describe, store_counts

    if not args.store:
        print("auditor status: give --store URL (and --queue URL for the queue's counts)", file=sys.stderr)
        return EXIT_USAGE
    run_id = args.run if args.run is not None else current_run(args.store)
    if run_id is None:
        print(f"auditor status: no run in {args.store}", file=sys.stderr)
        return EXIT_USAGE
    if args.queue:
        status = WorkQueue(connect(args.queue), run_id).status().to_dict()
        print(json.dumps(status, indent=1, sort_keys=True) if args.json else describe(status))
    else:
        counts = {"run": run_id, **store_counts(args.store)}
        print(json.dumps(counts, indent=1, sort_keys=True) if args.json
              else ", ".join(f"{k} {v}" for k, v in counts.items()))
    return EXIT_OK
