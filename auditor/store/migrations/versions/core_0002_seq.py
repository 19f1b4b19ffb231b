"""Order and uniqueness of a company's rows without SQLite's rowid: ``seq``.

PostgreSQL has no rowid, so pages, sightings, failures and external links get
their position in the company's write; (company_key, seq) is unique, so a
company written twice (a retry, two racing workers) cannot leave two copies.
Rows of an audit made before this revision are numbered by their rowid, which
keeps their order.

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.types import INT

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None

TABLES = ("pages", "sightings", "failures", "external_links")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        op.add_column(table, sa.Column("seq", INT, nullable=False, server_default="0"))
        if sqlite:
            op.execute(f"UPDATE {table} SET seq = rowid")  # noqa: S608 - fixed table names
        op.create_index(f"{table}_company_seq", table, ["company_key", "seq"], unique=True)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"{table}_company_seq", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("seq")
