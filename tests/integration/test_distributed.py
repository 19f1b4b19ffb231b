"""Distributed runs on real servers: PostgreSQL (the shared store) and Redis (the queue of companies).

The same lab world audited embedded (SQLite) and distributed (three worker
processes) gives the same contact points, verdicts and scores; a worker killed
with SIGKILL in mid-company loses nothing and duplicates nothing; a late write
of a company another worker reclaimed is refused.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from auditor.dist.claims import Claims
from auditor.dist.queue import WorkQueue, connect
from auditor.dist.validation import BatchQueue
from auditor.lab import Lab
from auditor.models import CompanyResult, PageRecord
from auditor.store import SqlStore, open_store
from auditor.store.schema import companies, contact_points, pages
from spiders.pipelines import StorePipeline

ROOT = Path(__file__).resolve().parents[2]


def lab_env(lab: Lab) -> dict[str, str]:
    return {**os.environ, **lab.env(), "PYTHONPATH": str(ROOT)}


def crawl_args(lab: Lab) -> list[str]:
    args = ["--nameserver", lab.nameserver, "--allow-private-targets", "--delay", "0", "--timeout", "5",
            "--smtp-timeout", "3", "--greylist-delay", "1", "--helo", "dist.auditor.test",
            "--mail-from", "probe@dist.auditor.test", "--no-progress",
            "--contact-url", "https://lab.test/about-the-crawler"]
    if lab.smtp_port:
        args += ["--smtp-port", str(lab.smtp_port)]
    return args


def auditor(lab: Lab, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "auditor.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=lab_env(lab))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def findings(out: Path) -> dict[str, Any]:
    """What must not depend on how the run was distributed: per website, contacts, verdicts, scores."""
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    by_site: dict[str, Any] = {}
    for c in results["companies"]:
        by_site[c["website"]] = {
            "status": c["status"],
            "contacts": sorted((p["kind"], p["value"], (p.get("validation") or {}).get("verdict"),
                                (p.get("validation") or {}).get("reason")) for p in c["contacts"]),
            "failures": sorted(f["tag"] for f in c["failures"]),
        }
    scored = {
        c["website"]: {
            **{k: c[k] for k in ("rank", "availability", "responsiveness", "total", "channels", "active_channels",
                                 "active", "inactive", "unknown")},
            # a line's message quotes timings (pages load in N ms): its rule, points and tag are what count
            "lines": [{k: v for k, v in line.items() if k != "message"} for line in c["lines"]],
        }
        for c in scores["companies"]
    }
    return {"companies": by_site, "summary": {k: results["summary"][k] for k in ("companies", "companies_failed")},
            "scores": scored}


def stored_once(store_url: str, expected: int) -> None:
    """Every company stored, none twice: one row per company, no pending one, children unique by seq."""
    store = open_store(store_url)
    assert isinstance(store, SqlStore)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(select(companies.c.key, companies.c.status)).all()
            dup_pages = conn.execute(select(pages.c.company_key, pages.c.url, func.count())
                                     .group_by(pages.c.company_key, pages.c.url, pages.c.seq)
                                     .having(func.count() > 1)).all()
            dup_points = conn.execute(select(contact_points.c.company_key, func.count())
                                      .group_by(contact_points.c.company_key, contact_points.c.kind,
                                                contact_points.c.value)
                                      .having(func.count() > 1)).all()
    finally:
        store.close()
    assert len(rows) == expected
    assert [k for k, status in rows if status == "pending"] == [], "companies missing"
    assert not dup_pages and not dup_points


def test_embedded_and_distributed_runs_find_the_same(lab: Lab, tmp_path: Path, postgres_url: str,
                                                     redis_url: str) -> None:
    csv_path = lab.write_companies_csv(tmp_path / "companies.csv")
    embedded, shared = tmp_path / "embedded", tmp_path / "shared"
    auditor(lab, "audit", str(csv_path), "--out", str(embedded), *crawl_args(lab))
    out = auditor(lab, "audit", str(csv_path), "--out", str(shared), "--store", postgres_url, "--queue", redis_url,
                  "--workers", "3", *crawl_args(lab))
    assert "companies enqueued" in out.stdout
    assert findings(shared) == findings(embedded)
    expected = len(json.loads((embedded / "results.json").read_text(encoding="utf-8"))["companies"])
    stored_once(postgres_url, expected)
    status = json.loads(auditor(lab, "status", "--store", postgres_url, "--queue", redis_url, "--json").stdout)
    assert status["queued"] == 0 and status["in_progress"] == 0
    assert status["done"] + status["failed"] == expected
    assert len(status["workers"]) >= 3, status["workers"]
    # validated by the workers, in batches per mail host and platform host, each verdict stored once
    batches = BatchQueue(connect(redis_url), status["run"])
    assert batches.drained() and batches.is_stored()
    stats = batches.stats()
    assert stats["done"] == stats["enqueued"] >= 10 and stats.get("refused", 0) == 0, stats
    # the report and the exports of the shared store, written anywhere
    again = tmp_path / "again"
    auditor(lab, "report", "--store", postgres_url, "--out", str(again))
    assert (again / "report" / "index.html").exists()
    assert findings(again)["companies"] == findings(embedded)["companies"]
    out = auditor(lab, "validate", "--store", postgres_url, "--out", str(again), *crawl_args(lab), "--no-smtp")
    assert "Verdicts:" in out.stdout and (again / "results.json").exists()
    assert findings(again)["companies"] != findings(embedded)["companies"]  # no SMTP: emails judged otherwise
    # re-validated by two workers in batches again (SMTP on): the embedded run's verdicts come back
    redone = tmp_path / "redone"
    out = auditor(lab, "validate", "--store", postgres_url, "--queue", redis_url, "--workers", "2",
                  "--out", str(redone), *crawl_args(lab))
    assert "validation planned by the workers" in out.stdout and "Verdicts:" in out.stdout
    auditor(lab, "report", "--store", postgres_url, "--out", str(redone))
    assert findings(redone) == findings(embedded)
    replanned = batches.stats()
    assert replanned["done"] == replanned["enqueued"] == stats["enqueued"], replanned
    assert batches.drained() and batches.is_stored()
    # --workers 0: the command plans, then waits for a worker started elsewhere to check and store every batch
    elsewhere = tmp_path / "elsewhere"
    waiting = subprocess.Popen([sys.executable, "-m", "auditor.cli", "validate", "--store", postgres_url, "--queue",
                                redis_url, "--workers", "0", "--out", str(elsewhere), *crawl_args(lab)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=lab_env(lab))
    try:
        deadline = time.monotonic() + 60
        while batches.is_stored() and time.monotonic() < deadline:  # planned anew: the old verdicts forgotten
            time.sleep(0.2)
        time.sleep(2.0)
        assert waiting.poll() is None, "the coordinator did not wait for a worker"
        auditor(lab, "worker", "--store", postgres_url, "--queue", redis_url, *crawl_args(lab))
        stdout, stderr = waiting.communicate(timeout=120)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, stdout + stderr
    assert "Waiting for workers started elsewhere" in stdout and "Verdicts:" in stdout
    auditor(lab, "report", "--store", postgres_url, "--out", str(elsewhere))
    assert findings(elsewhere) == findings(embedded)
    assert batches.stats()["done"] == stats["enqueued"] and batches.is_stored()


def _crawl_children(pid: int) -> list[int]:
    """The crawl processes a worker supervises (the ones in mid-company)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_kill_9_of_a_worker_in_mid_company_loses_and_duplicates_nothing(
        lab: Lab, tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    seed = int(os.environ.get("AUDITOR_KILL_SEED", random.randrange(1 << 30)))
    print(f"kill seed: {seed} (AUDITOR_KILL_SEED={seed} repeats it)")
    rng = random.Random(seed)
    csv_path = lab.write_companies_csv(tmp_path / "companies.csv")
    # with validation: the survivor validates every batch after the kill (a lost cancellation once kept a
    # mail host's shared SMTP slot renewed for ever and hung it here: tests/unit/test_renewing.py)
    auditor(lab, "audit", str(csv_path), "--out", str(tmp_path / "out"), "--store", postgres_url,
            "--queue", redis_url, "--detach", *crawl_args(lab))
    run = json.loads(auditor(lab, "status", "--store", postgres_url, "--json").stdout)["run"]
    queue = WorkQueue(connect(redis_url), run)
    expected = queue.status().enqueued
    # a slow crawl (a pause between requests) so that the kill lands in mid-company
    worker_args = ["worker", "--store", postgres_url, "--queue", redis_url, "--lease", "3", *crawl_args(lab),
                   "--delay", "1", "--no-autothrottle", "--concurrency", "2"]

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "auditor.cli", *worker_args], cwd=ROOT, env=lab_env(lab),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    victim, other = start(), start()
    try:
        killed: list[str] = []
        time.sleep(rng.uniform(0.5, 4.0))  # a random moment, then the first one the victim holds a company
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if victim.poll() is not None:
                break
            mine = {f"{socket.gethostname()}:{pid}" for pid in _crawl_children(victim.pid)}
            workers = queue.status().workers
            if any(workers.get(w, {}).get("holding") for w in mine):
                victim.kill()  # SIGKILL: nothing handed back; the crawl child dies with it
                victim.wait()
                killed = sorted(mine)
                break
        assert killed, f"the kill never hit a worker in mid-company (seed {seed})"
        print(f"killed {killed} holding companies")
        # communicate, not wait: it drains the worker's stderr, which a worker that logs more than
        # a pipe holds (64 KB) would otherwise block on for ever
        _, err = other.communicate(timeout=600)
        assert other.returncode == 0, err
    finally:
        for p in (victim, other):
            if p.poll() is None:
                p.kill()
                p.wait()
    assert queue.client.hlen(queue.key("attempts")) >= 1, "no company of the killed worker was reclaimed"
    assert queue.drained(), queue.status()
    stored_once(postgres_url, expected)
    assert queue.status().done + queue.status().failed == expected
    batches = BatchQueue(queue.client, run)
    assert batches.drained() and batches.is_stored(), batches.summary()  # every batch validated and written


