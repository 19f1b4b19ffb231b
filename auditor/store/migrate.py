"""Schema migrations on open: Alembic, programmatically, from the package's own scripts.

Two branches: ``core`` (the audit, always there) and ``inquiries`` (the probe's
tables, created when the probe first writes). A database made before Alembic
(the tables are there, the branch is not in ``alembic_version``) is stamped
with the branch's first revision, which is exactly that schema, then upgraded.
Opening an up-to-date database only reads; an upgrade runs in one transaction
that holds the write lock (SQLite) or an advisory lock (PostgreSQL), so two
workers opening a new shared store at once do not both create it.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import Connection, Engine, func, inspect, select, text

from auditor.store.engine import writer

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Each branch: its first revision and the tables that revision creates.
BASELINES: dict[str, tuple[str, tuple[str, ...]]] = {
    "core": ("core_0001", ("runs", "companies", "pages", "contact_points", "sightings", "failures",
                           "external_links", "verdicts", "input_errors")),
    "inquiries": ("inquiries_0001", ("inquiries", "replies", "imap_state")),
}
VERSION_TABLE = "alembic_version"
_LOCK_KEY = 0x61756469746F72  # "auditor": the advisory lock that serializes migrations on PostgreSQL


class SchemaError(RuntimeError):
    """The database holds part of a schema, or one newer than this version of the tool knows."""


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


@cache
def scripts() -> ScriptDirectory:
    """The packaged revisions, read once per process."""
    return ScriptDirectory.from_config(config())


def head(branch: str) -> str:
    """The newest revision of ``branch``."""
    rev = scripts().get_revision(f"{branch}@head")
    assert rev is not None
    return rev.revision


def current(conn: Connection, branch: str) -> str | None:
    """The revision of ``branch`` recorded in the database (None: not recorded).

    Read straight from ``alembic_version``: a store opens on every command, and
    Alembic's own context would log two lines into the audit's log each time.
    """
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    script = scripts()
    for (rev,) in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")):  # noqa: S608 - a constant
        try:
            found = list(script.iterate_revisions(rev, "base"))
        except RevisionError as exc:
            raise SchemaError(f"the database is at revision {rev}, which this version does not know") from exc
        if any(r is not None and branch in r.branch_labels for r in found):
            return str(rev)
    return None


def present(conn: Connection, branch: str) -> bool:
    """True when the branch's first tables are all in the database (recorded or not)."""
    names = set(inspect(conn).get_table_names())
    return set(BASELINES[branch][1]) <= names


def upgrade(engine: Engine, branch: str) -> None:
    """Bring ``branch`` to its newest revision (creating it, or adopting a pre-Alembic one)."""
    target = head(branch)
    with engine.connect() as conn:
        if current(conn, branch) == target:
            return
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
        if current(conn, branch) == target:  # another process was first
            return
        cfg = config(conn)
        if current(conn, branch) is None:
            tables = BASELINES[branch][1]
            names = set(inspect(conn).get_table_names())
            if set(tables) <= names:
                log.info("store: adopting the %s tables made before schema migrations", branch)
                command.stamp(cfg, BASELINES[branch][0])
            elif names & set(tables):
                raise SchemaError(f"the database holds only some of the {branch} tables: "
                                  f"missing {sorted(set(tables) - names)}")
        command.upgrade(cfg, f"{branch}@head")
