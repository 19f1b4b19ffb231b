"""The mystery-shopper probe's tables as the hand-written store made them (before Alembic).

A branch of its own: the tables appear in an audit only once the probe uses
them, and outlive a new audit run. Pre-Alembic audits that have them are
stamped with this revision on open.

Revision ID: inquiries_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.types import BIGINT, INT, STR

revision = "inquiries_0001"
down_revision = None
branch_labels = ("inquiries",)
depends_on = None

TABLES = ("inquiries", "replies", "imap_state")


def upgrade() -> None:
    op.create_table(
        "inquiries",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("company_key", STR, nullable=False),
        sa.Column("company_name", STR, nullable=False),
        sa.Column("website", STR, nullable=False),
        sa.Column("industry", STR),
        sa.Column("address", STR, nullable=False),
        sa.Column("language", STR, nullable=False),
        sa.Column("topic", STR, nullable=False),
        sa.Column("subject", STR, nullable=False),
        sa.Column("token", STR, nullable=False, unique=True),
        sa.Column("message_id", STR, nullable=False, unique=True),
        sa.Column("created_at", STR, nullable=False),
        sa.Column("sent_at", STR),
        sa.Column("smtp_code", INT),
        sa.Column("smtp_reply", STR),
        sa.Column("status", STR, nullable=False),
        sa.Column("final", INT, nullable=False, server_default="0"),
        sa.Column("no_reply", INT, nullable=False, server_default="0"),
        sa.Column("first_ack_at", STR),
        sa.Column("first_human_at", STR),
        sa.Column("bounced_at", STR),
        sa.Column("closed_at", STR),
    )
    op.create_index("inquiries_company", "inquiries", ["company_key"])
    op.create_table(
        "replies",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("inquiry_id", BIGINT, sa.ForeignKey("inquiries.id"), nullable=False),
        sa.Column("dedupe_key", STR, nullable=False),
        sa.Column("folder", STR, nullable=False),
        sa.Column("uidvalidity", BIGINT, nullable=False),
        sa.Column("uid", BIGINT, nullable=False),
        sa.Column("message_id", STR),
        sa.Column("from_domain", STR),
        sa.Column("subject", STR),
        sa.Column("received_at", STR, nullable=False),
        sa.Column("date_header", STR),
        sa.Column("kind", STR, nullable=False),
        sa.Column("reason", STR, nullable=False),
        sa.Column("detail", STR),
        sa.Column("matched_by", STR, nullable=False),
        sa.Column("collected_at", STR, nullable=False),
        sa.UniqueConstraint("inquiry_id", "dedupe_key"),
    )
    op.create_index("replies_inquiry", "replies", ["inquiry_id"])
    op.create_table(
        "imap_state",
        sa.Column("account", STR, primary_key=True),
        sa.Column("folder", STR, primary_key=True),
        sa.Column("uidvalidity", BIGINT, nullable=False),
        sa.Column("last_uid", BIGINT, nullable=False),
        sa.Column("updated_at", STR, nullable=False),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
