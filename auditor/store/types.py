"""Column types that read back the same from SQLite and PostgreSQL.

Text compares and sorts bytewise on both (SQLite's BINARY, PostgreSQL's "C"
collation), so ``ORDER BY kind, value`` gives the same order whatever the
server's locale; ids and IMAP UIDs are 64-bit on PostgreSQL (a UIDVALIDITY
is an unsigned 32-bit number) and SQLite's ``INTEGER`` (its rowid) there.
PostgreSQL refuses a NUL character in text that SQLite stores, and pages are
written by strangers: every text value bound to a statement goes through
:func:`clean_text`, so a hostile page's NUL can never fail a company's write on
one database and be kept on the other.
The migrations import these too: the schema they build is the tables' schema.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Double, Integer, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

_BYTEWISE_PG, _TEXT = postgresql.TEXT(collation="C"), Text()
NUL_STAND_IN = "\ufffd"  # what a NUL becomes: the replacement character, as a decoder shows bad input


def clean_text(value: str | None) -> str | None:
    """``value`` without NUL characters (each one replaced by U+FFFD), the same on every database."""
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", NUL_STAND_IN)


class SafeText(TypeDecorator[str]):
    """Text without NUL characters; bytewise collation ("C") on PostgreSQL."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return dialect.type_descriptor(_BYTEWISE_PG if dialect.name == "postgresql" else _TEXT)

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return clean_text(value)


STR: TypeEngine[str] = SafeText()
INT: TypeEngine[int] = Integer()
BIGINT: TypeEngine[int] = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
REAL: TypeEngine[float] = Double().with_variant(sqlite.REAL(), "sqlite")
