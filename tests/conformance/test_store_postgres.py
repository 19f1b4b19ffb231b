"""The store on a real PostgreSQL server, and the test servers themselves.

The same company stored by two processes at once (two racing workers) ends up
stored exactly once; the test servers start, answer and are reachable.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import psycopg
import pytest

from auditor.models import Company, CompanyResult, ContactPoint, Failure, PageRecord
from auditor.store import open_store
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

COMPANY = Company(1, "Acme", "https://acme.test/", "HU")
ROUNDS = 20


def _result(worker: int) -> CompanyResult:
    return CompanyResult(
        COMPANY,
        pages=tuple(PageRecord(f"https://acme.test/{n}", 200) for n in range(5)),
        contacts=(ContactPoint("phone", "+3612345678", f"+36 1 234 5678 ({worker})", None, "text",
                               "https://acme.test/0", "ctx"),
                  ContactPoint("phone", "+3612345678", "tel:+3612345678", "hotline", "tel-link",
                               "https://acme.test/1", "ctx"),
                  ContactPoint("email", "info@acme.test", "info@acme.test", None, "mailto",
                               "https://acme.test/1", "ctx")),
        failures=(Failure("page-budget-reached", "5 pages"),),
        external_links=("https://wa.me/3612345678",),
    )


def _race(url: str, worker: int, start: multiprocessing.synchronize.Barrier) -> None:
    store = open_store(url)
    for _ in range(ROUNDS):
        start.wait(timeout=60)  # both workers write the company at the same moment, every round
        store.save_company(_result(worker))
    store.close()


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t} WHERE company_key = %s",  # noqa: S608
                                (COMPANY.key,)).fetchall()[0][0]
                for t in ("pages", "contact_points", "sightings", "failures", "external_links")}


def test_two_processes_storing_the_same_company_store_it_once(postgres_url: str) -> None:
    store = open_store(postgres_url)
    store.start_run({}, "test")
    store.register_companies([COMPANY])
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    workers = [ctx.Process(target=_race, args=(postgres_url, n, start)) for n in (1, 2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0]
    assert _counts(postgres_url) == {"pages": 5, "contact_points": 2, "sightings": 3, "failures": 1,
                                     "external_links": 1}
    (stored,) = store.results()
    assert [p.url for p in stored.pages] == [f"https://acme.test/{n}" for n in range(5)]
    assert store.done_keys() == {COMPANY.key}
    store.close()


def test_a_second_copy_of_a_company_row_is_refused_by_the_database(postgres_url: str) -> None:
    store = open_store(postgres_url)
    store.start_run({}, "test")
    store.save_company(_result(1))
    store.close()
    with psycopg.connect(postgres_url) as conn, pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO pages (company_key, url, seq) VALUES (%s, 'https://acme.test/0', 0)",
                     (COMPANY.key,))


def test_the_postgres_fixture_runs_a_private_server(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url()) as conn:
        row = conn.execute("SELECT current_setting('port'), current_setting('data_directory')").fetchone()
    assert row is not None
    assert int(row[0]) == postgres_server.port
    assert Path(row[1]).is_relative_to(postgres_server.folder)


def test_the_redis_fixture_runs_a_private_server(redis_server: RedisServer, redis_url: str) -> None:
    assert redis_url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert redis_server.command("SET", "audit:probe", "1") == b"+OK\r\n"
    assert redis_server.command("GET", "audit:probe") == b"$1\r\n1\r\n"
    config = redis_server.command("CONFIG", "GET", "dir")
    assert str(redis_server.folder).encode() in config
    assert b"\r\n\r\n" in redis_server.command("CONFIG", "GET", "save")  # no snapshots


def test_a_write_cut_off_by_a_dropped_connection_is_stored_once(postgres_url: str) -> None:
    from sqlalchemy import event

    from auditor.store.sql import SqlStore

    store = open_store(postgres_url)
    assert isinstance(store, SqlStore)
    store.start_run({}, "test")
    store.save_company(_result(1))
    killed: list[int] = []

    def cut(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        # The server ends this session half way through the company's transaction, once.
        if not killed and statement.startswith("DELETE FROM sightings"):
            pid = conn.connection.dbapi_connection.info.backend_pid
            with psycopg.connect(postgres_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            killed.append(pid)

    event.listen(store.engine, "before_cursor_execute", cut)
    store.save_company(_result(2))
    event.remove(store.engine, "before_cursor_execute", cut)
    assert killed
    assert _counts(postgres_url) == {"pages": 5, "contact_points": 2, "sightings": 3, "failures": 1,
                                     "external_links": 1}
    raws = [s["raw"] for s in store.sightings(COMPANY.key)]
    assert any("(2)" in r for r in raws) and not any("(1)" in r for r in raws)  # the retried write won
    store.close()
