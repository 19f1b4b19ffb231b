"""Column types that read back the same from SQLite and PostgreSQL.

Text compares and sorts bytewise on both (SQLite's BINARY, PostgreSQL's "C"
collation), so ``ORDER BY kind, value`` gives the same order whatever the
server's locale; ids and IMAP UIDs are 64-bit on PostgreSQL (a UIDVALIDITY
is an unsigned 32-bit number) and SQLite's ``INTEGER`` (its rowid) there.
The migrations import these too: the schema they build is the tables' schema.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Double, Integer, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeEngine

STR: TypeEngine[str] = Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")
INT: TypeEngine[int] = Integer()
BIGINT: TypeEngine[int] = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
REAL: TypeEngine[float] = Double().with_variant(sqlite.REAL(), "sqlite")
