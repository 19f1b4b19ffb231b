"""The embedded store: ``DIR/audit.sqlite`` through the one SQL implementation."""

from __future__ import annotations

import sqlite3
from functools import cached_property
from pathlib import Path

from auditor.store.engine import sqlite_engine
from auditor.store.sql import SqlStore, merge_sightings

__all__ = ["SqliteStore", "merge_sightings"]


class SqliteStore(SqlStore):
    """One audit directory's database (``DIR/audit.sqlite``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(sqlite_engine(self.path))

    @cached_property
    def db(self) -> sqlite3.Connection:
        """A plain sqlite3 connection (autocommit) on the file, for checks such as a WAL checkpoint."""
        return sqlite3.connect(self.path, isolation_level=None, timeout=30)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.__dict__.pop("db").close()
        super().close()
