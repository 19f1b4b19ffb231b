"""Validation batches of a distributed run on a real Redis: leases, and verdicts kept exactly once."""

from __future__ import annotations

import time

from auditor.dist.queue import connect
from auditor.dist.validation import BatchQueue
from auditor.models import ContactPoint, Verdict


def test_a_cut_off_workers_late_verdicts_are_refused(redis_url: str) -> None:
    queue = BatchQueue(connect(redis_url), 7)
    cp = ContactPoint("email", "info@a.example", "info@a.example", None, "mailto", "")
    assert queue.enqueue({"mx:192.0.2.10": [(cp, "DE")]}) == 1
    assert queue.enqueue({"mx:192.0.2.10": [(cp, "DE")]}) == 0  # a planner redone enqueues nothing twice
    queue.mark_complete()
    late = queue.claim("late-worker", lease=0.3)
    assert late is not None and late.key == "mx:192.0.2.10"
    time.sleep(0.5)  # cut off: no renewal, the lease runs out
    assert queue.reap() == 1
    fresh = queue.claim("fresh-worker", lease=30)
    assert fresh is not None
    good = Verdict("email", cp.value, "active", "accepted")
    assert queue.ack(fresh, "fresh-worker", {("email", cp.value): good})
    stale = Verdict("email", cp.value, "unknown", "smtp-timeout")
    assert not queue.ack(late, "late-worker", {("email", cp.value): stale}), "a late ack must be refused"
    assert queue.verdicts() == {("email", cp.value): good}
    assert queue.drained()
    stats = queue.stats()
    assert (stats["enqueued"], stats["done"], stats["refused"]) == (1, 1, 1)


def test_a_batch_handed_back_is_taken_first_by_the_next_worker(redis_url: str) -> None:
    queue = BatchQueue(connect(redis_url), 8)
    cp = ContactPoint("phone", "+3612345678", "+3612345678", None, "tel-link", "")
    queue.enqueue({"phone:0": [(cp, "HU")], "phone:1": [(cp, None)]})
    queue.mark_complete()
    first = queue.claim("a", lease=30)
    assert first is not None and queue.release(first, "a")
    again = queue.claim("b", lease=30)
    assert again is not None and again.key == first.key
    assert queue.in_progress() == 1 and queue.queued() == 1 and not queue.drained()
