"""Keep running and start waves on a schedule: APScheduler's blocking scheduler, one wave at a time.

Each wave runs in its own process (Scrapy's reactor runs once per process, and a
wave that crashes must not take the schedule with it), started in its own
session so that a Ctrl-C reaches it exactly once, from here. Politeness:

* one job, ``max_instances=1`` and ``coalesce``: a start that falls while the
  previous wave still runs is held (logged ``wave-delayed``) and the wave
  starts as soon as the running one ends; several held starts make one wave,
  never a queue of late ones;
* before starting, the store's running-wave lock is read: a wave started by
  someone else (cron, a person) holds this start the same way, until its lock
  is released (read again every ``poll`` seconds); the wave process itself
  takes the same lock atomically. A lock whose process is gone (a crashed
  wave) never releases itself: that start is logged ``wave-still-running`` and
  skipped, with the command that releases it;
* a start missed by more than ``misfire_grace`` seconds (the machine slept, so
  nothing was running) is logged ``wave-start-missed`` and skipped.

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
POLL = 30.0  # seconds between two reads of another process's running-wave lock while a start is held


@dataclass(frozen=True)
class Blocker:
    """Why a wave may not start now: a running wave, and whether its process is gone (it never ends by itself)."""

    reason: str
    stale: bool = False


def running_wave(target: Path | str) -> Blocker | None:
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
    return Blocker(str(busy) + ("; run `auditor wave --abandon-stale DIR` once checked" if busy.stale else ""),
                   busy.stale)


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
    """What the schedule did: waves started (with their exit codes), starts held for a running wave, and
    scheduled starts skipped, with why."""

    started: list[tuple[datetime, int]] = field(default_factory=list)  # (start time, exit code)
    skipped: list[tuple[datetime, str]] = field(default_factory=list)  # (scheduled time, reason tag)
    delayed: list[datetime] = field(default_factory=list)  # scheduled times held (``wave-delayed``)


class WaveScheduler:
    """Start ``launch()`` at each fire time of ``trigger``, one wave at a time; a start during a wave waits for it.

    ``launch`` runs one wave to its end and returns its exit code; ``busy``
    returns what keeps a wave from starting (None: it may), read again every
    ``poll`` seconds while it does. ``interrupt`` stops a running launch
    (SIGTERM, Ctrl-C). ``now`` is the clock the log's times are read from.
    """

    def __init__(self, trigger: BaseTrigger, launch: Callable[[], int], busy: Callable[[], Blocker | str | None],
                 interrupt: Callable[[], None] = lambda: None, misfire_grace: float = MISFIRE_GRACE,
                 poll: float = POLL, now: Callable[[], datetime] = lambda: datetime.now().astimezone()) -> None:
        self.trigger = trigger
        self.launch, self.busy, self.interrupt = launch, busy, interrupt
        self.poll, self.now, self.misfire_grace = poll, now, misfire_grace
        self.log = ScheduleLog()
        self._until: Callable[[], bool] | None = None
        self._held: list[datetime] = []  # starts that fell during the running wave, not yet served
        self._held_lock = threading.Lock()
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
                self._hold(when, "the previous wave is still running")
        elif isinstance(event, JobExecutionEvent) and event.code == EVENT_JOB_MISSED:
            self._skip(event.scheduled_run_time, reasons.WAVE_START_MISSED,
                       f"this process was not awake to start it within {self.misfire_grace:g} s")
        elif isinstance(event, JobExecutionEvent) and event.code == EVENT_JOB_ERROR:
            log.error("schedule: the wave scheduled at %s failed to start: %s", event.scheduled_run_time,
                      event.exception)

    def _skip(self, when: datetime, tag: str, why: str) -> None:
        self.log.skipped.append((when, tag))
        log.warning("schedule: the wave scheduled at %s was skipped (%s): %s; a missed start is not made up",
                    when.isoformat(timespec="seconds"), tag, why)

    def _hold(self, when: datetime, why: str) -> None:
        with self._held_lock:
            self._held.append(when)
            self.log.delayed.append(when)
            collapsed = len(self._held)
        log.warning("schedule: the wave scheduled at %s is delayed (%s): %s; it starts once that wave ends%s",
                    when.isoformat(timespec="seconds"), reasons.WAVE_DELAYED, why,
                    f" (one wave for {collapsed} held starts)" if collapsed > 1 else "")

    def _blocked(self, scheduled: datetime) -> bool:
        """Wait while another process's wave runs (this start held); True: do not start (stale lock, or stopped)."""
        held = False
        while (blocker := self.busy()) is not None:
            if isinstance(blocker, str):
                blocker = Blocker(blocker)
            if blocker.stale:
                self._skip(scheduled, reasons.WAVE_STILL_RUNNING, blocker.reason)
                return True
            if not held:
                held = True
                self._hold(scheduled, blocker.reason)
            if self._stopped.wait(self.poll):
                return True
        return self._stopped.is_set()

    def _fire(self) -> None:
        scheduled = self.now()
        self._idle.clear()
        try:
            while not self._stopped.is_set():
                if self._blocked(scheduled):
                    return
                with self._held_lock:  # the starts held so far are served by this wave
                    held, self._held = self._held, []
                now = self.now()
                if held:
                    log.info("schedule: starting the wave delayed since %s (%s)",
                             held[0].isoformat(timespec="seconds"), reasons.WAVE_DELAYED)
                else:
                    log.info("schedule: starting a wave")
                code = self.launch()
                self.log.started.append((now, code))
                log.info("schedule: the wave started at %s ended with exit code %d",
                         now.isoformat(timespec="seconds"), code)
                if self._until is not None and self._until():
                    self.stop()
                    break
                with self._held_lock:
                    if not self._held:
                        break
                    scheduled = self._held[0]
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
        self._until = until
        self.scheduler.add_job(self._fire, self.trigger, id="wave", name="wave")
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
