"""Faults of a distributed run on real servers, each followed by the check that every company is stored once.

Redis killed and started again (its append-only file keeps the queue): the
workers wait for it with backoff and finish the run. PostgreSQL shut down in
mid-run: a company finishing meanwhile is written once the server is back.
A worker paused (SIGSTOP, as a host cut off from the network) past its lease:
another worker reclaims its company, and its late write is refused when it
comes back (test_distributed_netns.py cuts a real link: a worker in a network
namespace of its own). ``auditor audit --resume`` on a shared store queues again only the
companies not stored yet.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from auditor.config import Settings
from auditor.dist.claims import Claims
from auditor.dist.queue import WorkQueue, connect
from auditor.dist.run import register_and_enqueue, resume_and_enqueue
from auditor.lab import Lab
from auditor.models import Company, CompanyResult, PageRecord
from auditor.store import SqlStore, open_store
from auditor.store.schema import companies
from tests.integration.test_distributed import ROOT, auditor, crawl_args, lab_env, stored_once
from tests.support.postgres import PostgresProcess
from tests.support.redis import PersistentRedis

# Sites that answer normally: a fault, not the site, decides what happens.
SITES = ["kovacs-szerviz.hu", "robotfirma.de", "sitemapco.pl", "teashop.co.uk", "pasticceria-rossi.it",
         "atelier-dupont.fr", "balaton-panzio.hu", "alpenbank-tirol.at"]
DOWN = 10.0  # seconds a server stays down: far longer than one command's reconnection attempts


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def detach(lab: Lab, tmp_path: Path, store: str, queue_url: str) -> tuple[WorkQueue, int]:
    """Register the run and enqueue the sites (no worker); the queue and the number enqueued."""
    csv_path = lab.write_companies_csv(tmp_path / "companies.csv", list(SITES))
    auditor(lab, "audit", str(csv_path), "--out", str(tmp_path / "out"), "--store", store, "--queue", queue_url,
            "--detach", *crawl_args(lab))
    run = json.loads(auditor(lab, "status", "--store", store, "--json").stdout)["run"]
    queue = WorkQueue(connect(queue_url), run)
    return queue, queue.status().enqueued


def start_worker(lab: Lab, store: str, queue_url: str, lease: float) -> subprocess.Popen[str]:
    """A worker in a session of its own (the test can pause it with its crawl, as a host cut off)."""
    args = ["worker", "--store", store, "--queue", queue_url, "--lease", str(lease), *crawl_args(lab),
            "--delay", "0.5", "--no-autothrottle", "--concurrency", "2"]
    return subprocess.Popen([sys.executable, "-m", "auditor.cli", *args], cwd=ROOT, env=lab_env(lab),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def finish(workers: list[subprocess.Popen[str]], timeout: float = 300) -> str:
    """Wait for every worker to exit 0; their logs."""
    logs = []
    for w in workers:
        _, err = w.communicate(timeout=timeout)
        logs.append(err)
        assert w.returncode == 0, err[-3000:]
    return "\n".join(logs)


def stop_all(workers: list[subprocess.Popen[str]]) -> None:
    for w in workers:
        if w.poll() is None:
            os.killpg(w.pid, signal.SIGKILL)
            w.wait()


def _crawling(pid: int) -> bool:
    """Whether the worker ``pid`` runs a crawl (or validation) child now (its resource tracker does not count)."""
    out = subprocess.run(["ps", "-o", "args=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return any("multiprocessing.spawn" in line for line in out.splitlines())


def no_store_errors(queue: WorkQueue) -> None:
    reasons = queue.client.hvals(queue.key("reason"))
    assert not [r for r in reasons if "store-error" in str(r)], reasons


def test_workers_wait_for_a_restarted_redis_and_lose_nothing(
        lab: Lab, tmp_path: Path, postgres_url: str, persistent_redis: PersistentRedis) -> None:
    queue, expected = detach(lab, tmp_path, postgres_url, persistent_redis.url)
    # Down for longer than a lease: the crawls end, their leases run out, the supervisors wait for Redis.
    workers = [start_worker(lab, postgres_url, persistent_redis.url, lease=DOWN / 2) for _ in range(2)]
    try:
        wait_for(lambda: queue.status().done >= 1 and queue.in_progress() >= 1, 180, "a company done, one claimed")
        persistent_redis.kill()
        time.sleep(DOWN)
        # and until both crawls have ended (a company in hand may outlast DOWN on a loaded machine), so that
        # each supervisor looks at the queue while Redis is down: what this test is about
        wait_for(lambda: not any(_crawling(w.pid) for w in workers), 180, "the crawls ended while Redis was down")
        time.sleep(2.0)  # a look at the queue, and its backoff
        persistent_redis.start()
        logs = finish(workers)
    finally:
        stop_all(workers)
    queue = WorkQueue(connect(persistent_redis.url), queue.run)
    assert queue.drained(), queue.status()
    status = queue.status()
    assert status.done + status.failed == expected
    no_store_errors(queue)
    stored_once(postgres_url, expected)
    assert "queue unreachable" in logs and "queue reachable again" in logs, "the workers never met the outage"


def test_a_stored_companys_ack_waits_for_a_restarted_redis(
        postgres_url: str, persistent_redis: PersistentRedis) -> None:
    """Redis down when a stored company is acked: the ack is delivered later, the company not crawled again."""
    store = open_store(postgres_url)
    try:
        run = store.start_run({}, "test")
        companies = [Company(i, f"C{i}", f"https://c{i}.example.com/") for i in (1, 2)]
        store.register_companies(companies)
        queue = WorkQueue(connect(persistent_redis.url), run)
        queue.enqueue(companies)
        queue.mark_complete()
        claims = Claims(queue, "worker", lease=30)
        claims.start()
        company = next(iter(claims))
        result = CompanyResult(company, status="done")
        assert claims.may_store(result)
        store.save_company(result)
        persistent_redis.kill()
        claims.stored(result)  # Redis is down: the ack waits
        persistent_redis.start()
        claims.close()
    finally:
        store.close()
    queue = WorkQueue(connect(persistent_redis.url), run)
    status = queue.status()
    assert (status.done, status.in_progress, status.queued) == (1, 0, 1), status


def test_a_write_while_postgresql_is_down_is_retried_and_stored_once(
        lab: Lab, tmp_path: Path, restartable_postgres_server: PostgresProcess, redis_url: str) -> None:
    pg = restartable_postgres_server
    store = pg.server.create_database("audit")
    queue, expected = detach(lab, tmp_path, store, redis_url)
    workers = [start_worker(lab, store, redis_url, lease=60) for _ in range(2)]
    try:
        wait_for(lambda: queue.status().done >= 1 and queue.in_progress() >= 1, 180, "a company done, one claimed")
        pg.stop(signal.SIGQUIT)  # immediate shutdown: open connections cut, as when the server crashes
        time.sleep(DOWN)
        pg.start()
        logs = finish(workers)
    finally:
        stop_all(workers)
    assert queue.drained(), queue.status()
    status = queue.status()
    assert status.done + status.failed == expected
    no_store_errors(queue)
    stored_once(store, expected)
    assert "database unreachable during a write" in logs, "no company finished while the database was down"


def test_a_worker_cut_off_past_its_lease_comes_back_and_its_late_write_is_refused(
        lab: Lab, tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    queue, expected = detach(lab, tmp_path, postgres_url, redis_url)
    lease = 3.0
    victim = start_worker(lab, postgres_url, redis_url, lease)
    workers = [victim]
    try:
        wait_for(lambda: queue.in_progress() >= 1, 120, "the victim to claim a company")
        os.killpg(victim.pid, signal.SIGSTOP)  # cut off: no renewal, no write, for longer than the lease
        taken = set(queue.client.lrange(queue.key("processing"), 0, -1))
        other = start_worker(lab, postgres_url, redis_url, lease)
        workers.append(other)
        finish([other])  # it reclaims the victim's companies once their leases end, and drains the queue
        assert queue.client.hlen(queue.key("attempts")) >= 1, "the victim's company was never reclaimed"
        resumed = time.time()
        os.killpg(victim.pid, signal.SIGCONT)
        logs = finish([victim])
    finally:
        stop_all(workers)
    keys = {json.loads(item)["key"] for item in taken}
    assert keys
    status = queue.status()
    assert status.refused_late_writes >= 1, logs[-3000:]
    assert "lease lost" in logs
    assert queue.drained() and status.done + status.failed == expected
    stored_once(postgres_url, expected)
    # what the other worker stored stays: the victim's late result was not written over it
    store = open_store(postgres_url)
    assert isinstance(store, SqlStore)
    try:
        with store.engine.connect() as conn:
            written = dict(conn.execute(select(companies.c.key, companies.c.harvested_at)
                                        .where(companies.c.key.in_(keys))).all())
    finally:
        store.close()
    assert written.keys() == keys and all(at < resumed for at in written.values()), (written, resumed)


def test_resume_on_a_shared_store_enqueues_only_the_companies_not_stored(
        lab: Lab, tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    queue, expected = detach(lab, tmp_path, postgres_url, redis_url)
    store = open_store(postgres_url)
    try:
        first = next(c for c in store.companies() if c.row == 2)
        marker = CompanyResult(first, (PageRecord(first.website + "stored-before-the-resume", 200),), status="done")
        store.save_company(marker)  # stored by a worker that died before its ack
    finally:
        store.close()
    queue.client.flushdb()  # and the queue is lost with it
    out = auditor(lab, "audit", "--resume", str(tmp_path / "out"), "--store", postgres_url, "--queue", redis_url,
                  "--workers", "1", "--no-validate", "--no-report", *crawl_args(lab))
    assert f"{expected - 1} companies left to audit" in out.stdout
    assert queue.drained() and queue.status().enqueued == expected - 1
    stored_once(postgres_url, expected)
    store = open_store(postgres_url)
    try:
        again = next(r for r in store.results() if r.company.key == first.key)
        assert [p.url for p in again.pages] == [marker.pages[0].url], "a stored company was crawled again"
    finally:
        store.close()


def test_resume_drops_the_old_claims_and_queues_what_is_pending(postgres_url: str, redis_url: str,
                                                               tmp_path: Path) -> None:
    csv_path = tmp_path / "companies.csv"
    csv_path.write_text("name,website\n" + "".join(f"C{i},https://c{i}.example.com/\n" for i in range(6)),
                        encoding="utf-8")
    enq = register_and_enqueue(str(csv_path), postgres_url, redis_url, Settings(), batch=2)
    queue = WorkQueue(connect(redis_url), enq.run)
    store = open_store(postgres_url)
    try:
        done = Claims(queue, "done-worker", lease=30)
        [stored] = [c for _, c in zip(range(1), done, strict=False)]
        result = CompanyResult(stored, status="done")
        assert done.may_store(result)
        store.save_company(result)
        done.stored(result)
        dead = Claims(queue, "dead-worker", lease=30)  # claims one and dies with its lease still running
        [held] = [c for _, c in zip(range(1), dead, strict=False)]
        resumed = resume_and_enqueue(postgres_url, redis_url, Settings())
        assert resumed is not None and resumed.run == enq.run and resumed.companies == 5
        assert queue.queued() == 5 and queue.in_progress() == 0 and queue.is_complete()
        waiting = {json.loads(item)["key"] for item in queue.client.lrange(queue.key("queue"), 0, -1)}
        assert held.key in waiting and stored.key not in waiting
        assert not dead.may_store(CompanyResult(held, status="done")), "a claim of before the resume was kept"
        assert store.company_counts() == {"registered": 6, "stored": 1}
    finally:
        store.close()


def test_resume_without_a_run_says_so(postgres_url: str, redis_url: str) -> None:
    assert resume_and_enqueue(postgres_url, redis_url, Settings()) is None

