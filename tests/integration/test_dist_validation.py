"""Validation batches of a distributed run on real Redis and PostgreSQL: leases, and verdicts kept exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.dist.queue import WorkQueue, connect
from auditor.dist.run import describe
from auditor.dist.validation import BatchQueue
from auditor.lab import Lab
from auditor.models import ContactPoint, Verdict
from auditor.store import open_store
from auditor.validate.run import VALIDATED_KINDS


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
    assert WorkQueue(queue.client, 7).status().validation is None  # a run whose workers do not validate
    queue.enable()
    status = WorkQueue(queue.client, 7).status().to_dict()
    assert status["validation"] == {"planned": True, "batches": 1, "queued": 0, "in_progress": 0, "done": 1,
                                    "failed": 0, "verdicts": 1, "stored": False}
    assert "validation: 1 of 1 batches done, 0 in progress, 1 verdicts" in describe(status)


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


@pytest.fixture(scope="module")
def mail_lab() -> Iterator[Lab]:
    """A lab of its own: fresh greylisting memory, and mail replies slow enough to kill a worker mid-batch."""
    with Lab(smtp_latency=0.2) as running:
        yield running


def test_kill_9_of_a_worker_in_mid_batch_loses_and_duplicates_no_verdict(
        mail_lab: Lab, tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    from tests.integration.test_distributed import ROOT, auditor, crawl_args, lab_env

    names = ["sitemapco.pl", "robotfirma.de", "kovacs-szerviz.hu", "pixelhry.sk", "balaton-panzio.hu"]
    csv_path = mail_lab.write_companies_csv(tmp_path / "companies.csv", list(names))
    auditor(mail_lab, "audit", str(csv_path), "--out", str(tmp_path / "out"), "--store", postgres_url,
            "--queue", redis_url, "--detach", *crawl_args(mail_lab))
    run = json.loads(auditor(mail_lab, "status", "--store", postgres_url, "--json").stdout)["run"]
    batches = BatchQueue(connect(redis_url), run)
    assert batches.enabled()
    args = [sys.executable, "-m", "auditor.cli", "worker", "--store", postgres_url, "--queue", redis_url,
            "--lease", "3", *crawl_args(mail_lab), "--greylist-delay", "4"]
    victim = subprocess.Popen(args, cwd=ROOT, env=lab_env(mail_lab), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    greylisting = f"mx:{mail_lab.mail_host('mx1.sitemapco.pl').ip}"  # a batch that waits out a greylisting

    def held() -> list[str]:
        return [json.loads(item)["key"] for item in batches.client.lrange(batches.key("processing"), 0, -1)]

    try:
        deadline = time.monotonic() + 180
        while greylisting not in held() and victim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert greylisting in held(), f"the victim never held the greylisting host's batch: {batches.stats()}"
        victim.kill()  # SIGKILL: nothing handed back; its validation child dies with it
        victim.wait()
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
    try:
        auditor(mail_lab, *args[3:], timeout=180)  # another worker finishes the run
    except subprocess.TimeoutExpired as exc:
        print("STDERR", exc.stderr[-6000:] if exc.stderr else None, batches.stats())
        raise
    assert batches.client.hget(batches.key("attempts"), greylisting) == "1", "the killed worker's batch was not reclaimed"
    stats = batches.stats()
    assert batches.drained() and batches.is_stored() and stats["done"] == stats["enqueued"], stats
    store = open_store(postgres_url)
    try:
        for result in store.results():
            wanted = {(cp.kind, cp.value) for cp in result.contacts if cp.kind in VALIDATED_KINDS}
            assert set(store.verdicts(result.company.key)) == wanted, result.company.website
    finally:
        store.close()
