"""The mystery-shopper probe's tables beside the audit in ``DIR/audit.sqlite``.

Inquiries, replies and the IMAP marks are created if missing and never dropped
by a new audit run: an inquiry outlives the crawl that found its address.
Replies are unique per (inquiry, Message-ID or content hash), so collecting the
same mailbox twice, or after the server renumbered it (UIDVALIDITY change), adds
nothing. Reply bodies and senders' names are not stored: only the sender's
domain, the subject and the verdict. Only this package touches the connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.store.base import InquiryOutcome, InquiryTables, ReplyRow, Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS inquiries (
    id INTEGER PRIMARY KEY,
    company_key TEXT NOT NULL,
    company_name TEXT NOT NULL,
    website TEXT NOT NULL,
    industry TEXT,
    address TEXT NOT NULL,
    language TEXT NOT NULL,
    topic TEXT NOT NULL,
    subject TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    message_id TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    smtp_code INTEGER,
    smtp_reply TEXT,
    status TEXT NOT NULL,
    final INTEGER NOT NULL DEFAULT 0,
    no_reply INTEGER NOT NULL DEFAULT 0,
    first_ack_at TEXT,
    first_human_at TEXT,
    bounced_at TEXT,
    closed_at TEXT
);
CREATE INDEX IF NOT EXISTS inquiries_company ON inquiries(company_key);
CREATE TABLE IF NOT EXISTS replies (
    id INTEGER PRIMARY KEY,
    inquiry_id INTEGER NOT NULL REFERENCES inquiries(id),
    dedupe_key TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    message_id TEXT,
    from_domain TEXT,
    subject TEXT,
    received_at TEXT NOT NULL,
    date_header TEXT,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT,
    matched_by TEXT NOT NULL,
    collected_at TEXT NOT NULL,
    UNIQUE (inquiry_id, dedupe_key)
);
CREATE INDEX IF NOT EXISTS replies_inquiry ON replies(inquiry_id);
CREATE TABLE IF NOT EXISTS imap_state (
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account, folder)
);
"""

# An inquiry that no person has answered (or whose sending may have happened):
# the company is not sent another one unless forced.
UNANSWERED = ("sending", "pending", "auto-ack-only", "bounced", "no-reply")


