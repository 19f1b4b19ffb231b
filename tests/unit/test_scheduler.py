"""The wave scheduler: one wave at a time, a start during a wave held until it ends, clean stops.

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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.base import BaseTrigger

from auditor import reasons
from auditor.waves.schedule import parse_spec
from auditor.waves.scheduler import Blocker, ScheduleLog, WaveProcess, WaveScheduler


class FireAt(BaseTrigger):
    """The schedule's clock, injected: fire exactly at these times (seconds from now), then never."""

    def __init__(self, *offsets: float) -> None:
        t0 = datetime.now(UTC)
        self.times = [t0 + timedelta(seconds=o) for o in offsets]

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        return next((t for t in self.times if previous_fire_time is None or t > previous_fire_time), None)


def _run(sched: WaveScheduler, until: Callable[[], bool], limit: float = 10.0) -> ScheduleLog:
    """Run the schedule until ``until``, or stop it after ``limit`` seconds (a start that never came)."""
    timer = threading.Timer(limit, sched.stop)
    timer.start()
    try:
        return sched.run(until=until)
    finally:
        timer.cancel()


def test_a_long_wave_delays_the_next_and_the_starts_it_covered_make_one_wave(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="auditor.waves.scheduler")
    running = threading.Lock()
    overlaps: list[bool] = []
    starts: list[float] = []
    ends: list[float] = []

    def launch() -> int:
        overlaps.append(not running.acquire(blocking=False))
        starts.append(time.monotonic())
        time.sleep(2.0 if len(starts) == 1 else 0.1)  # the first wave covers two more scheduled starts
        ends.append(time.monotonic())
        running.release()
        return 0

    trigger = FireAt(0.5, 1.0, 1.5)  # then nothing: a start that is skipped never comes back
    sched = WaveScheduler(trigger, launch, busy=lambda: None)
    log = _run(sched, until=lambda: len(starts) >= 2)
    assert len(log.started) == 2 and overlaps == [False, False]
    assert 0 <= starts[1] - ends[0] < 1.0  # held, and started as soon as the first ended
    assert log.delayed == trigger.times[1:] and log.skipped == []  # two held starts, one wave
    assert f"({reasons.WAVE_DELAYED})" in caplog.text and "one wave for 2 held starts" in caplog.text
    assert "starting the wave delayed since" in caplog.text


def test_a_start_during_a_wave_of_another_process_waits_for_its_lock() -> None:
    calls: list[float] = []
    free_at = time.monotonic() + 1.5

    def busy() -> Blocker | None:
        return Blocker("wave 3 (host h, pid 1) is still running") if time.monotonic() < free_at else None

    def launch() -> int:
        calls.append(time.monotonic())
        return 0

    trigger = FireAt(0.3, 0.8)
    log = _run(WaveScheduler(trigger, launch, busy=busy, poll=0.1), until=lambda: len(calls) >= 1)
    assert len(log.started) == 1 and 0 <= calls[0] - free_at < 1.0  # once the lock was released
    # held: the start that found the lock (at its time, as the clock read it) and the one during the wait
    assert len(log.delayed) == 2 and abs((log.delayed[0] - trigger.times[0]).total_seconds()) < 0.5
    assert log.delayed[1] == trigger.times[1] and log.skipped == []


def test_a_crashed_waves_lock_skips_the_start_and_a_start_slept_through_is_missed() -> None:
    calls: list[int] = []
    stale = WaveScheduler(FireAt(0.3), lambda: calls.append(1) or 0,
                          busy=lambda: Blocker("wave 3 looks crashed", stale=True), poll=0.1)
    log = _run(stale, until=lambda: True, limit=1.5)
    assert calls == [] and [tag for _w, tag in log.skipped] == [reasons.WAVE_STILL_RUNNING]
    # a start more than the misfire grace in the past (the machine slept): missed, the next one runs
    trigger = FireAt(-30, 0.3)
    log = _run(WaveScheduler(trigger, lambda: calls.append(1) or 0, busy=lambda: None, misfire_grace=1),
               until=lambda: len(calls) >= 1)
    assert log.skipped == [(trigger.times[0], reasons.WAVE_START_MISSED)] and len(log.started) == 1


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
