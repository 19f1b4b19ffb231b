"""Company fence: the claim number a company's stored result was crawled under (issue 14).

A distributed worker checks its lease in Redis before it writes a company to
PostgreSQL, but the two are separate servers: a worker cut off after that check
(or one that could not reach Redis and wrote anyway) could land its write after
the company was reclaimed and stored by another worker, replacing the newer
result with one crawled while it was cut off. Each claim now carries a number
that only grows (Redis increments it atomically with the claim), and a
company's write is refused in the same transaction when the row already holds a
result of a later claim. Embedded runs write no fence (NULL).

Revision ID: core_0006
Revises: core_0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.types import BIGINT

revision = "core_0006"
down_revision = "core_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN (both databases take a nullable one in place): no copy of the table, whose
    # rows the per-company tables reference
    op.add_column("companies", sa.Column("fence", BIGINT, nullable=True))


def downgrade() -> None:
    op.drop_column("companies", "fence")  # SQLite 3.35+ drops a column in place too (no table copy)
