"""`auditor audit`: crawl companies' websites, validate, export, report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_NOTHING,
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

if TYPE_CHECKING:
    from auditor.config import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="crawl companies' websites and harvest their contact points",
                       description="Crawl each company's website (robots.txt obeyed, one request per "
                       "second per host), harvest every contact point with its provenance, store it "
                       "in DIR/audit.sqlite and write DIR/results.json and DIR/contacts.csv.")
    p.add_argument("companies", nargs="?", metavar="COMPANIES",
                   help="CSV (name,website[,country,industry,language]), JSON Lines, or one URL")
    p.add_argument("--out", default="audit-out", metavar="DIR", help="output directory (default audit-out)")
    p.add_argument("--resume", metavar="DIR", help="finish an interrupted audit in DIR")
    p.add_argument("--no-validate", action="store_true", help="harvest only")
    add_report_options(p)
    add_shared_options(p)
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="with --store/--queue: local worker processes (default 1)")
    p.add_argument("--detach", action="store_true",
                   help="with --store/--queue: return once every company is enqueued (workers run elsewhere)")
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline

    if not args.companies and not args.resume:
        print("auditor audit: give COMPANIES (CSV, JSON Lines or a URL) or --resume DIR", file=sys.stderr)
        return EXIT_USAGE
    out_dir = Path(args.resume or args.out)
    settings = settings_from(args)
    if args.store or args.queue:
        try:
            return distributed(args, out_dir, settings)
        except server_errors() as exc:
            return unreachable("audit", exc)
    setup_logging(out_dir, args.verbose)
    run = pipeline.run_audit(args.companies, out_dir, settings, resume=bool(args.resume))
    if run.summary is not None:
        print_summary(run.summary, out_dir)
    rc = exit_code(run.outcome)
    if rc == EXIT_OK and not args.no_report:
        print_report(pipeline.write_report(out_dir, report_options(args)))
    return rc


def distributed(args: argparse.Namespace, out_dir: Path, settings: Settings) -> int:
    """Register the run, enqueue, run local workers, then finish as the embedded audit does."""
    from auditor import pipeline
    from auditor.dist import DEFAULT_LEASE
    from auditor.dist.run import (
        RunWork,
        WorkerOptions,
        describe,
        register_and_enqueue,
        resume_and_enqueue,
        run_local_workers,
    )
    from auditor.masking import mask_credentials

    if not (args.store and args.queue):
        print("auditor audit: a distributed run takes COMPANIES (or --resume DIR) with both --store URL and "
              "--queue URL", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(out_dir, args.verbose)
    try:
        if args.resume:
            resumed = resume_and_enqueue(args.store, args.queue, settings, args.companies)
            if resumed is None:
                print(f"auditor: nothing to resume in {mask_credentials(args.store)}", file=sys.stderr)
                return EXIT_NOTHING
            enq = resumed
        else:
            enq = register_and_enqueue(args.companies, args.store, args.queue, settings)
    except OSError as exc:
        print(f"auditor: cannot read {args.companies}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_NOTHING
    for err in enq.errors:
        print(f"row {err.row}: {err.tag}: {err.message}", file=sys.stderr)
    queue_shown = mask_credentials(args.queue)
    verb = "left to audit, enqueued again" if args.resume else "enqueued"
    print(f"Run {enq.run}: {enq.companies} companies {verb} in {queue_shown}")
    if args.detach:
        print(f"Start workers with `auditor worker --store STORE --queue {queue_shown}`; "
              "follow with `auditor status --store STORE --queue QUEUE`")
        return EXIT_OK
    options = WorkerOptions(args.store, args.queue, args.lease or DEFAULT_LEASE, run=enq.run)
    run_local_workers(options, settings, args.workers)
    work = RunWork.of(args.queue, enq.run)
    if work.left():
        print(describe(work.queue.status().to_dict()), file=sys.stderr)
        print("auditor audit: work is left (companies or validation batches); run `auditor worker` to finish it, then "
              "`auditor validate --store ...` and `auditor report --store ...`", file=sys.stderr)
        return EXIT_INTERRUPTED
    run = pipeline.finish_shared(args.store, out_dir, settings, validated=work.verdicts(args.store))
    if run.summary is not None:
        print_summary(run.summary, out_dir, database=args.store)
    if not args.no_report:
        print_report(pipeline.write_report(out_dir, report_options(args), store_target=args.store))
    return EXIT_OK
