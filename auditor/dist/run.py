"""A distributed run: registration and enqueueing (the coordinator), and the worker loop.

The coordinator starts the run in the shared store, then streams the companies
file into the store and the queue in batches, so a 1,000,000-row list is
enqueued in bounded memory. A worker is a supervisor that reaps expired leases
and, while there is work, runs one crawl in a child process (Scrapy's reactor
runs once per process); the child claims companies as its spider asks for them.
When the crawl is drained the workers validate the run in batches
(:mod:`auditor.dist.validation`), each batch in a child process too.
The child dies with its supervisor (``PR_SET_PDEATHSIG``), so ``kill -9`` of a
worker leaves nothing crawling: its leases expire and the companies go back.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import EqualJitterBackoff

from auditor import __version__
from auditor.config import Settings
from auditor.dist import DEFAULT_LEASE, validation
from auditor.dist.claims import Claims
from auditor.dist.queue import WorkQueue, connect, new_token
from auditor.harvest.inputs import stream_companies
from auditor.masking import mask_credentials
from auditor.models import Company, InputError
from auditor.store import open_store

log = logging.getLogger(__name__)

POLL = 1.0  # seconds between looks at the queue while other workers finish
BACKOFF_CAP = 30.0  # the longest wait between tries while the queue is unreachable (seconds)
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Enqueued:
    """What registration did: the run, companies queued, rows refused."""

    run: int
    companies: int
    errors: list[InputError]


def current_run(store_target: str) -> int | None:
    """The id of the latest run in the shared store (None: no run registered)."""
    store = open_store(store_target)
    try:
        info = store.run_info()
    finally:
        store.close()
    return int(info["id"]) if info else None


def register_and_enqueue(source: str, store_target: str, queue_url: str, settings: Settings,
                         batch: int = 1000) -> Enqueued:
    """Start the run in the shared store, then store and queue the companies batch by batch."""
    store = open_store(store_target)
    try:
        run = store.start_run(settings.to_dict(), __version__)
        queue = WorkQueue(connect(queue_url), run)
        errors: list[InputError] = []
        total = 0
        chunk: list[Company] = []

        def flush() -> None:
            nonlocal total
            added, duplicates = queue.enqueue(chunk, batch)
            # after the queue (a company stored first keeps its row: registering never overwrites)
            dropped = {c.key for c in duplicates}
            store.register_companies(c for c in chunk if c.key not in dropped)
            total += added
            errors.extend(InputError(c.row, "duplicate-row", f"{mask_credentials(c.website)} is already listed above")
                          for c in duplicates)
            chunk.clear()

        # read row by row (an unreadable file raises OSError here); the queue finds the duplicates
        stream = stream_companies(source, dedupe=False)
        for company in stream:
            chunk.append(company)
            if len(chunk) >= batch:
                flush()
        flush()
        errors.extend(stream.errors)
        store.save_input_errors(sorted(errors, key=lambda e: e.row))
        if validation.wanted(settings):
            validation.BatchQueue(queue.client, run).enable()  # before complete: no worker leaves without it
        queue.mark_complete()
        return Enqueued(run, total, errors)
    finally:
        store.close()


def resume_and_enqueue(store_target: str, queue_url: str, settings: Settings, source: str | None = None,
                       batch: int = 1000) -> Enqueued | None:
    """Continue the shared store's latest run: only the companies not stored yet are queued again.

    The run's queue starts afresh (claims, leases, counts and the validation of
    before are dropped), then the store's pending companies are streamed into it by key, a
    batch at a time. ``source`` adds the rows of a companies file not registered
    yet. None: the store holds no run to resume.
    """
    store = open_store(store_target)
    try:
        if not store.run_info():
            return None
        run = store.start_run(settings.to_dict(), __version__, resume=True)
        errors: list[InputError] = []
        if source:
            stream = stream_companies(source)
            chunk: list[Company] = []
            for company in stream:
                chunk.append(company)
                if len(chunk) >= batch:
                    store.register_companies(chunk)
                    chunk.clear()
            store.register_companies(chunk)
            errors = stream.errors
        queue = WorkQueue(connect(queue_url), run)
        queue.forget()  # its validation too: planned again over every stored company, those added now included
        queue.raise_fence(store.max_fence())  # a Redis that lost the counter: new claims still outrank stored ones
        if validation.wanted(settings):
            validation.BatchQueue(queue.client, run).enable()  # before complete, as at registration
        added, _ = queue.enqueue(store.pending_companies(), batch)
        queue.mark_complete()
        return Enqueued(run, added, errors)
    finally:
        store.close()


def store_counts(store_target: str) -> dict[str, int]:
    """Companies registered in the shared store, and how many of them are stored (without a queue)."""
    store = open_store(store_target)
    try:
        return store.company_counts()
    finally:
        store.close()


def revalidate_and_enqueue(store_target: str, queue_url: str) -> int | None:
    """Plan a re-validation of the latest run by its workers; the run, or None when there is none.

    The crawl must be over (every company stored): the run's queue is marked
    complete (a Redis that no longer holds it counts as drained) and its old
    validation is forgotten, so the first worker to look plans the batches anew.
    """
    store = open_store(store_target)
    try:
        info = store.run_info()
        counts = store.company_counts()
    finally:
        store.close()
    if not info:
        return None
    run = int(info["id"])
    if counts["stored"] < counts["registered"]:
        raise RunNotFinished(f"{counts['registered'] - counts['stored']} of {counts['registered']} companies "
                             "are not stored yet: let the workers finish the crawl first")
    queue = WorkQueue(connect(queue_url), run)
    if queue.queued() or queue.in_progress():
        raise RunNotFinished("the run's queue still holds companies: let the workers finish the crawl first")
    batches = validation.BatchQueue(queue.client, run)
    batches.forget()
    batches.enable()
    queue.mark_complete()
    return run


class RunNotFinished(RuntimeError):
    """A re-validation asked for while the run's crawl is still going on."""


