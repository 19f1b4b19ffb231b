"""Storage behind a small interface: one SQL implementation, SQLite embedded or PostgreSQL shared."""

from __future__ import annotations

from pathlib import Path

from auditor.store.base import Store
from auditor.store.engine import is_url, make_engine
from auditor.store.sql import SqlStore, StaleWrite
from auditor.store.sqlite import SqliteStore

__all__ = ["SqlStore", "SqliteStore", "StaleWrite", "Store", "open_store"]


def open_store(target: str | Path) -> Store:
    """The store of the audit in folder ``target`` (``audit.sqlite``, created when missing), or at a URL.

    ``postgresql://user@host/db`` is the shared store of a distributed run.
    """
    if is_url(target):
        return SqlStore(make_engine(target))
    path = Path(target)
    path.mkdir(parents=True, exist_ok=True)
    return SqliteStore(path / "audit.sqlite")