def test_sigterm_hands_back_the_companies_in_progress(lab: Lab, tmp_path: Path, postgres_url: str,
                                                      redis_url: str) -> None:
    csv_path = lab.write_companies_csv(tmp_path / "companies.csv")
    auditor(lab, "audit", str(csv_path), "--out", str(tmp_path / "out"), "--store", postgres_url,
            "--queue", redis_url, "--detach", *crawl_args(lab))
    run = json.loads(auditor(lab, "status", "--store", postgres_url, "--json").stdout)["run"]
    queue = WorkQueue(connect(redis_url), run)
    expected = queue.status().enqueued
    args = ["worker", "--store", postgres_url, "--queue", redis_url, *crawl_args(lab), "--delay", "1",
            "--no-autothrottle", "--concurrency", "2"]
    worker = subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], cwd=ROOT, env=lab_env(lab),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while queue.in_progress() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert queue.in_progress() > 0, "the worker never claimed a company"
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)  # drains stderr (see above)
        assert worker.returncode == 0, err
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    status = queue.status()
    assert status.in_progress == 0, "companies in progress were not handed back"
    assert status.queued > 0 and status.done + status.failed + status.queued == expected
    assert queue.client.hlen(queue.key("attempts")) == 0, "handed back, not left to expire"
    auditor(lab, *args[:5], *crawl_args(lab))  # another worker finishes the run
    assert queue.drained()
    stored_once(postgres_url, expected)