# -- the worker ---------------------------------------------------------------
@dataclass(frozen=True)
class WorkerOptions:
    store: str
    queue: str
    lease: float = DEFAULT_LEASE
    forever: bool = False
    run: int | None = None


def run_worker(options: WorkerOptions, settings: Settings) -> int:
    """Crawl companies from the queue until it is drained (or for ever); companies finished.

    SIGTERM or SIGINT: the crawl stops gracefully and hands back what it holds.
    """
    run = options.run if options.run is not None else _wait_for_run(options)
    if run is None:
        return 0
    queue = WorkQueue(connect(options.queue), run)
    stopping = threading.Event()
    child: multiprocessing.process.BaseProcess | None = None

    def stop(signum: int, _frame: Any) -> None:
        stopping.set()
        if child is not None and child.is_alive() and child.pid is not None:
            os.kill(child.pid, signal.SIGTERM)

    def in_child(target: Any, args: tuple[Any, ...], name: str) -> None:
        nonlocal child
        child = multiprocessing.get_context("spawn").Process(target=target, args=args, name=name)
        child.start()
        child.join()
        child = None

    def validate_in_child() -> None:
        in_child(validation.validate_child, (options.queue, run, settings, options.lease, os.getpid()),
                 "auditor-validate")

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    backoff = EqualJitterBackoff(cap=BACKOFF_CAP, base=POLL)
    failures = 0  # failed looks at the queue in a row: the wait doubles with each (up to BACKOFF_CAP)
    rounds = 0
    batches = validation.BatchQueue(queue.client, run)
    try:
        while not stopping.is_set():
            try:
                queue.reap()
                queued, drained = queue.queued(), queue.drained()
                # after the crawl, the run's validation batches (when the run validates in workers)
                state = (validation.step(batches, options.store, settings, validate_in_child)
                         if drained and not queued and batches.enabled() else None)
            except redis.RedisError as exc:
                failures += 1
                wait = backoff.compute(failures)
                log.warning("queue unreachable (%s); trying again in %.1f s", exc, wait)
                stopping.wait(wait)
                continue
            if failures:
                log.warning("queue reachable again")
            failures = 0
            if queued:
                ctx = multiprocessing.get_context("spawn")
                child = ctx.Process(target=_crawl_child, args=(options, run, settings, os.getpid()),
                                    name="auditor-crawl")
                child.start()
                _supervise(child, queue, options.lease)
                code, child = child.exitcode, None
                rounds += 1
                if code and not stopping.is_set():  # the crawl failed (the store unreachable, ...)
                    wait = backoff.compute(1)
                    log.warning("the crawl ended with exit code %s; starting again in %.1f s", code, wait)
                    stopping.wait(wait)
            elif state == "work":
                rounds += 1
            elif drained and state in (None, "done") and not options.forever:
                break
            else:
                stopping.wait(POLL)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    return rounds


