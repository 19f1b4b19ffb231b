"""Keep running and start waves on a schedule: APScheduler's blocking scheduler, one wave at a time.

Each wave runs in its own process (Scrapy's reactor runs once per process, and a
wave that crashes must not take the schedule with it), started in its own
session so that a Ctrl-C reaches it exactly once, from here. Politeness:

* one job, ``max_instances=1`` and ``coalesce``: a start that falls while the
  previous wave still runs is logged and skipped, never queued up to run late;
* before starting, the store's running-wave lock is read: a wave started by
  someone else (cron, a person) or one that crashed makes this start a logged
  skip too, and the wave process itself takes the same lock atomically;
* a start missed by more than ``misfire_grace`` seconds (the machine slept) is
  logged and skipped.

SIGTERM and Ctrl-C stop the schedule: a running wave is interrupted once (it
records itself ``interrupted`` and keeps every earlier wave), then this process
waits for it and returns.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger

from auditor import reasons
from auditor.store import open_store
from auditor.store import waves as store_waves

log = logging.getLogger(__name__)

MISFIRE_GRACE = 60.0  # seconds late a start may still run (the scheduler woke late); later ones are skipped


def running_wave(target: Path | str) -> str | None:
    """Why a wave may not start now (a wave of the audit runs or looks crashed), or None.

    ``target``: the audit's folder or a shared store's URL. A detached wave of a
    shared store (running, no process) does not block: the wave command started
    next finishes it once its queue is drained, or says its workers are at it.
    """
    store = open_store(target)
    try:
        running = [w for w in store_waves.list_waves(store.engine) if w.status == "running"]  # type: ignore[attr-defined]
    finally:
        store.close()
    if not running or running[-1].pid is None:
        return None
    busy = store_waves.WaveBusy(running[-1], store_waves.is_stale(running[-1]))
    return str(busy) + ("; run `auditor wave --abandon-stale DIR` once checked" if busy.stale else "")


class WaveProcess:
    """Runs ``argv`` (one `auditor wave` without a schedule) to its end; interruptible once."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stopping = False

    def __call__(self) -> int:
        with self._lock:
            if self._stopping:
                return 130
            # Its own session: a terminal's Ctrl-C reaches this process only, which passes it on once.
            self._proc = subprocess.Popen(self.argv, start_new_session=True)  # noqa: S603 - our own command
        try:
            return self._proc.wait()
        finally:
            with self._lock:
                self._proc = None

    def interrupt(self) -> None:
        """Pass a Ctrl-C to the running wave (the first stops it gracefully, a second at once); no new one starts."""
        with self._lock:
            self._stopping = True
            if self._proc is not None and self._proc.poll() is None:
                self._proc.send_signal(signal.SIGINT)


@dataclass
class ScheduleLog:
    """What the schedule did: waves started (with their exit codes) and scheduled starts skipped, with why."""

    started: list[tuple[datetime, int]] = field(default_factory=list)  # (start time, exit code)
    skipped: list[tuple[datetime, str]] = field(default_factory=list)  # (scheduled time, reason tag)


