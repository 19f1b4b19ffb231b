"""The audit's tables as the hand-written SQLite store made them (before Alembic).

An audit.sqlite from that code has these tables and no alembic_version: it is
stamped with this revision on open, then upgraded like any other.

Revision ID: core_0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from auditor.store.types import BIGINT, INT, REAL, STR

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None

TABLES = ("runs", "companies", "pages", "contact_points", "sightings", "failures", "external_links",
          "verdicts", "input_errors")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("started", REAL, nullable=False),
        sa.Column("finished", REAL),
        sa.Column("version", STR, nullable=False),
        sa.Column("settings", STR, nullable=False),
        sa.Column("summary", STR),
    )
    op.create_table(
        "companies",
        sa.Column("key", STR, primary_key=True),
        sa.Column("row", INT, nullable=False),
        sa.Column("name", STR, nullable=False),
        sa.Column("website", STR, nullable=False),
        sa.Column("country", STR),
        sa.Column("industry", STR),
        sa.Column("language", STR),
        sa.Column("status", STR, nullable=False, server_default="pending"),
        sa.Column("harvested_at", REAL),
    )
    op.create_table(
        "pages",
        sa.Column("company_key", STR, sa.ForeignKey("companies.key"), nullable=False),
        sa.Column("url", STR, nullable=False),
        sa.Column("status", INT),
        sa.Column("error_tag", STR),
        sa.Column("message", STR),
        sa.Column("depth", INT),
        sa.Column("score", REAL),
        sa.Column("elapsed_ms", REAL),
        sa.Column("size", INT),
    )
    op.create_index("pages_company", "pages", ["company_key"])
    op.create_table(
        "contact_points",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("company_key", STR, sa.ForeignKey("companies.key"), nullable=False),
        sa.Column("kind", STR, nullable=False),
        sa.Column("value", STR, nullable=False),
        sa.Column("label", STR),
        sa.Column("raw", STR, nullable=False),
        sa.Column("method", STR, nullable=False),
        sa.Column("page_url", STR, nullable=False),
        sa.Column("context", STR, nullable=False),
        sa.Column("confidence", REAL, nullable=False),
        sa.Column("details", STR, nullable=False),
        sa.Column("sightings", INT, nullable=False),
        sa.UniqueConstraint("company_key", "kind", "value"),
    )
    op.create_table(
        "sightings",
        sa.Column("contact_id", BIGINT, sa.ForeignKey("contact_points.id"), nullable=False),
        sa.Column("company_key", STR, nullable=False),
        sa.Column("raw", STR, nullable=False),
        sa.Column("label", STR),
        sa.Column("method", STR, nullable=False),
        sa.Column("page_url", STR, nullable=False),
        sa.Column("context", STR, nullable=False),
        sa.Column("confidence", REAL, nullable=False),
        sa.Column("details", STR, nullable=False),
    )
    op.create_index("sightings_company", "sightings", ["company_key"])
    op.create_table(
        "failures",
        sa.Column("company_key", STR, nullable=False),
        sa.Column("tag", STR, nullable=False),
        sa.Column("message", STR, nullable=False),
        sa.Column("url", STR),
    )
    op.create_table(
        "external_links",
        sa.Column("company_key", STR, nullable=False),
        sa.Column("url", STR, nullable=False),
    )
    op.create_table(
        "verdicts",
        sa.Column("company_key", STR, primary_key=True),
        sa.Column("kind", STR, primary_key=True),
        sa.Column("value", STR, primary_key=True),
        sa.Column("verdict", STR, nullable=False),
        sa.Column("reason", STR, nullable=False),
        sa.Column("data", STR, nullable=False),
        sa.Column("validated_at", REAL, nullable=False),
    )
    op.create_table(
        "input_errors",
        sa.Column("row", INT, nullable=False),
        sa.Column("tag", STR, nullable=False),
        sa.Column("message", STR, nullable=False),
        sa.Column("raw", STR),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
