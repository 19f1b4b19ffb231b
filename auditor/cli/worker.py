"""`auditor worker`: crawl companies from a distributed run's queue on this machine."""

from __future__ import annotations

import argparse
import sys

from auditor.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_crawl_options,
    add_shared_options,
    server_errors,
    settings_from,
    setup_logging,
    unreachable,
)
from auditor.dist import DEFAULT_LEASE


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("worker", help="crawl companies from a distributed run's queue (any machine)",
                       description="Claim companies from the Redis queue, crawl each one's whole site and "
                       "store it in the shared store, until the queue is drained (--forever: keep waiting). "
                       "SIGTERM or Ctrl-C: companies in progress are handed back.")
    add_shared_options(p, queue_required=True)
    p.add_argument("--forever", action="store_true", help="keep waiting for work once the queue is drained")
    p.add_argument("--run", type=int, metavar="ID", help="the run to work on (default: the store's latest)")
    p.add_argument("--no-validate", action="store_true", help=argparse.SUPPRESS)
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from auditor.dist.run import WorkerOptions, run_worker

    if not args.store:
        print("auditor worker: give --store postgresql://... (the run's shared store)", file=sys.stderr)
        return EXIT_USAGE
    settings = settings_from(args)
    setup_logging(None, args.verbose)
    try:
        run_worker(WorkerOptions(args.store, args.queue, args.lease or DEFAULT_LEASE, args.forever, args.run),
                   settings)
    except server_errors() as exc:
        return unreachable("worker", exc)
    return EXIT_OK
