"""Waves: every pass over the same companies kept, never overwritten (issue 15).

``waves`` records each pass (number, times, settings, status and who runs it:
host, pid, heartbeat); ``wave_companies`` and ``wave_points`` hold what each
finished wave found (company status; contact point, its page, verdict and
reason). An audit made before this revision becomes wave 1 with its current
data, so its history starts where it stands.

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.types import INT, REAL, STR

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waves",
        sa.Column("number", INT, primary_key=True),
        sa.Column("started", REAL, nullable=False),
        sa.Column("finished", REAL),
        sa.Column("settings", STR, nullable=False),
        sa.Column("status", STR, nullable=False),
        sa.Column("host", STR),
        sa.Column("pid", INT),
        sa.Column("heartbeat", REAL),
    )
    op.create_table(
        "wave_companies",
        sa.Column("wave", INT, sa.ForeignKey("waves.number"), primary_key=True),
        sa.Column("company_key", STR, primary_key=True),
        sa.Column("name", STR, nullable=False),
        sa.Column("status", STR, nullable=False),
    )
    op.create_table(
        "wave_points",
        sa.Column("wave", INT, sa.ForeignKey("waves.number"), primary_key=True),
        sa.Column("company_key", STR, primary_key=True),
        sa.Column("kind", STR, primary_key=True),
        sa.Column("value", STR, primary_key=True),
        sa.Column("page_url", STR, nullable=False),
        sa.Column("sightings", INT, nullable=False),
        sa.Column("verdict", STR),
        sa.Column("reason", STR),
        sa.Column("validated_at", REAL),
    )
    from auditor.store.waves import snapshot_existing_audit  # the same copy a finished wave makes

    snapshot_existing_audit(op.get_bind())


def downgrade() -> None:
    for table in ("wave_points", "wave_companies", "waves"):
        op.drop_table(table)
