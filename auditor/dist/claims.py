"""A worker's claims: the companies it feeds its crawl from the queue, and their leases.

:class:`Claims` is what the spider iterates over (each step claims one
company) and what the store pipeline asks before and tells after storing a
company (:class:`StoreGuard`). A thread renews the leases of the companies
held; when the process dies the renewals stop, the leases expire, and another
worker's reaper puts the companies back in the queue. When Redis cannot be
reached (restarted, a network cut) the crawl stops taking companies and the
worker's supervisor waits for the queue with backoff; a company stored
meanwhile keeps its lease renewed and its ack is delivered once Redis answers
again, so it is not crawled twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import redis

from auditor.dist.queue import Claim, WorkQueue
from auditor.models import Company, CompanyResult

log = logging.getLogger(__name__)

STORE_ERROR = "store-error"
ACK_RETRY = 0.5  # seconds before an ack Redis missed is tried again at shutdown (doubling)


class StoreGuard(Protocol):
    """What the item pipeline asks of a distributed run around each company's write."""

    def may_store(self, result: CompanyResult) -> bool:
        """False when the company is no longer ours (its lease expired): the write is refused."""
        ...

    def fence(self, result: CompanyResult) -> int | None:
        """The claim number the write goes under (the store refuses it once a later claim's result is stored)."""
        ...

    def refused(self, result: CompanyResult) -> None:
        """The store refused the write: a later claim of the company is stored (this one's lease ran out)."""
        ...

    def stored(self, result: CompanyResult) -> None:
        """The company is in the store: finish its claim."""
        ...

    def store_failed(self, result: CompanyResult, reason: str) -> None:
        """The company could not be stored: record why."""
        ...


@dataclass(frozen=True)
class _Ack:
    """A stored company's ack that Redis did not take yet: delivered by the renewal thread."""

    claim: Claim
    outcome: str
    pages: int
    reason: str


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Claims:
    """Companies claimed one at a time as the crawl asks for them; leases renewed in a thread."""

    def __init__(self, queue: WorkQueue, token: str, lease: float, worker: str | None = None) -> None:
        self.queue = queue
        self.token = token
        self.lease = lease
        self.worker = worker or worker_id()
        self.held: dict[str, Claim] = {}
        self.unacked: dict[str, _Ack] = {}  # stored, ack not delivered (Redis unreachable): leases kept
        self.counters = {"done": 0, "failed": 0, "pages": 0, "refused": 0}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_loop, name="lease-renewal", daemon=True)

    # -- the spider's companies -------------------------------------------
    def __iter__(self) -> Iterator[Company]:
        while True:
            try:
                claim = self.queue.claim(self.token, self.lease)
            except redis.RedisError as exc:
                log.warning("queue unreachable (%s): no more claims in this crawl", exc)
                return
            if claim is None:
                return
            with self._lock:
                self.held[claim.company.key] = claim
            log.info("claimed %s", claim.company.website)
            self._beat()
            yield claim.company

    # -- the store pipeline's guard ---------------------------------------
    def may_store(self, result: CompanyResult) -> bool:
        claim = self.held.get(result.company.key)
        try:
            if claim is not None and self.queue.owns(claim, self.token):
                return True
        except redis.RedisError as exc:
            # The write replaces the company as a whole, under this claim's fence: the store itself refuses it
            # when another worker reclaimed the company meanwhile and stored a later claim's result.
            log.warning("queue unreachable (%s): %s stored under its claim's fence, without checking its lease",
                        exc, result.company.website)
            return claim is not None
        log.warning("%s: lease lost (reclaimed by another worker); result not stored", result.company.website)
        self._refuse(result)
        return False

    def fence(self, result: CompanyResult) -> int | None:
        claim = self.held.get(result.company.key)
        return claim.fence if claim is not None else None

    def refused(self, result: CompanyResult) -> None:
        log.warning("%s: a later claim's result is stored (reclaimed by another worker); this one is not",
                    result.company.website)
        self._refuse(result)

    def _refuse(self, result: CompanyResult) -> None:
        self._forget(result.company.key)
        self.counters["refused"] += 1
        try:
            self.queue.note_refused()
        except redis.RedisError:
            log.debug("could not count the refused write")

    def stored(self, result: CompanyResult) -> None:
        claim = self._forget(result.company.key)
        if claim is None:
            return
        reason = result.failures[0].tag if result.status == "failed" and result.failures else ""
        self._deliver(_Ack(claim, result.status, len(result.pages), reason))

    def _deliver(self, ack: _Ack) -> bool:
        """Ack a stored company; False when Redis is unreachable (kept, with its lease, to try again)."""
        key = ack.claim.company.key
        try:
            acked = self.queue.ack(ack.claim, self.token, ack.outcome, ack.pages, ack.reason)
        except redis.RedisError as exc:
            with self._lock:
                first = key not in self.unacked
                self.unacked[key] = ack
            if first:
                log.warning("queue unreachable (%s): %s is stored, its ack waits for the queue", exc,
                            ack.claim.company.website)
            return False
        with self._lock:
            self.unacked.pop(key, None)
        if acked:
            self.counters["done" if ack.outcome == "done" else "failed"] += 1
            self.counters["pages"] += ack.pages
        else:
            # Stored after the lease ran out: the store replaced the company as one whole (harmless),
            # and whoever holds it now finishes the claim.
            self.counters["refused"] += 1
        return True

    def _deliver_pending(self) -> bool:
        """Try the acks Redis missed again; True when none is left."""
        with self._lock:
            waiting = list(self.unacked.values())
        return all([self._deliver(ack) for ack in waiting])

    def store_failed(self, result: CompanyResult, reason: str) -> None:
        claim = self._forget(result.company.key)
        if claim is None:
            return
        try:
            self.queue.ack(claim, self.token, "failed", 0, f"{STORE_ERROR}: {reason}"[:500])
        except redis.RedisError as exc:
            log.warning("queue unreachable (%s): %s stays claimed until its lease ends", exc, result.company.website)
            return
        self.counters["failed"] += 1

    def _forget(self, key: str) -> Claim | None:
        with self._lock:
            return self.held.pop(key, None)

    # -- leases -----------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop renewing, deliver the acks Redis missed, hand back every company still held.

        Acks are tried again for up to a lease: a stored company whose ack is lost
        comes back when its lease ends and is crawled (and replaced) once more.
        """
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.lease)
        deadline = time.monotonic() + self.lease
        wait = ACK_RETRY
        while not self._deliver_pending() and time.monotonic() + wait < deadline:
            time.sleep(wait)
            wait = min(wait * 2, self.lease / 3)
        with self._lock:
            left = list(self.held.values())
            self.held.clear()
        for claim in left:
            try:
                if self.queue.release(claim, self.token):
                    log.info("handed back %s", claim.company.website)
            except redis.RedisError:
                log.warning("could not hand back %s: its lease will expire", claim.company.website)
        self._beat()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease / 3):
            with self._lock:
                held = list(self.held.values()) + [ack.claim for ack in self.unacked.values()]
            for claim in held:
                try:
                    if not self.queue.renew(claim, self.token, self.lease):
                        log.warning("%s: lease lost", claim.company.website)
                except redis.RedisError as exc:
                    log.warning("lease renewal failed (%s); retrying", exc)
            self._deliver_pending()
            self._beat()

    def _beat(self) -> None:
        try:
            self.queue.heartbeat(self.worker, {**self.counters, "holding": len(self.held) + len(self.unacked)})
        except redis.RedisError as exc:
            log.warning("heartbeat failed (%s)", exc)
