"""Alert deliveries: what was sent to which destination for which event (issue 15).

One row per (event, destination): ``event`` is ``wave-N`` for a wave's
transitions or ``check-...`` for a check against its baseline. The status
(sending, delivered, failed, unknown), the attempts and the last error tag and
message (never a secret) make a notifier run again after a crash send nothing
twice and retry only what failed.

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.types import INT, REAL, STR

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column("event", STR, primary_key=True),
        sa.Column("destination", STR, primary_key=True),
        sa.Column("status", STR, nullable=False),
        sa.Column("attempts", INT, nullable=False, server_default="0"),
        sa.Column("alerts", INT, nullable=False, server_default="0"),
        sa.Column("first_attempt", REAL),
        sa.Column("last_attempt", REAL),
        sa.Column("delivered", REAL),
        sa.Column("error_tag", STR),
        sa.Column("error", STR),
    )


def downgrade() -> None:
    op.drop_table("alert_deliveries")