def test_a_late_write_of_a_reclaimed_company_is_refused(lab: Lab, postgres_url: str, redis_url: str) -> None:
    store = open_store(postgres_url)
    try:
        run = store.start_run({}, "test")
        site = lab.website("teashop.co.uk")
        from auditor.models import Company

        company = Company(1, "Tea shop", site)
        store.register_companies([company])
        queue = WorkQueue(connect(redis_url), run)
        queue.enqueue([company])
        queue.mark_complete()
        late = Claims(queue, "late-worker", lease=0.3)
        assert [c.key for c in late] == [company.key]
        time.sleep(0.5)  # the late worker is cut off: no renewal, its lease runs out
        assert queue.reap() == 1
        fresh = Claims(queue, "fresh-worker", lease=30)
        assert [c.key for c in fresh] == [company.key]
        good = CompanyResult(company, (PageRecord(site, 200, None, "", 0, 10.0, 1.0, 10),), status="done")
        assert fresh.may_store(good)
        store.save_company(good)
        fresh.stored(good)
        stale = CompanyResult(company, (), status="failed")
        assert not late.may_store(stale), "the cut-off worker's write must be refused"
        late.stored(stale)  # even if it stored anyway, its ack changes nothing
        status = queue.status()
        assert (status.done, status.failed, status.in_progress, status.queued) == (1, 0, 0, 0)
        assert status.refused_late_writes >= 1
        [stored] = list(store.results())
        assert stored.status == "done" and len(stored.pages) == 1
    finally:
        store.close()


