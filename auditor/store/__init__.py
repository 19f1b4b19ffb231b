"""Storage behind a small interface: SQLite now, a networked store later."""

from __future__ import annotations

from pathlib import Path

from auditor.store.base import Store
from auditor.store.sqlite import SqliteStore

__all__ = ["Store", "SqliteStore", "open_store"]


def open_store(out_dir: str | Path) -> Store:
    """The store of the audit in ``out_dir`` (created when missing)."""
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    return SqliteStore(path / "audit.sqlite")
