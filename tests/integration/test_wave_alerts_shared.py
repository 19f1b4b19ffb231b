"""Scheduled waves and their alerts on a distributed run's shared store (PostgreSQL + Redis, real servers).

`auditor wave DIR --store --queue --every "every 1s" --waves 2 --config notify.toml`
must start two distributed waves (each a child `auditor wave --once` carrying
--store, --queue and --workers), and the loopback webhook must receive the
alerts of the world's change (wave 2) exactly once: wave 3 sees the same world
and has nothing to send, and does not send wave 2 again. The deliveries are
recorded in the shared store, `--alerts-only --store` (no queue) sends nothing
twice, and no secret reaches the folder, the shared store, the queue or the
console.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from sqlalchemy import MetaData, select

from auditor.dist.queue import connect
from auditor.lab import Lab
from auditor.store import open_store
from auditor.store import waves as store_waves
from auditor.store.alerts import AlertDeliveries
from auditor.waves.run import _detach
from auditor.waves.scheduler import running_wave
from tests.integration.test_alerts import HOOK_SECRET, TOKEN, Hook
from tests.integration.test_cli import auditor
from tests.integration.test_waves import _world

pytestmark = pytest.mark.integration

CRAWL = ["--allow-private-targets", "--no-progress", "--delay", "0", "--timeout", "5", "--no-smtp", "--no-report"]


def _store_text(url: str) -> bytes:
    """Every row of every table of the shared store, as text (what a secret must not be found in)."""
    store = open_store(url)
    try:
        engine = store.engine  # type: ignore[attr-defined]
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return "\n".join(repr(tuple(row)) for table in meta.sorted_tables
                             for row in conn.execute(select(table))).encode()
    finally:
        store.close()


def _queue_text(url: str) -> bytes:
    client: redis.Redis = connect(url)
    out: list[bytes] = []
    for key in client.scan_iter(count=1000):
        out.append(key if isinstance(key, bytes) else str(key).encode())
        out.append(repr(client.dump(key)).encode())
    return b"\n".join(out)


def test_scheduled_distributed_waves_send_their_alerts_once(tmp_path: Path, postgres_url: str,
                                                            redis_url: str) -> None:
    hook = Hook()
    out = tmp_path / "audit"
    shared = ["--store", postgres_url, "--queue", redis_url]
    config = tmp_path / "notify.toml"
    config.write_text("""
[notify]
destinations = ["webhook:env:AUDITOR_TEST_HOOK_URL"]
backoff = 0.1

