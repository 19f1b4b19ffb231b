"""The wave scheduler on a per-second schedule: one wave at a time, skipped starts logged, clean stops.

The waves here are stand-ins that take a known time (the real wave process is
run by tests/integration/test_wave_schedule.py); what is under test is
APScheduler's job handling as the scheduler configures it.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import UTC

import pytest

from auditor import reasons
from auditor.waves.schedule import parse_spec
from auditor.waves.scheduler import WaveProcess, WaveScheduler


def test_a_long_wave_delays_the_next_and_the_starts_it_covered_are_skipped_not_queued(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="auditor.waves.scheduler")
    running = threading.Lock()
    overlaps: list[bool] = []
    starts: list[float] = []

    def launch() -> int:
        overlaps.append(not running.acquire(blocking=False))
        starts.append(time.monotonic())
        time.sleep(2.3)  # a wave longer than two scheduled intervals
        running.release()
        return 0

    sched = WaveScheduler(parse_spec("every 1s", UTC), launch, busy=lambda: None)
    log = sched.run(until=lambda: len(starts) >= 2)
    assert len(log.started) == 2 and overlaps == [False, False]
    assert starts[1] - starts[0] >= 2.3  # the second waited for the first
    skipped = [tag for _when, tag in log.skipped]
    assert skipped and set(skipped) == {reasons.WAVE_STILL_RUNNING}
    assert starts[1] - starts[0] < 4.5  # the next start after the wave, not a queue of late ones
    assert "a missed start is not made up" in caplog.text


def test_a_wave_running_elsewhere_makes_the_start_a_logged_skip() -> None:
    calls: list[int] = []
    busy = iter(["wave 3 (host h, pid 1) is still running", None, None])

    def launch() -> int:
        calls.append(1)
        return 0

    log = WaveScheduler(parse_spec("every 1s", UTC), launch, busy=lambda: next(busy)).run(
        until=lambda: len(calls) >= 1)
    assert [tag for _w, tag in log.skipped] == [reasons.WAVE_STILL_RUNNING] and len(log.started) == 1


def test_sigterm_interrupts_the_running_wave_once_and_returns() -> None:
    interrupted: list[float] = []
    released = threading.Event()

    def launch() -> int:
        released.wait(30)
        return 130

    def interrupt() -> None:
        interrupted.append(time.monotonic())
        released.set()

    sched = WaveScheduler(parse_spec("every 1s", UTC), launch, busy=lambda: None, interrupt=interrupt)
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.6, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    t0 = time.monotonic()
    log = sched.run()
    timer.join()
    assert len(interrupted) == 1 and log.started == [(log.started[0][0], 130)]
    assert time.monotonic() - t0 < 10
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back


def test_wave_process_passes_an_interrupt_to_its_child_once() -> None:
    # A child that records each SIGINT and exits 130 on the first one, like a wave.
    script = ("import signal,sys,time\n"
              "def h(*a):\n    print('INT', flush=True); sys.exit(130)\n"
              "signal.signal(signal.SIGINT, h)\nprint('up', flush=True)\ntime.sleep(30)\n")
    proc = WaveProcess([sys.executable, "-c", script])
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(proc()))
    t.start()
    time.sleep(1.0)
    proc.interrupt()
    t.join(10)
    assert result == [130]
    assert proc() == 130  # once stopping, no new wave starts


def test_each_scheduled_wave_gets_the_options_given_without_the_schedule() -> None:
    from auditor.cli import build_parser
    from auditor.waves.scheduler import child_argv

    parser = build_parser()
    argv = ["wave", "DIR", "--every", "mon 09:00", "--tz", "Europe/Budapest", "--waves", "3", "--line-window",
            "evening", "--no-smtp", "--delay", "0", "--allow-private-targets", "--notify", "webhook:https://h.example/a",
            "--notify", "mailto:ops@example.com", "--config", "probes.toml", "--no-report", "--abandon-stale"]
    args = parser.parse_args(argv)
    rebuilt = child_argv(args.wave_parser, args, frozenset({"every", "tz", "waves", "once", "alerts_only"}))
    again = parser.parse_args(["wave", "DIR", "--once", *rebuilt])
    for name in ("line_window", "smtp", "delay", "allow_private_targets", "notify", "config", "no_report",
                 "abandon_stale"):
        assert getattr(again, name) == getattr(args, name), name
    assert again.every is None and again.tz is None and again.waves is None and again.once
    assert "--every" not in rebuilt and "--verbose" not in rebuilt


def test_each_scheduled_distributed_wave_gets_the_shared_store_queue_and_workers() -> None:
    from auditor.cli import build_parser
    from auditor.waves.scheduler import child_argv

    parser = build_parser()
    argv = ["wave", "DIR", "--store", "postgresql://auditor@db.example/audit", "--queue", "redis://q.example:6379/0",
            "--workers", "3", "--lease", "30", "--every", "every 6h", "--notify", "webhook:https://h.example/a"]
    args = parser.parse_args(argv)
    rebuilt = child_argv(args.wave_parser, args, frozenset({"every", "tz", "waves", "once", "alerts_only"}))
    again = parser.parse_args(["wave", "DIR", "--once", *rebuilt])
    for name in ("store", "queue", "workers", "lease", "notify"):
        assert getattr(again, name) == getattr(args, name), name
    assert again.every is None and not again.detach


def test_per_number_zones_come_from_the_audits_phone_numbers(tmp_path: object) -> None:
    from pathlib import Path

    from auditor.models import Company, CompanyResult, ContactPoint
    from auditor.store import open_store
    from auditor.waves.scheduler import panel_zones

    out = Path(str(tmp_path)) / "audit"
    store = open_store(out)
    store.start_run({}, "test")
    companies = [Company(1, "Alfa", "https://alfa.example", "DE"), Company(2, "Acme", "https://acme.example", "US")]
    store.register_companies(companies)
    phones = {1: ["+493023125100", "+498912345678"], 2: ["+12125550123"]}
    for c in companies:
        store.save_company(CompanyResult(c, contacts=tuple(
            ContactPoint("phone", v, v, None, "tel-link", c.website) for v in phones[c.row])))
    store.save_company(CompanyResult(Company(3, "Mail only", "https://m.example", "HU"), contacts=(
        ContactPoint("email", "info@m.example", "info@m.example", None, "mailto", "https://m.example"),)))
    store.close()
    assert panel_zones(out) == ["America/New_York", "Europe/Berlin"]
