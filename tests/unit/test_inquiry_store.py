"""The mystery-shopper probe's tables (InquiryTables), on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.store import open_store
from auditor.store.base import InquiryTables, ReplyRow
from auditor.store.inquiries import InquiryStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _row(n: int, key: str) -> dict[str, Any]:
    return {"company_key": key, "company_name": f"Company {n}", "website": f"https://c{n}.test/",
            "industry": None, "address": f"info@c{n}.test", "language": "en", "topic": "opening-hours",
            "subject": f"Question [ref T{n}]", "token": f"T{n}", "message_id": f"<M{n}@shopper.test>",
            "created_at": "2026-03-02T08:59:00+00:00"}


def _reply(iid: int, key: str, uid: int, kind: str, hours: float, uidvalidity: int = 7) -> ReplyRow:
    return ReplyRow(iid, key, "INBOX", uidvalidity, uid, f"<{key}>", "c.test", "Re: question " * 30,
                    T0 + timedelta(hours=hours), None, kind, "why", "d" * 600, "in-reply-to")


@dataclass(frozen=True)
class Outcome:
    status: str
    final: bool = False
    no_reply: bool = False
    first_ack_at: datetime | None = None
    first_human_at: datetime | None = None
    bounced_at: datetime | None = None
    closed_at: datetime | None = None


def test_tables_are_made_on_first_use_and_read_without_writing(store_target: str | Path) -> None:
    store = open_store(store_target)
    assert not store.inquiry_tables(create=False).exists()
    tables = store.inquiry_tables()
    assert isinstance(tables, InquiryTables) and tables.exists()
    assert InquiryStore.of(store, create=False).exists() and InquiryStore.of(tables) is tables
    store.close()


def test_sending_records_and_who_was_asked(store_target: str | Path) -> None:
    store = open_store(store_target)
    t = store.inquiry_tables()
    a, b, c = (t.begin_send(_row(n, f"k{n}")) for n in (1, 2, 3))
    assert a < b < c
    t.mark_sent(a, T0, 250, "2.0.0 queued")
    t.note_reply(a, "2.0.0 queued as X")
    t.mark_failed(b, 550, "5.1.1 no")
    t.mark_sent(c, T0 + timedelta(minutes=1), 250, "ok")
    t.save_outcome(c, Outcome("human-reply", final=True, first_human_at=T0 + timedelta(hours=2)))
    assert t.asked() == {"k1": "unanswered-inquiry", "k3": "already-answered"}
    by_mid, by_token = t.handles()
    assert by_mid == {"<m1@shopper.test>": a, "<m2@shopper.test>": b, "<m3@shopper.test>": c}
    assert by_token == {"t1": a, "t2": b, "t3": c}
    assert t.sent_at() == {a: T0, c: T0 + timedelta(minutes=1)}
    assert t.open_inquiries() == [(a, T0)]
    rows = {r["id"]: r for r in t.inquiries()}
    assert (rows[a]["status"], rows[a]["smtp_code"], rows[a]["smtp_reply"], rows[a]["sent_at"]) == (
        "pending", 250, "2.0.0 queued as X", "2026-03-02T09:00:00+00:00")
    assert (rows[b]["status"], rows[b]["final"]) == ("send-failed", 1)
    assert (rows[c]["final"], rows[c]["no_reply"], rows[c]["first_human_at"]) == (1, 0, "2026-03-02T11:00:00+00:00")
    assert list(rows[a]) == ["id", "company_key", "company_name", "website", "industry", "address", "language",
                             "topic", "subject", "token", "message_id", "created_at", "sent_at", "smtp_code",
                             "smtp_reply", "status", "final", "no_reply", "first_ack_at", "first_human_at",
                             "bounced_at", "closed_at"]
    store.close()


def test_replies_are_stored_once_and_the_uid_mark_moves_forward(store_target: str | Path) -> None:
    store = open_store(store_target)
    t = store.inquiry_tables()
    iid = t.begin_send(_row(1, "k1"))
    t.mark_sent(iid, T0, 250, "ok")
    first = [_reply(iid, "r1", 3, "auto-ack", 1), _reply(iid, "r2", 5, "human", 3)]
    assert t.save_batch("acct", "INBOX", 7, 5, first, T0) == first
    assert t.save_batch("acct", "INBOX", 7, 2, first, T0) == []  # seen before; the mark never goes back
    assert t.imap_state("acct", "INBOX") == (7, 5)
    assert t.imap_state("acct", "Other") is None
    renumbered = [_reply(iid, "r1", 1, "auto-ack", 1, 8)]
    assert t.save_batch("acct", "INBOX", 8, 1, renumbered, T0) == []
    assert t.imap_state("acct", "INBOX") == (8, 1)  # a new UIDVALIDITY starts the mark over
    assert t.reply_times(iid) == [("auto-ack", T0 + timedelta(hours=1)), ("human", T0 + timedelta(hours=3))]
    (r1, r2) = t.replies()
    assert (r1["dedupe_key"], len(r1["subject"]), len(r1["detail"]), r1["uidvalidity"]) == ("r1", 200, 500, 7)
    assert t.replies(iid) == [r1, r2] and t.replies(iid + 1) == []
    store.close()


def test_uid_marks_hold_unsigned_32_bit_numbers(store_target: str | Path) -> None:
    store = open_store(store_target)
    t = store.inquiry_tables()
    t.save_batch("acct", "INBOX", 4_294_967_295, 4_294_967_290, [], T0)
    assert t.imap_state("acct", "INBOX") == (4_294_967_295, 4_294_967_290)
    store.close()


def test_outcomes_and_sent_inquiries_with_their_counts(store_target: str | Path) -> None:
    store = open_store(store_target)
    t = store.inquiry_tables()
    a, b, c = (t.begin_send(_row(n, key)) for n, key in ((1, "k1"), (2, "k2"), (3, "k1")))
    for n, iid in enumerate((a, b, c)):
        t.mark_sent(iid, T0 + timedelta(minutes=n), 250, "ok")
    t.save_batch("acct", "INBOX", 7, 9, [
        _reply(b, "x2", 2, "bounce", 2), _reply(b, "x1", 1, "bounce", 1), _reply(a, "y", 3, "human", 1)], T0)
    assert t.save_outcome(b, Outcome("bounced", final=True, bounced_at=T0 + timedelta(hours=1))) is True
    assert t.save_outcome(b, Outcome("bounced", final=True, bounced_at=T0 + timedelta(hours=1))) is False
    rows = t.sent_inquiries(["pending", "bounced"])
    assert [(r["id"], r["n_replies"], r["n_inquiries"]) for r in rows] == [(a, 1, 2), (b, 2, 1), (c, 0, 2)]
    assert rows[1]["bounce_detail"] == "d" * 500 and rows[0]["bounce_detail"] is None
    assert rows[1]["bounced_at"] == "2026-03-02T10:00:00+00:00"
    assert t.sent_inquiries(["human-reply"]) == [] and t.sent_inquiries([]) == []
    store.close()
