"""`auditor wave DIR`: audit the companies of an existing audit again, as a new wave kept beside the earlier ones."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from auditor.alerts import NotifyConfig


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("wave", help="audit the companies of DIR again as a new wave (history kept)",
                       description="Harvest and validate every company of the audit in DIR again, with the "
                       "configuration it was audited with (flags given here override it, e.g. --line-window), "
                       "keeping every earlier wave. Refuses while another wave of DIR runs.")
    p.add_argument("dir", metavar="DIR")
    p.add_argument("--no-validate", action="store_true", help="harvest only")
    p.add_argument("--abandon-stale", action="store_true",
                   help="a previous wave whose process is gone (crashed) is marked 'crashed' and a new one starts")
    s = p.add_argument_group("schedule and alerts")
    s.add_argument("--every", metavar="SPEC",
                   help="keep running and start a wave on this schedule, e.g. \"mon-fri 09:00,13:00,19:00; sat 11:00; "
                   "sun 03:00\", \"every 6h\" or a cron expression \"0 9 * * 1-5\" (or [schedule] every)")
    s.add_argument("--tz", metavar="ZONE",
                   help="time zone the schedule is read in (IANA name; default [schedule] tz, else this machine's), "
                   "or 'per-number': in each time zone of the audit's phone numbers")
    s.add_argument("--waves", type=int, metavar="N", help="with --every: stop after N scheduled waves")
    s.add_argument("--notify", metavar="DEST", action="append",
                   help="send the wave's transitions to DEST: webhook:https://..., webhook:env:NAME or "
                   "mailto:ADDRESS (repeatable; replaces [notify] destinations)")
    s.add_argument("--alerts-only", action="store_true",
                   help="start no wave: send the latest wave's alerts not yet delivered, retry failed ones")
    s.add_argument("--once", action="store_true", help=argparse.SUPPRESS)  # a scheduled wave: ignore [schedule]
    add_report_options(p)
    add_shared_wave_options(p)
    add_crawl_options(p)
    p.set_defaults(func=run, wave_parser=p)


def run(args: argparse.Namespace) -> int:
    # imports every stage (Scrapy, the report): only when the command runs
    from auditor import pipeline
    from auditor.alerts import load_notify
    from auditor.store.waves import WaveBusy
    from auditor.waves.run import abandon_stale, run_wave, stored_settings

    out_dir = Path(args.dir)
    if args.store or args.queue:
        return run_shared(args, out_dir)
    if not (out_dir / "audit.sqlite").exists():
        print(f"auditor wave: no audit in {out_dir} (expected {out_dir / 'audit.sqlite'})", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings(args, stored_settings(out_dir), out_dir)
    config_file = args.config or settings.config_file
    every, tz = (None, None) if args.once else _schedule(config_file)
    # Read now: a wrong destination or a missing [notify.email] fails before the wave, not after it.
    notify = load_notify(config_file, args.notify or (), allow_private=settings.allow_private_targets)
    if args.alerts_only:
        if notify is None:
            print("auditor wave: --alerts-only needs --notify DEST or [notify] destinations", file=sys.stderr)
            return EXIT_USAGE
        return _alerts(out_dir, notify, settings)
    if args.every or every:
        return _scheduled(args, out_dir, args.every or every or "", args.tz or tz)
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
    if rc == EXIT_OK and notify is not None:
        _alerts(out_dir, notify, settings)
    return rc


def _settings(args: argparse.Namespace, stored: dict[str, Any], out_dir: Path) -> Settings:
    """The stored configuration, except where a flag was given: defaults < config < stored < flags."""
    names = {f.name for f in fields(Settings)} - {"config_file"}
    kept = {k: v for k, v in stored.items() if k in names and getattr(args, k, None) is None}
    if args.no_validate:
        kept.pop("validate", None)
    settings = settings_from(args, **kept)
    setup_logging(out_dir, args.verbose)
    return settings


def _schedule(config_file: str | None) -> tuple[str | None, str | None]:
    from auditor.config import load_config
    from auditor.waves.schedule import schedule_section

    return schedule_section(load_config(config_file).data.get("schedule")) if config_file else (None, None)


def _alerts(out_dir: Path, config: NotifyConfig, settings: Settings, store: str | None = None) -> int:
    """Send the alerts of the latest wave (and retry failed ones); failures are recorded, not fatal.

    ``store``: a distributed run's shared store, which holds the waves and records the deliveries.
    """
    from auditor.alerts import notify_waves, summary

    deliveries = notify_waves(out_dir, config, nameserver=settings.nameserver, store_target=store)
    if deliveries:
        print(summary(deliveries))
    if any(d.status == "failed" for d in deliveries):
        print("auditor wave: some alerts could not be delivered; recorded, and retried by the next wave or "
              "`auditor wave --alerts-only DIR`", file=sys.stderr)
    return EXIT_OK


def _scheduled(args: argparse.Namespace, out_dir: Path, spec: str, tz: str | None, store: str | None = None) -> int:
    """Keep running: start a wave (its own process) at every time of the schedule, one at a time.

    ``store``: a distributed run's shared store, whose running-wave lock is read before each start; the
    child command carries --store, --queue and --workers as given here.
    """
    from auditor.waves.schedule import (
        PER_NUMBER,
        local_zone_name,
        parse_spec,
        per_number_trigger,
        zone,
    )
    from auditor.waves.scheduler import (
        WaveProcess,
        WaveScheduler,
        child_argv,
        panel_zones,
        running_wave,
    )

    name = tz or local_zone_name()
    trigger = (per_number_trigger(spec, panel_zones(store or out_dir)) if name == PER_NUMBER
               else parse_spec(spec, zone(name)))
    argv = [sys.executable, "-m", "auditor.cli", "wave", str(out_dir), "--once",
            *child_argv(args.wave_parser, args, frozenset({"every", "tz", "once", "alerts_only", "waves"}))]
    wave = WaveProcess(argv)
    scheduler = WaveScheduler(trigger, wave, busy=lambda: running_wave(store or out_dir), interrupt=wave.interrupt)
    limit = args.waves
    first = trigger.get_next_fire_time(None, datetime.now(UTC))
    print(f"auditor wave: waves of {out_dir} on schedule {spec!r} ({name}), the first at "
          f"{first.isoformat(timespec='seconds') if first else 'never'}; Ctrl-C or SIGTERM stops", flush=True)
    log = scheduler.run(until=(lambda: len(scheduler.log.started) >= limit) if limit else None)
    print(f"auditor wave: schedule stopped after {len(log.started)} wave(s), {len(log.delayed)} start(s) delayed, "
          f"{len(log.skipped)} skipped", flush=True)
    return EXIT_OK


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
    from auditor.alerts import load_notify
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

    if not (args.store and (args.queue or args.alerts_only)):
        print("auditor wave: a distributed wave takes both --store URL and --queue URL", file=sys.stderr)
        return EXIT_USAGE
    try:
        stored = stored_settings(args.store)
    except server_errors() as exc:
        return unreachable("wave", exc)
    settings = _settings(args, stored, out_dir)
    config_file = args.config or settings.config_file
    every, tz = (None, None) if args.once else _schedule(config_file)
    # Read now: a wrong destination or a missing [notify.email] fails before the wave, not after it.
    notify = load_notify(config_file, args.notify or (), allow_private=settings.allow_private_targets)
    if args.alerts_only:
        if notify is None:
            print("auditor wave: --alerts-only needs --notify DEST or [notify] destinations", file=sys.stderr)
            return EXIT_USAGE
        try:
            return _alerts(out_dir, notify, settings, args.store)
        except server_errors() as exc:
            return unreachable("wave", exc)
    if args.every or every:
        return _scheduled(args, out_dir, args.every or every or "", args.tz or tz, store=args.store)
    try:
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
    if rc == EXIT_OK and notify is not None:  # a finished wave, also a detached one this command finished
        try:
            _alerts(out_dir, notify, settings, args.store)
        except server_errors() as exc:
            return unreachable("wave", exc)
    return rc
