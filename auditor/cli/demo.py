"""`auditor demo`: start the offline lab world, audit it end to end in two waves, write the report.

The second wave audits the same companies again, as `auditor wave DIR` does, after
some of the lab's lines changed (the probe plan's ``[waves.2.lines]``): the
report's Timeline and Availability pages then have something to show.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.cli.common import (
    EXIT_OK,
    add_crawl_options,
    add_report_options,
    exit_code,
    print_report,
    print_summary,
    report_options,
    settings_from,
    setup_logging,
)
from auditor.cli.inquiries import status_counts
from auditor.store import open_store


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="audit the built-in offline lab world (no network needed)",
                       description="Start the lab (fictional companies' websites and DNS on "
                       "loopback), audit every company and write the results.")
    p.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "auditor-demo"), metavar="DIR")
    p.add_argument("--world", metavar="FILE", help="a world file instead of the built-in one")
    p.add_argument("--no-live-probes", action="store_true",
                   help="skip the lab's line probe and mystery-shopper inquiries")
    add_report_options(p)
    add_crawl_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # The lab's servers and every stage of the pipeline: imported only when the command runs.
    from auditor import pipeline
    from auditor.lab import Lab, load_world
    from auditor.lab.probes import LabProbeServers

    out_dir = Path(args.out)
    setup_logging(out_dir, args.verbose)
    world = load_world(args.world)
    with Lab(world).start() as lab, LabProbeServers() as probes:
        companies_csv = out_dir / "input-companies.csv"
        out_dir.mkdir(parents=True, exist_ok=True)
        lab.write_companies_csv(companies_csv)
        probes_toml = out_dir / "probes.toml"
        probes_toml.write_text(probes.config_toml(), encoding="utf-8")
        (out_dir / pipeline.LEDGER_FILE).unlink(missing_ok=True)
        print(f"Lab running: web on 127.0.0.1:{lab.http_port}, DNS on {lab.nameserver}; "
              f"{len(world.companies)} fictional companies, their mail servers, phone lines and chat hosts")
        lab_settings: dict[str, Any] = {
            "nameserver": lab.nameserver, "allow_private_targets": True,
            "delay": args.delay if args.delay is not None else 0.05,
            "timeout": args.timeout if args.timeout is not None else 5.0,
            "helo": args.helo or "demo.auditor.test",
            "contact_url": args.contact_url or "https://demo.auditor.test/about-this-crawler",
            "mail_from": args.mail_from or "probe@demo.auditor.test",
            "smtp_timeout": args.smtp_timeout if args.smtp_timeout is not None else 3.0,
            "greylist_delay": args.greylist_delay if args.greylist_delay is not None else 2.0,
            "probe_lines": not args.no_live_probes,
            "smtp_port": lab.smtp_port or None,  # None: the world declares no mail host
        }
        if not args.config:
            args.config = str(probes_toml)  # the lab's trunk for the line probe
        settings = settings_from(args, **lab_settings)
        run = pipeline.run_audit(str(companies_csv), out_dir, settings, network=lab.network_options())
        if run.summary is not None:
            print_summary(run.summary, out_dir)
        rc = exit_code(run.outcome)
        if rc != EXIT_OK:
            return rc
        if not args.no_live_probes:
            _demo_inquiries(out_dir, probes_toml)
        rc = _second_wave(args, out_dir, probes.next_wave(2), probes_toml, lab.env())
        if rc != EXIT_OK:
            return rc
    print_report(pipeline.write_report(out_dir, report_options(args)))
    return rc


def _second_wave(args: argparse.Namespace, out_dir: Path, window: str, probes_toml: Path,
                 lab_env: dict[str, str]) -> int:
    """`auditor wave DIR` on the running lab, as a user runs it (in its own process: Scrapy's reactor
    runs once per process). On the lab's compressed clock the wave is a line-probe window of its own."""
    command = [sys.executable, "-m", "auditor.cli", "wave", str(out_dir), "--no-report"]
    if args.config == str(probes_toml):  # a config of the user's does not know the lab's windows
        command += ["--config", str(probes_toml), "--line-window", window]
    elif args.config:
        command += ["--config", args.config]
    if args.verbose:
        command.append("--verbose")
    if args.progress is False:
        command.append("--no-progress")
    return subprocess.run(command, env={**os.environ, **lab_env}, check=False).returncode


def _demo_inquiries(out_dir: Path, probes_toml: Path) -> None:
    """Send the mystery-shopper inquiries to the lab and collect the (compressed-clock) replies."""
    # mail clients and classifier: only when the command runs
    from auditor.probes import inquiries as inq

    config = inq.load_config(probes_toml)
    store = open_store(out_dir)
    try:
        plan = inq.plan_inquiries(store, config.inquiry)
        assert config.submission is not None and config.imap is not None
        sent = inq.send_inquiries(list(plan), config.submission, confirm=lambda _text: True,
                                  rate_per_minute=config.inquiry.rate_per_minute, store=store,
                                  sleep=lambda _seconds: None)
        # The lab's agents reply on a compressed clock; collect as of a week later.
        cutoff = timedelta(days=config.inquiry.cutoff_days)
        inq.collect_replies(store, config.imap, now=datetime.now(UTC) + cutoff + timedelta(hours=1), cutoff=cutoff)
        print(f"Mystery-shopper inquiries: {len(sent.sent)} sent; replies a week later: " + status_counts(store))
    finally:
        store.close()