[notify.webhook]
token_env = "AUDITOR_TEST_HOOK_TOKEN"
""", encoding="utf-8")
    secrets = {"AUDITOR_TEST_HOOK_URL": f"{hook.url}/{HOOK_SECRET}", "AUDITOR_TEST_HOOK_TOKEN": TOKEN}
    consoles: list[str] = []
    try:
        first = Lab(_world(False)).start()
        try:
            ports = first.http_port, first.https_port, first.dns_port
            csv_path = first.write_companies_csv(tmp_path / "c.csv")
            run = auditor("audit", str(csv_path), "--out", str(out), *shared, "--nameserver", first.nameserver,
                          *CRAWL, env={**os.environ, **first.env()})
            assert run.returncode == 0, run.stderr
        finally:
            first.stop()
        with Lab(_world(True), http_port=ports[0], https_port=ports[1], dns_port=ports[2]) as second:
            env = {**os.environ, **second.env(), **secrets}
            run = auditor("wave", str(out), *shared, "--workers", "2", "--every", "every 1s", "--tz", "UTC",
                          "--waves", "2", "--config", str(config), env=env, timeout=600)
            consoles += [run.stdout, run.stderr]
            assert run.returncode == 0, run.stderr
            assert "schedule stopped after 2 wave(s)" in run.stdout
            again = auditor("wave", str(out), "--store", postgres_url, "--alerts-only", "--config", str(config),
                            env=env)
            consoles += [again.stdout, again.stderr]
            assert again.returncode == 0, again.stderr
            assert "alerts wave-3 -> webhook:env:AUDITOR_TEST_HOOK_URL: nothing-to-send" in again.stdout
        (request,) = hook.requests  # wave 2's alerts, once; wave 3 (the same world) sent nothing
        assert request["path"] == f"/{HOOK_SECRET}" and request["headers"]["Authorization"] == f"Bearer {TOKEN}"
        assert request["body"]["wave"] == 2 and request["body"]["event"] == "wave-2"
        alerts = {(a["alert"], a["company"], a["value"]) for a in request["body"]["alerts"]}
        assert alerts == {("contact-gone", "Alfa <GmbH>", "+493023125101"), ("site-down", "Beta AG", None)}
    finally:
        hook.close()
    store = open_store(postgres_url)
    try:
        engine = store.engine  # type: ignore[attr-defined]
        assert [(w.number, w.status) for w in store_waves.list_waves(engine)] == [
            (1, "finished"), (2, "finished"), (3, "finished")]
        assert [(r["event"], r["destination"], r["status"]) for r in AlertDeliveries(engine).rows()] == [
            ("wave-2", "webhook:env:AUDITOR_TEST_HOOK_URL", "delivered")]
    finally:
        store.close()
    assert not (out / "audit.sqlite").exists()  # nothing of the waves went to a folder store
    log = (out / "audit.log").read_text(encoding="utf-8")
    assert log.count("schedule: starting") == 2  # "a wave", or "the wave delayed since" a start it held
    written = [p for p in out.rglob("*") if p.is_file()]
    stored, queued = _store_text(postgres_url), _queue_text(redis_url)
    assert b"wave-2" in stored
    for secret in (TOKEN, HOOK_SECRET):
        for path in written:
            assert secret.encode() not in path.read_bytes(), f"{secret!r} in {path}"
        assert secret.encode() not in stored and secret.encode() not in queued
        for text in consoles:
            assert secret not in text


def test_the_schedules_busy_check_reads_the_shared_stores_wave_lock(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        engine = store.engine  # type: ignore[attr-defined]
        assert running_wave(postgres_url) is None
        number = store_waves.begin_wave(engine, {})  # this process: a live running wave
        busy = running_wave(postgres_url)
        assert busy is not None and f"wave {number}" in busy.reason and "running" in busy.reason and not busy.stale
        _detach(engine, number)  # enqueued and left to workers: the next wave command finishes it
        assert running_wave(postgres_url) is None
    finally:
        store.close()


def test_a_detached_wave_sends_its_alerts_when_the_command_that_finishes_it_runs(
        tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    hook = Hook()
    out = tmp_path / "audit"
    shared = ["--store", postgres_url, "--queue", redis_url]
    notify = ["--notify", f"webhook:{hook.url}/{HOOK_SECRET}"]
    try:
        first = Lab(_world(False)).start()
        try:
            ports = first.http_port, first.https_port, first.dns_port
            csv_path = first.write_companies_csv(tmp_path / "c.csv")
            crawl = ["--nameserver", first.nameserver, *CRAWL]
            run = auditor("audit", str(csv_path), "--out", str(out), *shared, *crawl,
                          env={**os.environ, **first.env()})
            assert run.returncode == 0, run.stderr
        finally:
            first.stop()
        with Lab(_world(True), http_port=ports[0], https_port=ports[1], dns_port=ports[2]) as second:
            env = {**os.environ, **second.env()}
            detached = auditor("wave", str(out), *shared, "--detach", *notify, env=env)
            assert detached.returncode == 0 and "Wave 2 enqueued" in detached.stdout, detached.stderr
            assert hook.requests == []  # enqueued, not finished: nothing to tell yet
            worker = auditor("worker", *shared, *[o for o in crawl if o != "--no-report"], env=env)
            assert worker.returncode == 0, worker.stderr
            finished = auditor("wave", str(out), *shared, *notify, env=env)
            assert finished.returncode == 0, finished.stderr
            assert "Wave 2" in finished.stdout and ": delivered" in finished.stdout
        (request,) = hook.requests
        assert request["body"]["event"] == "wave-2" and request["body"]["alerts"]
    finally:
        hook.close()
    store = open_store(postgres_url)
    try:
        engine = store.engine  # type: ignore[attr-defined]
        assert [(w.number, w.status) for w in store_waves.list_waves(engine)] == [(1, "finished"), (2, "finished")]
        assert [r["status"] for r in AlertDeliveries(engine).rows()] == ["delivered"]
    finally:
        store.close()
