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
    exit_code,
    print_report,
    print_summary,
    report_options,
    settings_from,
    setup_logging,
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
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline
    from auditor.store.waves import WaveBusy
    from auditor.waves.run import abandon_stale, run_wave, stored_settings

    out_dir = Path(args.dir)
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