class WaveScheduler:
    """Start ``launch()`` at each fire time of ``trigger`` unless ``busy()`` names a running wave.

    ``launch`` runs one wave to its end and returns its exit code; ``busy``
    returns why a wave may not start (None: it may). ``interrupt`` stops a
    running launch (SIGTERM, Ctrl-C).
    """

    def __init__(self, trigger: BaseTrigger, launch: Callable[[], int], busy: Callable[[], str | None],
                 interrupt: Callable[[], None] = lambda: None, misfire_grace: float = MISFIRE_GRACE) -> None:
        self.trigger = trigger
        self.launch, self.busy, self.interrupt = launch, busy, interrupt
        self.log = ScheduleLog()
        self._idle = threading.Event()
        self._idle.set()
        self._stopped = threading.Event()
        self.scheduler = BlockingScheduler(
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(max(misfire_grace, 1))})
        self.scheduler.add_listener(self._event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_ERROR)

    def _event(self, event: Any) -> None:
        if isinstance(event, JobSubmissionEvent) and event.code == EVENT_JOB_MAX_INSTANCES:
            for when in event.scheduled_run_times:
                self._skip(when, reasons.WAVE_STILL_RUNNING, "the previous wave is still running")
        elif isinstance(event, JobExecutionEvent) and event.code == EVENT_JOB_MISSED:
            self._skip(event.scheduled_run_time, reasons.WAVE_START_MISSED,
                       f"this process was not awake to start it within {MISFIRE_GRACE:g} s")
        elif isinstance(event, JobExecutionEvent) and event.code == EVENT_JOB_ERROR:
            log.error("schedule: the wave scheduled at %s failed to start: %s", event.scheduled_run_time,
                      event.exception)

    def _skip(self, when: datetime, tag: str, why: str) -> None:
        self.log.skipped.append((when, tag))
        log.warning("schedule: the wave scheduled at %s was skipped (%s): %s; a missed start is not made up",
                    when.isoformat(timespec="seconds"), tag, why)

    def _fire(self) -> None:
        if self._stopped.is_set():
            return
        now = datetime.now().astimezone()
        reason = self.busy()
        if reason is not None:
            self._skip(now, reasons.WAVE_STILL_RUNNING, reason)
            return
        self._idle.clear()
        try:
            log.info("schedule: starting a wave")
            code = self.launch()
            self.log.started.append((now, code))
            log.info("schedule: the wave started at %s ended with exit code %d", now.isoformat(timespec="seconds"),
                     code)
        finally:
            self._idle.set()
        job = self.scheduler.get_job("wave")
        if job is not None and job.next_run_time is not None and not self._stopped.is_set():
            log.info("schedule: next wave at %s", job.next_run_time.isoformat(timespec="seconds"))

    def stop(self) -> None:
        """Stop starting waves and interrupt the running one (safe from a signal handler or another thread)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.interrupt()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def run(self, until: Callable[[], bool] | None = None) -> ScheduleLog:
        """Run until :meth:`stop` (SIGTERM or Ctrl-C when on the main thread); then wait for the running wave.

        ``until``: checked after every wave; True stops the schedule (tests, `--waves N`).
        """
        self.scheduler.add_job(self._fire_and_check(until), self.trigger, id="wave", name="wave")
        # APScheduler logs each skip and start itself; the lines above say it with the reason tag, once.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        handlers: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            def on_signal(_signum: int, _frame: FrameType | None) -> None:
                log.warning("schedule: stopping (signal); a running wave is interrupted and keeps its earlier waves")
                self.stop()

            handlers[signal.SIGTERM] = signal.signal(signal.SIGTERM, on_signal)
        try:
            self.scheduler.start()
        except KeyboardInterrupt:
            log.warning("schedule: stopping (Ctrl-C); a running wave is interrupted and keeps its earlier waves")
            self.stop()
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        try:
            self._idle.wait()
        except KeyboardInterrupt:  # a second Ctrl-C: the wave stops at once, as a wave's own second Ctrl-C does
            self.interrupt()
            self._idle.wait()
        return self.log

    def _fire_and_check(self, until: Callable[[], bool] | None) -> Callable[[], None]:
        def fire() -> None:
            self._fire()
            if until is not None and until():
                self.stop()
        return fire


def panel_zones(out_dir: Path | str) -> list[str]:
    """The time zones of the audit's phone numbers (what ``--tz per-number`` reads the SPEC in)."""
    # phonenumbers' time-zone data: only when asked
    from auditor.probes.sip.probe import number_zone

    store = open_store(out_dir)
    try:
        zones = {z.key for result in store.results() for cp in result.contacts
                 if cp.kind == "phone" and (z := number_zone(cp.value)) is not None}
    finally:
        store.close()
    return sorted(zones)


def child_argv(parser: Any, args: Any, drop: frozenset[str]) -> list[str]:
    """The options of ``args`` as the command line that gives them, leaving out the dests in ``drop``.

    Each scheduled wave is the same `auditor wave` without its schedule: rebuilt
    from the parser's own actions, so every option a person gave reaches it.
    """
    out: list[str] = []
    for action in parser._actions:  # argparse's documented-by-use action list
        if not action.option_strings or action.dest in drop or action.dest == "help":
            continue
        value = getattr(args, action.dest, None)
        flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") else action.option_strings[0]
        if action.nargs == 0:
            if value is not None and value == action.const and value != action.default:
                out.append(flag)
        elif isinstance(value, list):
            for item in value:
                out += [flag, str(item)]
        elif value is not None and value != action.default:
            out += [flag, str(value)]
    return out
