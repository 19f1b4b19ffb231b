"""Engines for the store: SQLite in an audit folder, or a PostgreSQL server.

SQLite: WAL, foreign keys on, a 30 s busy timeout, and transactions begun by
SQLAlchemy rather than by the sqlite3 module, so that a write transaction is
``BEGIN IMMEDIATE`` (writers queue at the start instead of failing half way)
and DDL is transactional. PostgreSQL goes through psycopg 3, with stale pooled
connections replaced before use.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url

# The execution option that marks a connection as a writer (BEGIN IMMEDIATE on SQLite).
WRITE = "auditor_write"


def is_url(target: str | Path) -> bool:
    """True for a database URL (``postgresql://...``), False for a folder or file path."""
    return isinstance(target, str) and "://" in target


def database_url(target: str | URL) -> URL:
    """The URL with its driver: ``postgresql://`` means psycopg 3 here, not psycopg2."""
    url = make_url(target)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def sqlite_engine(path: str | Path) -> Engine:
    """An engine on the SQLite database file ``path`` (created when missing)."""
    engine = create_engine(URL.create("sqlite", database=str(path)), connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def server_engine(url: str | URL) -> Engine:
    """An engine on a database server (PostgreSQL), from its URL."""
    return create_engine(database_url(url), pool_pre_ping=True)


def make_engine(target: str | Path | URL) -> Engine:
    """The engine for a URL (a ``sqlite:///`` one included) or an SQLite file path."""
    if isinstance(target, URL) or is_url(target):
        url = database_url(target if isinstance(target, URL) else str(target))
        if url.get_backend_name() == "sqlite":
            return sqlite_engine(url.database or "")
        return server_engine(url)
    return sqlite_engine(target)


def writer(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions take the write lock at BEGIN."""
    return engine.execution_options(**{WRITE: True})


def upsert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` that takes ``ON CONFLICT`` clauses, in the connection's dialect (both speak it)."""
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN (below), not the sqlite3 module
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")
