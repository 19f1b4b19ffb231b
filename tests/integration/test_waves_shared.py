"""Waves of a distributed run (issue 15 on issue 14's servers): PostgreSQL store, Redis queue, worker processes.

The lab world of the single-machine wave test changes between waves (Alfa drops
a number and adds an address, Beta's domain stops resolving). The same worlds
are audited embedded (SQLite, `auditor wave DIR`) and distributed (`auditor
wave DIR --store --queue --workers 2`): both must record the same history and
transitions, and the same findings, verdicts and scores. A third, detached wave
is crawled by `auditor worker` and finished by the next wave command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from auditor.config import Settings
from auditor.dist.queue import WorkQueue, company_item, connect
from auditor.dist.run import current_run
from auditor.dist.validation import BatchQueue
from auditor.lab import Lab
from auditor.models import Company
from auditor.store import open_store
from auditor.store import waves as store_waves
from auditor.store.schema import companies
from auditor.waves.run import QueueBusy, SharedWave, run_shared_wave
from tests.integration.test_distributed import findings
from tests.integration.test_waves import _rows, _world

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXPECTED_CHANGES = [
    ("1", "2", "Alfa <GmbH>", "appeared", "email", "info@alfa-gmbh.de"),
    ("1", "2", "Alfa <GmbH>", "gone", "phone", "+493023125101"),
    ("1", "2", "Beta AG", "site-down", "", ""),
]


def _auditor(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], capture_output=True, text=True, timeout=600,
                          cwd=ROOT, env={**os.environ, **lab.env(), "PYTHONPATH": str(ROOT)})


def _ok(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    proc = _auditor(lab, *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _changes(out: Path) -> list[tuple[str, ...]]:
    return [(r["wave_from"], r["wave_to"], r["company"], r["change"], r["kind"], r["value"])
            for r in _rows(out / "transitions.csv")]


def _history(out: Path) -> list[tuple[str, ...]]:
    # the time column is each wave's own start: it differs between the two runs by design
    return sorted((r["wave"], r["company"], r["kind"], r["value"], r["verdict"], r["reason"])
                  for r in _rows(out / "history.csv"))


def test_waves_on_the_shared_store_record_what_the_embedded_waves_record(
        tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    embedded, shared = tmp_path / "embedded", tmp_path / "shared"
    shared_args = ["--store", postgres_url, "--queue", redis_url]
    first = Lab(_world(False)).start()
    try:
        ports = {"http_port": first.http_port, "https_port": first.https_port, "dns_port": first.dns_port}
        csv_path = first.write_companies_csv(tmp_path / "c.csv")
        crawl = ["--nameserver", first.nameserver, "--allow-private-targets", "--no-progress", "--delay", "0",
                 "--timeout", "5", "--no-smtp", "--contact-url", "https://lab.test/about-the-crawler"]
        _ok(first, "audit", str(csv_path), "--out", str(embedded), *crawl)
        _ok(first, "audit", str(csv_path), "--out", str(shared), *shared_args, "--workers", "2", *crawl)
    finally:
        first.stop()
    with Lab(_world(True), **ports) as second:
        _ok(second, "wave", str(embedded))  # the stored configuration: nameserver, --no-smtp, ...
        out = _ok(second, "wave", str(shared), *shared_args, "--workers", "2")
        assert "Wave 2" in out.stdout and "2 companies enqueued" in out.stderr
        assert _changes(shared) == _changes(embedded) == EXPECTED_CHANGES
        assert _history(shared) == _history(embedded)
        assert findings(shared) == findings(embedded)
        assert (shared / "report" / "timeline.html").exists()
        # the wave's contact points were validated by the workers in batches, as the audit's were
        batches = BatchQueue(connect(redis_url), current_run(postgres_url) or 0)
        stats = batches.stats()
        assert batches.drained() and batches.is_stored() and stats["done"] == stats["enqueued"] > 0, stats

        # a detached wave: enqueued, refused while its queue holds work, crawled by a worker, finished by the next call
        detached = _ok(second, "wave", str(shared), *shared_args, "--detach")
        assert "Wave 3 enqueued" in detached.stdout
        busy = _auditor(second, "wave", str(shared), *shared_args)
        assert busy.returncode == 2 and "wave 3 runs detached: 2 companies queued" in busy.stderr, busy.stderr
        _ok(second, "worker", *shared_args, *crawl)
        finished = _ok(second, "wave", str(shared), *shared_args)
        assert "Wave 3" in finished.stdout
    store = open_store(postgres_url)
    try:
        engine = store.engine  # type: ignore[attr-defined]
        assert [(w.number, w.status) for w in store_waves.list_waves(engine)] == [
            (1, "finished"), (2, "finished"), (3, "finished")]
    finally:
        store.close()
    assert _changes(shared) == EXPECTED_CHANGES  # the same world twice: nothing changed from wave 2 to 3
    assert {r["wave"] for r in _rows(shared / "history.csv")} == {"1", "2", "3"}
    assert findings(shared) == findings(embedded)


def test_a_wave_waits_while_the_runs_queue_holds_the_audits_companies(postgres_url: str, redis_url: str,
                                                                      tmp_path: Path) -> None:
    store = open_store(postgres_url)
    acme = Company(2, "Acme", "https://acme.test/", "HU")
    try:
        run = store.start_run({}, "0")
        store.register_companies([acme])
        store.finish_run({})
    finally:
        store.close()
    queue = WorkQueue(connect(redis_url), run)
    queue.client.lpush(queue.key("queue"), company_item(acme))  # a detached audit whose workers have not finished
    with pytest.raises(QueueBusy) as busy:
        run_shared_wave(SharedWave(postgres_url, redis_url), tmp_path, Settings(), notify=lambda _t: None)
    assert busy.value.queued == 1 and busy.value.wave is None
    store = open_store(postgres_url)
    try:
        engine = store.engine  # type: ignore[attr-defined]
        assert store_waves.list_waves(engine) == []  # no wave begun, nothing cleared
        with engine.connect() as conn:
            assert conn.execute(select(companies.c.key)).scalars().all() == [acme.key]
    finally:
        store.close()
    assert queue.queued() == 1
