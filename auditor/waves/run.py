"""Run a wave: the companies of an existing audit harvested, validated and exported again.

A pipeline entry: it calls the pipeline's own stages (harvest, validate,
export) between the store's begin/finish of a wave. While the wave runs a
thread refreshes its heartbeat, so another process can tell a live wave from a
crashed one. Ctrl-C (or any error) marks the wave ``interrupted``: the earlier
waves' rows are untouched and the unfinished one never becomes history.

On a distributed run's shared store (:func:`run_shared_wave`) the companies go
through the run's Redis queue to workers, as ``auditor audit --store --queue``
sends them, and the wave finishes as that audit does (``finish_shared``). The
queue is keyed by the run, and a wave is the same run again, so the run's
queue is emptied before the wave enqueues. A detached wave (``--detach``) is
left ``running`` without a process (no pid): its workers run elsewhere, and
the next wave command finishes it once they have drained its queue.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, update

from auditor import __version__, pipeline
from auditor.config import Settings
from auditor.dist import DEFAULT_LEASE, validation
from auditor.dist.run import RunWork, WorkerOptions, run_local_workers
from auditor.export import export
from auditor.harvest.render import render_summary
from auditor.pipeline import AuditRun, Notify, Outcome, to_stderr
from auditor.store import Store, open_store
from auditor.store import waves as store_waves
from auditor.store.engine import writer
from auditor.store.schema import waves as waves_table


class _Heartbeat:
    """Refresh the running wave's heartbeat every ``HEARTBEAT_SECONDS`` until stopped."""

    def __init__(self, engine: Engine, number: int, every: float = store_waves.HEARTBEAT_SECONDS) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(engine, number, every), daemon=True,
                                        name=f"wave-{number}-heartbeat")

    def _run(self, engine: Engine, number: int, every: float) -> None:
        while not self._stop.wait(every):
            store_waves.beat(engine, number)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def stored_settings(target: str | Path) -> dict[str, Any]:
    """The configuration the audit in ``target`` (a folder or a shared store's URL) last ran with (empty: none)."""
    store = open_store(target)
    try:
        return dict(store.run_info().get("settings") or {})
    finally:
        store.close()


def abandon_stale(target: str | Path) -> int | None:
    """Mark a running wave whose process is gone as ``crashed``; its number (None: no stale wave).

    ``target``: the audit's folder or a shared store's URL. A detached wave has
    no process by design and is never stale: it is finished, not abandoned.
    """
    store = open_store(target)
    engine: Engine = store.engine  # type: ignore[attr-defined]
    try:
        running = [w for w in store_waves.list_waves(engine) if w.status == "running"]
        if not running or _detached(running[-1]) or not store_waves.is_stale(running[-1]):
            return None
        store_waves.abandon_wave(engine, running[-1].number, "crashed")
        return running[-1].number
    finally:
        store.close()


def run_wave(out_dir: Path, settings: Settings, notify: Notify = to_stderr) -> tuple[AuditRun, int]:
    """Audit every company of ``out_dir`` again as a new wave; the outcome and the wave's number.

    Raises ``WaveBusy`` while another wave of the audit runs (or looks crashed).
    """
    store = open_store(out_dir)
    engine: Engine = store.engine  # type: ignore[attr-defined]
    try:
        number = store_waves.begin_wave(engine, settings.to_dict())
        finished = False
        try:
            with _Heartbeat(engine, number):
                store.start_run(settings.to_dict(), __version__, resume=True)
                stats = pipeline.harvest(store.companies(), out_dir, settings)
                if stats.get("finish_reason") == "shutdown":
                    export(store, out_dir)
                    notify(f"Interrupted: wave {number} is recorded as interrupted; earlier waves are kept")
                    return AuditRun(Outcome.INTERRUPTED), number
                counts = pipeline.validate(store, out_dir, settings, notify=notify) if settings.validate else None
                store_waves.finish_wave(engine, number)
                finished = True
                summary = export(store, out_dir)
                if counts is not None:
                    summary["verdicts"] = dict(counts)
                summary["wave"] = number
                summary["rendering"] = render_summary(stats)
                store.finish_run(summary)
                return AuditRun(Outcome.DONE, summary), number
        finally:
            if not finished:
                store_waves.abandon_wave(engine, number)
    finally:
        store.close()


# -- a wave on a distributed run's shared store ---------------------------------
@dataclass(frozen=True)
class SharedWave:
    """Where a distributed run keeps its results and its work, and how this wave uses them."""

    store: str
    queue: str
    workers: int = 1
    lease: float = DEFAULT_LEASE
    detach: bool = False


class QueueBusy(RuntimeError):
    """The run's queue still holds companies of the audit or of a detached wave: workers are at it."""

    def __init__(self, wave: int | None, queued: int, in_progress: int) -> None:
        self.wave, self.queued, self.in_progress = wave, queued, in_progress
        super().__init__((f"wave {wave} runs detached" if wave else "the run's audit is still at work")
                         + f": {queued} companies queued, {in_progress} in progress")


def _detached(wave: store_waves.WaveRow) -> bool:
    """A running wave without a process: its coordinator enqueued it and returned (``--detach``)."""
    return wave.status == "running" and wave.pid is None