def _supervise(child: multiprocessing.process.BaseProcess, queue: WorkQueue, lease: float) -> None:
    """Wait for the crawl, reaping expired leases meanwhile: a dead worker's companies come back mid-run."""
    while child.is_alive():
        child.join(timeout=lease / 3)
        if child.is_alive():
            try:
                queue.reap()
            except redis.RedisError as exc:
                log.debug("no reaping while the queue is unreachable (%s)", exc)


def _wait_for_run(options: WorkerOptions) -> int | None:
    while True:
        run = current_run(options.store)
        if run is not None or not options.forever:
            return run
        time.sleep(POLL)


def _crawl_child(options: WorkerOptions, run: int, settings: Settings, parent: int) -> None:
    """One crawl over claimed companies (in a child process: Scrapy's reactor runs once per process)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        log.debug("no PR_SET_PDEATHSIG here: the crawl outlives a killed worker until its claims end")
    if os.getppid() != parent:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the supervisor, which sends SIGTERM
    from auditor import pipeline  # the crawl (Scrapy) only in the child
    from auditor.cli.common import setup_logging

    setup_logging(None, False)
    claims = Claims(WorkQueue(connect(options.queue), run), new_token(), options.lease)
    claims.start()
    try:
        pipeline.crawl_claims(claims, options.store, settings, claims, limits_url=options.queue)
    finally:
        claims.close()


def describe(status: dict[str, Any]) -> str:
    """The status for a terminal, a few lines."""
    lines = [f"run {status['run']}: queued {status['queued']}, in progress {status['in_progress']}, "
             f"done {status['done']}, failed {status['failed']} (of {status['enqueued']} enqueued"
             f"{'' if status['complete'] else ', enqueueing'})"]
    rate = status["pages_per_second"]
    left = status["seconds_left"]
    lines.append(f"pages {status['pages']}" + (f", {rate} pages/s" if rate else "")
                 + (f", about {left:.0f} s left" if left is not None else ""))
    now = time.time()
    for worker, w in sorted(status["workers"].items()):
        lines.append(f"  {worker}: done {w.get('done', 0)}, failed {w.get('failed', 0)}, pages {w.get('pages', 0)}, "
                     f"holding {w.get('holding', 0)}, seen {now - float(w.get('seen', now)):.0f} s ago")
    batches = status.get("validation")
    if batches:
        lines.append(f"validation: {batches['done']} of {batches['batches']} batches done, "
                     f"{batches['in_progress']} in progress, {batches['verdicts']} verdicts"
                     + (", stored" if batches["stored"] else "" if batches["planned"] else " (not planned yet)"))
    if status["refused_late_writes"]:
        lines.append(f"late writes refused: {status['refused_late_writes']}")
    return "\n".join(lines)


@dataclass(frozen=True)
class RunWork:
    """A run's two queues as its coordinator reads them once local workers have stopped."""

    queue: WorkQueue
    batches: validation.BatchQueue

    @classmethod
    def of(cls, queue_url: str, run: int) -> RunWork:
        queue = WorkQueue(connect(queue_url), run)
        return cls(queue, validation.BatchQueue(queue.client, run))

    def left(self) -> bool:
        """Companies or validation batches are still to do (workers were stopped, or died)."""
        return not self.queue.drained() or not self.batches.settled()

    def verdicts(self, store_target: str) -> Callable[[], Counter[str]] | None:
        """What finishes the run's validation: the workers' batches' verdicts (None: the run validates centrally)."""
        if not self.batches.enabled():
            return None
        return lambda: validation.collect_verdicts(self.batches, store_target)


def run_local_workers(options: WorkerOptions, settings: Settings, count: int) -> None:
    """Run ``count`` (at least one) local workers on the run's queue until they stop (``RunWork.left`` says why)."""
    for worker in start_workers(options, settings, max(1, count)):
        worker.join()


def start_workers(options: WorkerOptions, settings: Settings, count: int) -> list[Any]:
    """``count`` local workers, each a process of its own (as on another machine)."""
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=run_worker, args=(options, settings), name=f"auditor-worker-{i}")
               for i in range(count)]
    for w in workers:
        w.start()
    return workers


__all__ = ["DEFAULT_LEASE", "Enqueued", "RunNotFinished", "RunWork", "WorkerOptions", "current_run", "describe",
           "register_and_enqueue", "resume_and_enqueue", "revalidate_and_enqueue", "run_local_workers", "run_worker",
           "start_workers", "store_counts"]
