"""The mystery-shopper probe's tables beside the audit (SQLAlchemy Core, any store database).

Inquiries, replies and the IMAP marks are created if missing (the ``inquiries``
migration branch) and never dropped by a new audit run: an inquiry outlives the
crawl that found its address. Replies are unique per (inquiry, Message-ID or
content hash), so collecting the same mailbox twice, or after the server
renumbered it (UIDVALIDITY change), adds nothing. Reply bodies and senders'
names are not stored: only the sender's domain, the subject and the verdict.
Only this package touches the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, case, func, select, update

from auditor.store import migrate
from auditor.store.base import InquiryOutcome, InquiryTables, ReplyRow, Store
from auditor.store.engine import is_url, make_engine, upsert, writer
from auditor.store.schema import imap_state, inquiries, replies

# An inquiry that no person has answered (or whose sending may have happened):
# the company is not sent another one unless forced.
UNANSWERED = ("sending", "pending", "auto-ack-only", "bounced", "no-reply")


def iso(dt: datetime | None) -> str | None:
    """UTC ISO 8601 to the second, the form every time in these tables has."""
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class InquiryStore:
    """The probe's tables, in the audit database behind ``engine`` (see ``InquiryTables``)."""

    def __init__(self, engine: Engine, create: bool = True) -> None:
        self.engine = engine
        self._writer = writer(engine)
        # Reading never creates them (archived audits may be read-only); present ones are kept current.
        if create or self.exists():
            migrate.upgrade(engine, "inquiries")

    @classmethod
    def of(cls, source: Store | InquiryTables | str | Path, create: bool = True) -> InquiryTables:
        """The tables of an audit store, of an audit DIR, database file or URL; tables pass through."""
        if isinstance(source, str | Path):
            return cls.open(source, create)
        if isinstance(source, InquiryTables):
            return source
        return source.inquiry_tables(create)

    @classmethod
    def open(cls, target: str | Path, create: bool = True) -> InquiryStore:
        """The tables of the audit in directory ``target`` (its ``audit.sqlite``), database file or URL."""
        if is_url(target):
            return cls(make_engine(target), create)
        path = Path(target)
        if path.is_dir():
            path = path / "audit.sqlite"
        return cls(make_engine(path), create)

    @cached_property
    def db(self) -> sqlite3.Connection:
        """A plain sqlite3 connection (autocommit) on an SQLite audit, for tests and checks."""
        if self.engine.dialect.name != "sqlite" or not self.engine.url.database:
            raise TypeError("a DB-API handle is only offered on an SQLite audit")
        return sqlite3.connect(self.engine.url.database, isolation_level=None, timeout=30)

    def exists(self) -> bool:
        """True when the probe's tables are in the database."""
        with self.engine.connect() as conn:
            return migrate.present(conn, "inquiries")

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One write transaction: concurrent collectors serialize instead of racing."""
        with self._writer.begin() as conn:
            yield conn

    # -- sending ------------------------------------------------------------
    def asked(self) -> dict[str, str]:
        """Companies already sent an inquiry: key -> ``unanswered-inquiry`` or ``already-answered``.

        Both keep a company from being asked again unless forced; a failed
        send (``send-failed``) does not count.
        """
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(inquiries.c.company_key, inquiries.c.status)
                                .where(inquiries.c.status != "send-failed").order_by(inquiries.c.id)).all()
        for key, status in rows:
            if status in UNANSWERED or key not in out:
                out[key] = "unanswered-inquiry" if status in UNANSWERED else "already-answered"
        return out

    def begin_send(self, row: dict[str, Any]) -> int:
        """Record the inquiry as ``sending`` before the SMTP transaction.

        A crash between DATA and the update leaves ``sending``, which counts as
        unanswered: a re-run will not mail the company twice.
        """
        columns = ("company_key", "company_name", "website", "industry", "address", "language", "topic",
                   "subject", "token", "message_id", "created_at")
        with self.tx() as conn:
            new = conn.execute(inquiries.insert().values(
                status="sending", **{name: row[name] for name in columns})).inserted_primary_key
        return int(new[0]) if new else 0

    def mark_sent(self, inquiry_id: int, sent_at: datetime, code: int, reply: str) -> None:
        with self.tx() as conn:
            conn.execute(update(inquiries).where(inquiries.c.id == inquiry_id).values(
                status="pending", sent_at=iso(sent_at), smtp_code=code, smtp_reply=reply))

    def note_reply(self, inquiry_id: int, reply: str) -> None:
        """Keep what the server said without changing the status."""
        with self.tx() as conn:
            conn.execute(update(inquiries).where(inquiries.c.id == inquiry_id).values(smtp_reply=reply))

    def mark_failed(self, inquiry_id: int, code: int | None, reply: str) -> None:
        with self.tx() as conn:
            conn.execute(update(inquiries).where(inquiries.c.id == inquiry_id).values(
                status="send-failed", final=1, smtp_code=code, smtp_reply=reply))

    # -- collecting ---------------------------------------------------------
    def handles(self) -> tuple[dict[str, int], dict[str, int]]:
        """(Message-ID -> inquiry id, token -> inquiry id) of everything ever sent or attempted."""
        by_mid: dict[str, int] = {}
        by_token: dict[str, int] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(inquiries.c.id, inquiries.c.message_id, inquiries.c.token)
                                .order_by(inquiries.c.id)).all()
        for iid, mid, token in rows:
            by_mid[mid.lower()] = iid
            by_token[token.lower()] = iid
        return by_mid, by_token

    def sent_at(self) -> dict[int, datetime]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(inquiries.c.id, inquiries.c.sent_at)
                                .where(inquiries.c.sent_at.is_not(None)).order_by(inquiries.c.id)).all()
        return {iid: dt for iid, value in rows if (dt := parse_iso(value))}

    def imap_state(self, account: str, folder: str) -> tuple[int, int] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(imap_state.c.uidvalidity, imap_state.c.last_uid).where(
                imap_state.c.account == account, imap_state.c.folder == folder)).first()
        return (int(row[0]), int(row[1])) if row else None

    def save_batch(
        self, account: str, folder: str, uidvalidity: int, last_uid: int, rows: Sequence[ReplyRow],
        now: datetime,
    ) -> list[ReplyRow]:
        """Store a batch of replies and advance the folder's UID mark in one transaction.

        Returns the rows that were new (a message stored before is ignored).
        """
        added: list[ReplyRow] = []
        with self.tx() as conn:
            for r in rows:
                stmt = upsert(conn, replies).values(
                    inquiry_id=r.inquiry_id, dedupe_key=r.dedupe_key, folder=r.folder, uidvalidity=r.uidvalidity,
                    uid=r.uid, message_id=r.message_id, from_domain=r.from_domain, subject=r.subject[:200],
                    received_at=iso(r.received_at), date_header=iso(r.date_header), kind=r.kind,
                    reason=r.reason, detail=r.detail[:500], matched_by=r.matched_by, collected_at=iso(now),
                ).on_conflict_do_nothing(
                    index_elements=[replies.c.inquiry_id, replies.c.dedupe_key]
                ).returning(replies.c.id)  # a row back only when it was new (rowcount is not portable)
                if conn.execute(stmt).first() is not None:
                    added.append(r)
            mark = upsert(conn, imap_state).values(
                account=account, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid, updated_at=iso(now))
            new = mark.excluded
            # Same UIDVALIDITY: the mark only moves forward; a new one (renumbered folder) starts over.
            conn.execute(mark.on_conflict_do_update(
                index_elements=[imap_state.c.account, imap_state.c.folder],
                set_={
                    "uidvalidity": new.uidvalidity,
                    "last_uid": case(
                        ((imap_state.c.uidvalidity == new.uidvalidity) & (imap_state.c.last_uid > new.last_uid),
                         imap_state.c.last_uid),
                        else_=new.last_uid),
                    "updated_at": new.updated_at,
                }))
        return added

    def open_inquiries(self) -> list[tuple[int, datetime]]:
        """(id, sent_at) of sent inquiries whose outcome can still change."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(inquiries.c.id, inquiries.c.sent_at).where(
                inquiries.c.sent_at.is_not(None), inquiries.c.final == 0).order_by(inquiries.c.id)).all()
        return [(iid, dt) for iid, value in rows if (dt := parse_iso(value))]

    def reply_times(self, inquiry_id: int) -> list[tuple[str, datetime]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(replies.c.kind, replies.c.received_at)
                                .where(replies.c.inquiry_id == inquiry_id)
                                .order_by(replies.c.received_at, replies.c.id)).all()
        return [(kind, dt) for kind, value in rows if (dt := parse_iso(value))]

    def save_outcome(self, inquiry_id: int, o: InquiryOutcome) -> bool:
        """Write the outcome; True when the status changed."""
        with self.tx() as conn:
            old = conn.execute(select(inquiries.c.status).where(inquiries.c.id == inquiry_id)
                               .with_for_update()).scalar()
            conn.execute(update(inquiries).where(inquiries.c.id == inquiry_id).values(
                status=o.status, final=int(o.final), no_reply=int(o.no_reply), first_ack_at=iso(o.first_ack_at),
                first_human_at=iso(o.first_human_at), bounced_at=iso(o.bounced_at), closed_at=iso(o.closed_at)))
        return old is None or old != o.status

    # -- reading ------------------------------------------------------------
    def inquiries(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(inquiries).order_by(inquiries.c.id))]

    def replies(self, inquiry_id: int | None = None) -> list[dict[str, Any]]:
        query = select(replies)
        if inquiry_id is None:
            query = query.order_by(replies.c.inquiry_id, replies.c.received_at, replies.c.id)
        else:
            query = query.where(replies.c.inquiry_id == inquiry_id).order_by(replies.c.received_at, replies.c.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def sent_inquiries(self, statuses: Sequence[str]) -> list[dict[str, Any]]:
        """Sent inquiries in one of ``statuses``, oldest first, with their reply and retry counts.

        Each row holds the ``inquiries`` columns plus ``n_replies``, the first
        bounce's ``bounce_detail`` and ``n_inquiries`` (sent to the same company).
        """
        i, r, j = inquiries.alias("i"), replies.alias("r"), inquiries.alias("j")
        n_replies = select(func.count()).select_from(r).where(r.c.inquiry_id == i.c.id).scalar_subquery()
        bounce = (select(r.c.detail).where(r.c.inquiry_id == i.c.id, r.c.kind == "bounce")
                  .order_by(r.c.received_at).limit(1).scalar_subquery())
        n_inquiries = (select(func.count()).select_from(j)
                       .where(j.c.company_key == i.c.company_key, j.c.sent_at.is_not(None)).scalar_subquery())
        query = (select(i, n_replies.label("n_replies"), bounce.label("bounce_detail"),
                        n_inquiries.label("n_inquiries"))
                 .where(i.c.sent_at.is_not(None), i.c.status.in_(list(statuses)))
                 .order_by(i.c.sent_at, i.c.id))
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

