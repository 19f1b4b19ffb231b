"""Channel checks: each chat, messaging and form check with its time and operator state (issue 15).

The verdicts keep the latest check of a contact point and the waves its
verdict, so the moment a check ran and what a chat provider said about its
operators would be lost when the next wave replaces them. Until this revision
they went to ``DIR/check-ledger.jsonl`` beside the audit; in the store they
are kept wherever the audit is kept, a shared PostgreSQL store included. An
existing ledger is imported by the first command that reads availability
(see :func:`auditor.store.checks.ChannelChecks.adopt_ledger`).

Revision ID: core_0005
Revises: core_0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.types import REAL, STR

revision = "core_0005"
down_revision = "core_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_checks",
        sa.Column("company_key", STR, primary_key=True),
        sa.Column("kind", STR, primary_key=True),
        sa.Column("value", STR, primary_key=True),
        sa.Column("at", REAL, primary_key=True),
        sa.Column("verdict", STR),
        sa.Column("reason", STR),
        sa.Column("operator", STR),
    )


def downgrade() -> None:
    op.drop_table("channel_checks")