def _detach(engine: Engine, number: int) -> None:
    with writer(engine).begin() as conn:
        conn.execute(update(waves_table).where(waves_table.c.number == number)
                     .values(pid=None, heartbeat=time.time()))


def _adopt(engine: Engine, number: int) -> bool:
    """Make a detached wave this process's (to finish it); False when another process took it first."""
    with writer(engine).begin() as conn:
        taken = conn.execute(update(waves_table).where((waves_table.c.number == number) & waves_table.c.pid.is_(None)
                                                       & (waves_table.c.status == "running"))
                             .values(pid=os.getpid(), host=socket.gethostname(), heartbeat=time.time()))
    return bool(taken.rowcount)


def _run_id(store: Store) -> int:
    info = store.run_info()
    if not info:
        raise LookupError("no audit in the shared store: start one with `auditor audit COMPANIES --store --queue`")
    return int(info["id"])


def run_shared_wave(shared: SharedWave, out_dir: Path, settings: Settings,
                    notify: Notify = to_stderr) -> tuple[AuditRun, int]:
    """A new wave of the distributed run in ``shared.store``, through its queue; the outcome and the wave's number.

    Local workers (``shared.workers``) crawl it unless ``shared.detach``, which
    returns once every company is enqueued (outcome DONE without a summary).
    When the latest wave runs detached and its queue is drained, that wave is
    finished instead (validation, history, exports) and no new one starts.
    Raises ``WaveBusy`` while another wave runs, ``QueueBusy`` while the run's
    queue holds work (the audit's or a detached wave's workers are at it).
    """
    store = open_store(shared.store)
    engine: Engine = store.engine  # type: ignore[attr-defined]
    try:
        run = _run_id(store)
        work = RunWork.of(shared.queue, run)
        queue = work.queue
        rows = store_waves.list_waves(engine)
        last = rows[-1] if rows else None
        if last is not None and _detached(last):
            if not queue.is_complete():  # the queue was lost (Redis emptied): nothing will finish it
                store_waves.abandon_wave(engine, last.number, "crashed")
                notify(f"Wave {last.number} ran detached and its queue is gone; marked 'crashed'")
            elif work.left():
                raise QueueBusy(last.number, queue.queued(), queue.in_progress())
            elif _adopt(engine, last.number):
                return _finish_adopted(store, engine, shared, out_dir, settings, last.number, notify, work), last.number
        elif (queue.queued() or queue.in_progress()) and (last is None or last.status == "finished"):
            raise QueueBusy(None, queue.queued(), queue.in_progress())  # the audit's own workers (--detach)
        number = store_waves.begin_wave(engine, settings.to_dict())  # WaveBusy while another one runs
        finished = False
        try:
            with _Heartbeat(engine, number):
                store.start_run(settings.to_dict(), __version__, resume=True)
                queue.forget()  # the last wave's companies, claims, counters, validation batches and verdicts
                queue.raise_fence(store.max_fence())  # new claims outrank every stored result, Redis lost or not
                if validation.wanted(settings):  # the workers validate the wave in batches, as an audit's
                    work.batches.enable()
                added, _ = queue.enqueue(store.companies())
                queue.mark_complete()
                notify(f"Wave {number}: {added} companies enqueued")
                if shared.detach:
                    _detach(engine, number)
                    finished = True  # not abandoned: the next wave command finishes it
                    return AuditRun(Outcome.DONE), number
                _crawl(shared, run, settings)
                if work.left():
                    notify(f"Interrupted: wave {number} is recorded as interrupted; earlier waves are kept")
                    return AuditRun(Outcome.INTERRUPTED), number
                done = _finish(store, engine, shared, out_dir, settings, number, notify, work)
                finished = True
                return done, number
        finally:
            if not finished:
                store_waves.abandon_wave(engine, number)
    finally:
        store.close()


def _crawl(shared: SharedWave, run: int, settings: Settings) -> None:
    """Local workers on the run's queue until it is drained, as ``auditor audit --store --queue`` starts them."""
    run_local_workers(WorkerOptions(shared.store, shared.queue, shared.lease, run=run), settings, shared.workers)


def _finish_adopted(store: Store, engine: Engine, shared: SharedWave, out_dir: Path, settings: Settings,
                    number: int, notify: Notify, work: RunWork) -> AuditRun:
    finished = False
    try:
        with _Heartbeat(engine, number):
            done = _finish(store, engine, shared, out_dir, settings, number, notify, work)
            finished = True
            return done
    finally:
        if not finished:
            store_waves.abandon_wave(engine, number)


def _finish(store: Store, engine: Engine, shared: SharedWave, out_dir: Path, settings: Settings, number: int,
            notify: Notify, work: RunWork) -> AuditRun:
    """Validate and export as a distributed audit finishes, then record the wave and export its history."""
    done = pipeline.finish_shared(shared.store, out_dir, settings, notify=notify, validated=work.verdicts(shared.store))
    store_waves.finish_wave(engine, number)
    summary = export(store, out_dir)  # again: history.csv and transitions.csv now hold this wave
    summary.update({k: v for k, v in (done.summary or {}).items() if k not in summary})
    summary["wave"] = number
    store.finish_run(summary)
    return AuditRun(Outcome.DONE, summary)