def iso(dt: datetime | None) -> str | None:
    """UTC ISO 8601 to the second, the form every time in these tables has."""
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def parse_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class InquiryStore:
    """The probe's tables, through the audit database's connection (see ``InquiryTables``)."""

    def __init__(self, db: sqlite3.Connection, create: bool = True) -> None:
        self.db = db
        # executescript would COMMIT a caller's open transaction: only when needed.
        if create and not self.exists():
            self.db.executescript(SCHEMA)

    @classmethod
    def of(cls, source: Store | InquiryTables | str | Path, create: bool = True) -> InquiryTables:
        """The tables of an audit store, of an audit DIR or database file; tables pass through."""
        if isinstance(source, str | Path):
            return cls.open(source, create)
        if isinstance(source, InquiryTables):
            return source
        return source.inquiry_tables(create)

    @classmethod
    def open(cls, path: str | Path, create: bool = True) -> InquiryStore:
        """The tables of the audit in directory ``path`` (its ``audit.sqlite``) or in database file ``path``."""
        path = Path(path)
        if path.is_dir():
            path = path / "audit.sqlite"
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        return cls(conn, create)

    def exists(self) -> bool:
        """True when the probe's tables are in the database."""
        names = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {"inquiries", "replies", "imap_state"} <= names

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE .. COMMIT: concurrent collectors serialize instead of racing."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- sending ------------------------------------------------------------
    def asked(self) -> dict[str, str]:
        """Companies already sent an inquiry: key -> ``unanswered-inquiry`` or ``already-answered``.

        Both keep a company from being asked again unless forced; a failed
        send (``send-failed``) does not count.
        """
        out: dict[str, str] = {}
        for key, status in self.db.execute(
            "SELECT company_key, status FROM inquiries WHERE status != 'send-failed'"
        ):
            if status in UNANSWERED or key not in out:
                out[key] = "unanswered-inquiry" if status in UNANSWERED else "already-answered"
        return out

    def begin_send(self, row: dict[str, Any]) -> int:
        """Record the inquiry as ``sending`` before the SMTP transaction.

        A crash between DATA and the update leaves ``sending``, which counts as
        unanswered: a re-run will not mail the company twice.
        """
        with self.tx():
            cur = self.db.execute(
                "INSERT INTO inquiries (company_key, company_name, website, industry, address, language,"
                " topic, subject, token, message_id, created_at, status)"
                " VALUES (:company_key, :company_name, :website, :industry, :address, :language, :topic,"
                " :subject, :token, :message_id, :created_at, 'sending')",
                row,
            )
        return int(cur.lastrowid or 0)

    def mark_sent(self, inquiry_id: int, sent_at: datetime, code: int, reply: str) -> None:
        with self.tx():
            self.db.execute(
                "UPDATE inquiries SET status='pending', sent_at=?, smtp_code=?, smtp_reply=? WHERE id=?",
                (iso(sent_at), code, reply, inquiry_id),
            )

    def note_reply(self, inquiry_id: int, reply: str) -> None:
        """Keep what the server said without changing the status."""
        with self.tx():
            self.db.execute("UPDATE inquiries SET smtp_reply=? WHERE id=?", (reply, inquiry_id))

    def mark_failed(self, inquiry_id: int, code: int | None, reply: str) -> None:
        with self.tx():
            self.db.execute(
                "UPDATE inquiries SET status='send-failed', final=1, smtp_code=?, smtp_reply=? WHERE id=?",
                (code, reply, inquiry_id),
            )

    # -- collecting ---------------------------------------------------------
    def handles(self) -> tuple[dict[str, int], dict[str, int]]:
        """(Message-ID -> inquiry id, token -> inquiry id) of everything ever sent or attempted."""
        by_mid: dict[str, int] = {}
        by_token: dict[str, int] = {}
        for iid, mid, token in self.db.execute("SELECT id, message_id, token FROM inquiries"):
            by_mid[mid.lower()] = iid
            by_token[token.lower()] = iid
        return by_mid, by_token

    def sent_at(self) -> dict[int, datetime]:
        return {
            iid: dt for iid, value in self.db.execute(
                "SELECT id, sent_at FROM inquiries WHERE sent_at IS NOT NULL")
            if (dt := parse_iso(value))
        }

    def imap_state(self, account: str, folder: str) -> tuple[int, int] | None:
        row = self.db.execute(
            "SELECT uidvalidity, last_uid FROM imap_state WHERE account=? AND folder=?", (account, folder)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def save_batch(
        self, account: str, folder: str, uidvalidity: int, last_uid: int, rows: Sequence[ReplyRow],
        now: datetime,
    ) -> list[ReplyRow]:
        """Store a batch of replies and advance the folder's UID mark in one transaction.

        Returns the rows that were new (a message stored before is ignored).
        """
        added: list[ReplyRow] = []
        with self.tx():
            for r in rows:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO replies (inquiry_id, dedupe_key, folder, uidvalidity, uid,"
                    " message_id, from_domain, subject, received_at, date_header, kind, reason, detail,"
                    " matched_by, collected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (r.inquiry_id, r.dedupe_key, r.folder, r.uidvalidity, r.uid, r.message_id,
                     r.from_domain, r.subject[:200], iso(r.received_at), iso(r.date_header), r.kind,
                     r.reason, r.detail[:500], r.matched_by, iso(now)),
                )
                if cur.rowcount:
                    added.append(r)
            self.db.execute(
                "INSERT INTO imap_state (account, folder, uidvalidity, last_uid, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT(account, folder) DO UPDATE SET"
                " uidvalidity=excluded.uidvalidity, last_uid=max(excluded.last_uid,"
                " CASE WHEN imap_state.uidvalidity=excluded.uidvalidity THEN imap_state.last_uid ELSE 0 END),"
                " updated_at=excluded.updated_at",
                (account, folder, uidvalidity, last_uid, iso(now)),
            )
        return added

    def open_inquiries(self) -> list[tuple[int, datetime]]:
        """(id, sent_at) of sent inquiries whose outcome can still change."""
        return [
            (iid, dt) for iid, value in self.db.execute(
                "SELECT id, sent_at FROM inquiries WHERE sent_at IS NOT NULL AND final=0 ORDER BY id")
            if (dt := parse_iso(value))
        ]

    def reply_times(self, inquiry_id: int) -> list[tuple[str, datetime]]:
        return [
            (kind, dt) for kind, value in self.db.execute(
                "SELECT kind, received_at FROM replies WHERE inquiry_id=? ORDER BY received_at",
                (inquiry_id,))
            if (dt := parse_iso(value))
        ]

    def save_outcome(self, inquiry_id: int, o: InquiryOutcome) -> bool:
        """Write the outcome; True when the status changed."""
        with self.tx():
            old = self.db.execute("SELECT status FROM inquiries WHERE id=?", (inquiry_id,)).fetchone()
            self.db.execute(
                "UPDATE inquiries SET status=?, final=?, no_reply=?, first_ack_at=?, first_human_at=?,"
                " bounced_at=?, closed_at=? WHERE id=?",
                (o.status, int(o.final), int(o.no_reply), iso(o.first_ack_at), iso(o.first_human_at),
                 iso(o.bounced_at), iso(o.closed_at), inquiry_id),
            )
        return not old or old[0] != o.status

    # -- reading ------------------------------------------------------------
    def inquiries(self) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT * FROM inquiries ORDER BY id")
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur]

    def replies(self, inquiry_id: int | None = None) -> list[dict[str, Any]]:
        if inquiry_id is None:
            cur = self.db.execute("SELECT * FROM replies ORDER BY inquiry_id, received_at, id")
        else:
            cur = self.db.execute(
                "SELECT * FROM replies WHERE inquiry_id=? ORDER BY received_at, id", (inquiry_id,))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur]

    def sent_inquiries(self, statuses: Sequence[str]) -> list[dict[str, Any]]:
        """Sent inquiries in one of ``statuses``, oldest first, with their reply and retry counts.

        Each row holds the ``inquiries`` columns plus ``n_replies``, the first
        bounce's ``bounce_detail`` and ``n_inquiries`` (sent to the same company).
        """
        marks = ",".join("?" * len(statuses))
        cur = self.db.execute(
            "SELECT i.*, (SELECT count(*) FROM replies r WHERE r.inquiry_id=i.id) AS n_replies,"
            " (SELECT r.detail FROM replies r WHERE r.inquiry_id=i.id AND r.kind='bounce'"
            "  ORDER BY r.received_at LIMIT 1) AS bounce_detail,"
            " (SELECT count(*) FROM inquiries j WHERE j.company_key=i.company_key AND j.sent_at IS NOT NULL)"
            "  AS n_inquiries"
            f" FROM inquiries i WHERE i.sent_at IS NOT NULL AND i.status IN ({marks})"  # noqa: S608
            " ORDER BY i.sent_at, i.id",
            tuple(statuses),
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur]
