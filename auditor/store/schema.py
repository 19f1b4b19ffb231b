"""The audit's tables as SQLAlchemy Core metadata: the schema the migrations lead to.

``CORE`` holds the audit (run, companies, harvest, verdicts); ``INQUIRIES`` the
mystery-shopper probe's records, created only when the probe first uses them.
Children of a company carry ``seq``, their position in the company's write:
reads keep the order in which they were stored, and (company_key, seq) is
unique, so one company's result can never be stored twice.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, MetaData, Table, UniqueConstraint

from auditor.store.types import BIGINT, INT, REAL, STR

metadata = MetaData()


def _seq() -> Column[int]:
    return Column("seq", INT, nullable=False, server_default="0")


runs = Table(
    "runs", metadata,
    Column("id", BIGINT, primary_key=True),
    Column("started", REAL, nullable=False),
    Column("finished", REAL),
    Column("version", STR, nullable=False),
    Column("settings", STR, nullable=False),
    Column("summary", STR),
)
companies = Table(
    "companies", metadata,
    Column("key", STR, primary_key=True),
    Column("row", INT, nullable=False),
    Column("name", STR, nullable=False),
    Column("website", STR, nullable=False),
    Column("country", STR),
    Column("industry", STR),
    Column("language", STR),
    Column("status", STR, nullable=False, server_default="pending"),
    Column("harvested_at", REAL),
    Column("fence", BIGINT),  # the claim number of a distributed run's stored result (core_0006)
)
pages = Table(
    "pages", metadata,
    Column("company_key", STR, ForeignKey("companies.key"), nullable=False),
    Column("url", STR, nullable=False),
    Column("status", INT),
    Column("error_tag", STR),
    Column("message", STR),
    Column("depth", INT),
    Column("score", REAL),
    Column("elapsed_ms", REAL),
    Column("size", INT),
    _seq(),
    Index("pages_company", "company_key"),
    Index("pages_company_seq", "company_key", "seq", unique=True),
)
contact_points = Table(
    "contact_points", metadata,
    Column("id", BIGINT, primary_key=True),
    Column("company_key", STR, ForeignKey("companies.key"), nullable=False),
    Column("kind", STR, nullable=False),
    Column("value", STR, nullable=False),
    Column("label", STR),
    Column("raw", STR, nullable=False),
    Column("method", STR, nullable=False),
    Column("page_url", STR, nullable=False),
    Column("context", STR, nullable=False),
    Column("confidence", REAL, nullable=False),
    Column("details", STR, nullable=False),
    Column("sightings", INT, nullable=False),
    UniqueConstraint("company_key", "kind", "value"),
)
sightings = Table(
    "sightings", metadata,
    Column("contact_id", BIGINT, ForeignKey("contact_points.id"), nullable=False),
    Column("company_key", STR, nullable=False),
    Column("raw", STR, nullable=False),
    Column("label", STR),
    Column("method", STR, nullable=False),
    Column("page_url", STR, nullable=False),
    Column("context", STR, nullable=False),
    Column("confidence", REAL, nullable=False),
    Column("details", STR, nullable=False),
    _seq(),
    Index("sightings_company", "company_key"),
    Index("sightings_company_seq", "company_key", "seq", unique=True),
)
failures = Table(
    "failures", metadata,
    Column("company_key", STR, nullable=False),
    Column("tag", STR, nullable=False),
    Column("message", STR, nullable=False),
    Column("url", STR),
    _seq(),
    Index("failures_company_seq", "company_key", "seq", unique=True),
)
external_links = Table(
    "external_links", metadata,
    Column("company_key", STR, nullable=False),
    Column("url", STR, nullable=False),
    _seq(),
    Index("external_links_company_seq", "company_key", "seq", unique=True),
)
verdicts = Table(
    "verdicts", metadata,
    Column("company_key", STR, primary_key=True),
    Column("kind", STR, primary_key=True),
    Column("value", STR, primary_key=True),
    Column("verdict", STR, nullable=False),
    Column("reason", STR, nullable=False),
    Column("data", STR, nullable=False),
    Column("validated_at", REAL, nullable=False),
)
input_errors = Table(
    "input_errors", metadata,
    Column("row", INT, nullable=False),
    Column("tag", STR, nullable=False),
    Column("message", STR, nullable=False),
    Column("raw", STR),
)

inquiries = Table(
    "inquiries", metadata,
    Column("id", BIGINT, primary_key=True),
    Column("company_key", STR, nullable=False),
    Column("company_name", STR, nullable=False),
    Column("website", STR, nullable=False),
    Column("industry", STR),
    Column("address", STR, nullable=False),
    Column("language", STR, nullable=False),
    Column("topic", STR, nullable=False),
    Column("subject", STR, nullable=False),
    Column("token", STR, nullable=False, unique=True),
    Column("message_id", STR, nullable=False, unique=True),
    Column("created_at", STR, nullable=False),
    Column("sent_at", STR),
    Column("smtp_code", INT),
    Column("smtp_reply", STR),
    Column("status", STR, nullable=False),
    Column("final", INT, nullable=False, server_default="0"),
    Column("no_reply", INT, nullable=False, server_default="0"),
    Column("first_ack_at", STR),
    Column("first_human_at", STR),
    Column("bounced_at", STR),
    Column("closed_at", STR),
    Index("inquiries_company", "company_key"),
)
replies = Table(
    "replies", metadata,
    Column("id", BIGINT, primary_key=True),
    Column("inquiry_id", BIGINT, ForeignKey("inquiries.id"), nullable=False),
    Column("dedupe_key", STR, nullable=False),
    Column("folder", STR, nullable=False),
    Column("uidvalidity", BIGINT, nullable=False),
    Column("uid", BIGINT, nullable=False),
    Column("message_id", STR),
    Column("from_domain", STR),
    Column("subject", STR),
    Column("received_at", STR, nullable=False),
    Column("date_header", STR),
    Column("kind", STR, nullable=False),
    Column("reason", STR, nullable=False),
    Column("detail", STR),
    Column("matched_by", STR, nullable=False),
    Column("collected_at", STR, nullable=False),
    UniqueConstraint("inquiry_id", "dedupe_key"),
    Index("replies_inquiry", "inquiry_id"),
)
imap_state = Table(
    "imap_state", metadata,
    Column("account", STR, primary_key=True),
    Column("folder", STR, primary_key=True),
    Column("uidvalidity", BIGINT, nullable=False),
    Column("last_uid", BIGINT, nullable=False),
    Column("updated_at", STR, nullable=False),
)

# Waves (issue 15): each audit pass of the same companies is a wave; what a wave
# found is copied here when it finishes and never changed afterwards, while the
# tables above keep holding the latest wave (the report and exports read those).
waves = Table(
    "waves", metadata,
    Column("number", INT, primary_key=True),
    Column("started", REAL, nullable=False),
    Column("finished", REAL),
    Column("settings", STR, nullable=False),
    Column("status", STR, nullable=False),  # running, finished, interrupted
    Column("host", STR),
    Column("pid", INT),
    Column("heartbeat", REAL),
)
wave_companies = Table(
    "wave_companies", metadata,
    Column("wave", INT, ForeignKey("waves.number"), primary_key=True),
    Column("company_key", STR, primary_key=True),
    Column("name", STR, nullable=False),
    Column("status", STR, nullable=False),
)
wave_points = Table(
    "wave_points", metadata,
    Column("wave", INT, ForeignKey("waves.number"), primary_key=True),
    Column("company_key", STR, primary_key=True),
    Column("kind", STR, primary_key=True),
    Column("value", STR, primary_key=True),
    Column("page_url", STR, nullable=False),
    Column("sightings", INT, nullable=False),
    Column("verdict", STR),
    Column("reason", STR),
    Column("validated_at", REAL),
)

# Alerts (issue 15): one row per event (a wave's transitions, a check against
# its baseline) and destination, so a notifier run again after a crash sends
# nothing twice. Only the destination's name is kept, never a secret.
alert_deliveries = Table(
    "alert_deliveries", metadata,
    Column("event", STR, primary_key=True),  # wave-3, check-<run>
    Column("destination", STR, primary_key=True),  # webhook:https://host/path, webhook:env:NAME, mailto:ADDRESS
    Column("status", STR, nullable=False),  # sending, delivered, failed, unknown
    Column("attempts", INT, nullable=False, server_default="0"),
    Column("alerts", INT, nullable=False, server_default="0"),
    Column("first_attempt", REAL),
    Column("last_attempt", REAL),
    Column("delivered", REAL),
    Column("error_tag", STR),
    Column("error", STR),
)

# Channel checks (issue 15): each chat, messaging and form check with the time it
# ran and what the chat provider said about its operators, across waves (the
# availability grids' observations; lines come from the line probe's ledger).
channel_checks = Table(
    "channel_checks", metadata,
    Column("company_key", STR, primary_key=True),
    Column("kind", STR, primary_key=True),
    Column("value", STR, primary_key=True),
    Column("at", REAL, primary_key=True),  # the check's start, epoch seconds
    Column("verdict", STR),
    Column("reason", STR),
    Column("operator", STR),  # online | offline | None (the provider did not say)
)

CORE = (runs, companies, pages, contact_points, sightings, failures, external_links, verdicts, input_errors,
        waves, wave_companies, wave_points, alert_deliveries, channel_checks)
INQUIRIES = (inquiries, replies, imap_state)
# Rows that belong to one company, children before parents (foreign keys).
PER_COMPANY = (pages, sightings, contact_points, failures, external_links, verdicts)