def test_the_store_refuses_a_write_of_an_older_claim_whatever_redis_said(lab: Lab, postgres_url: str,
                                                                          redis_url: str) -> None:
    """The lease check and the write are two servers: a cut-off worker that could not ask Redis (or asked
    before the cut) and writes late must not replace the result of the claim that reclaimed its company."""
    from auditor.models import Company
    from auditor.store import StaleWrite

    store = open_store(postgres_url)
    try:
        run = store.start_run({}, "test")
        site = lab.website("teashop.co.uk")
        company = Company(1, "Tea shop", site)
        store.register_companies([company])
        queue = WorkQueue(connect(redis_url), run)
        queue.enqueue([company])
        queue.mark_complete()
        late = queue.claim("late-worker", 0.3)
        time.sleep(0.5)
        assert queue.reap() == 1
        fresh = queue.claim("fresh-worker", 30)
        assert late is not None and fresh is not None and late.fence is not None and fresh.fence is not None
        assert fresh.fence > late.fence, "a later claim must carry a higher fence"
        good = CompanyResult(company, (PageRecord(site, 200, None, "", 0, 10.0, 1.0, 10),), status="done")
        stale = CompanyResult(company, (), status="failed")
        store.save_company(good, fresh.fence)
        with pytest.raises(StaleWrite):
            store.save_company(stale, late.fence)  # as if may_store had said yes: Redis unreachable
        store.save_company(good, fresh.fence)  # the same claim's write again (a retried commit): fine
        [stored] = list(store.results())
        assert stored.status == "done" and len(stored.pages) == 1
        assert store.max_fence() == fresh.fence
        # the pipeline's way: the refusal reaches the claims as a refused write, not a store error
        pipeline = StorePipeline(postgres_url)
        pipeline.store, pipeline.guard = store, _Guard(late.fence)
        pipeline.process_item(stale)
        assert pipeline.guard.refused_keys == [company.key] and pipeline.guard.failed == []
        # a Redis that lost its counter (emptied): the fence is raised past the stored one before new claims
        queue.client.delete(queue.fence_key)
        assert queue.raise_fence(store.max_fence()) == fresh.fence
        queue.forget()
        queue.enqueue([company])
        again = queue.claim("next-wave", 30)
        assert again is not None and again.fence is not None and again.fence > fresh.fence
        store.save_company(stale, again.fence)  # a newer claim's result replaces the older one
        assert [r.status for r in store.results()] == ["failed"]
    finally:
        store.close()


class _Guard:
    """A store guard that says yes (as Claims does when Redis cannot be asked) and records what it hears."""

    def __init__(self, fence: int) -> None:
        self._fence = fence
        self.refused_keys: list[str] = []
        self.failed: list[str] = []

    def may_store(self, result: CompanyResult) -> bool:
        return True

    def fence(self, result: CompanyResult) -> int | None:
        return self._fence

    def refused(self, result: CompanyResult) -> None:
        self.refused_keys.append(result.company.key)

    def stored(self, result: CompanyResult) -> None:
        raise AssertionError("a refused write is not stored")

    def store_failed(self, result: CompanyResult, reason: str) -> None:
        self.failed.append(reason)


@pytest.mark.parametrize("rows", [3000])
def test_enqueue_streams_and_counts_duplicates(tmp_path: Path, postgres_url: str, redis_url: str, rows: int) -> None:
    from auditor.config import Settings
    from auditor.dist.run import register_and_enqueue

    csv_path = tmp_path / "big.csv"
    with csv_path.open("w", encoding="utf-8") as fh:
        fh.write("name,website\n")
        for i in range(rows):
            fh.write(f"Company {i},https://company-{i % (rows - 10)}.example.com/\n")
        fh.write("broken,not a url\n")
    enq = register_and_enqueue(str(csv_path), postgres_url, redis_url, Settings(), batch=500)
    assert enq.companies == rows - 10
    assert sorted(e.tag for e in enq.errors) == ["duplicate-row"] * 10 + ["invalid-website"]
    queue = WorkQueue(connect(redis_url), enq.run)
    assert queue.queued() == rows - 10 and queue.is_complete()
    store = open_store(postgres_url)
    try:
        assert len(store.companies()) == rows - 10
        assert len(store.input_errors()) == 11
    finally:
        store.close()
