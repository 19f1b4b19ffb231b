"""Read the auditor's mailbox over IMAP, match and classify replies, update each inquiry's outcome.

The standard library's :mod:`imaplib` is used, synchronously (an async caller
wraps the call in ``asyncio.to_thread``): collecting is one short sequential
batch over one connection, imaplib handles implicit TLS and STARTTLS and the
UID commands, and it adds no dependency (aioimaplib would, for no concurrency
gained).

Resumable and repeatable: the folder is opened read-only and fetched with
``BODY.PEEK[]`` (nothing is marked read or moved), the highest UID seen is
remembered per folder together with UIDVALIDITY (a changed UIDVALIDITY means
the server renumbered the folder: it is read again from the start), and
replies are unique per inquiry and Message-ID, so nothing is counted twice.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import re
import ssl
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parseaddr

from auditor.probes.inquiries.classify import (
    classify,
    header_date,
    header_text,
    match_inquiry,
    outcome,
    parse_message,
    reply_keys,
)
from auditor.probes.inquiries.config import CUTOFF_DAYS, ImapConfig, is_loopback
from auditor.probes.inquiries.store import InquiryStore, ReplyRow
from auditor.store.base import InquiryTables, Store

log = logging.getLogger(__name__)

BATCH = 50
_UID = re.compile(rb"\bUID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


class CollectError(RuntimeError):
    """The mailbox could not be read (connect, TLS, login, folder)."""


@dataclass
class CollectReport:
    """What one collect run saw and changed."""

    folder: str
    uidvalidity: int = 0
    uidvalidity_reset: bool = False
    fetched: int = 0
    matched: int = 0
    unmatched: int = 0
    added: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    status_changes: list[tuple[int, str]] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)  # inquiries that reached the cutoff this run

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items())) or "none"
        return (f"{self.folder}: fetched {self.fetched}, matched {self.matched}, unmatched {self.unmatched},"
                f" new replies {self.added} ({kinds}); status changes {len(self.status_changes)},"
                f" closed at cutoff {len(self.closed)}"
                + ("; UIDVALIDITY changed, folder re-read" if self.uidvalidity_reset else ""))


def parse_internaldate(value: bytes | str) -> datetime | None:
    """``17-Jul-1996 02:44:25 -0700`` as an aware datetime (locale-independent)."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    m = re.match(r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)", text)
    if not m or m.group(2).lower() not in _MONTHS:
        return None
    offset = timedelta(hours=int(m.group(8)), minutes=int(m.group(9)))
    tz = timezone(offset if m.group(7) == "+" else -offset)
    return datetime(int(m.group(3)), _MONTHS[m.group(2).lower()], int(m.group(1)),
                    int(m.group(4)), int(m.group(5)), int(m.group(6)), tzinfo=tz)


def _connect(config: ImapConfig) -> imaplib.IMAP4:
    ctx = ssl.create_default_context(cafile=config.ca_file)
    try:
        if config.tls:
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                config.host, config.port, ssl_context=ctx, timeout=config.timeout)
        else:
            imap = imaplib.IMAP4(config.host, config.port, timeout=config.timeout)
            if "STARTTLS" in imap.capabilities:
                imap.starttls(ssl_context=ctx)
            elif not is_loopback(config.host):
                imap.logout()
                raise CollectError(f"{config.host} offers no TLS; refusing to log in in plaintext")
        imap.login(config.user, config.password())
    except imaplib.IMAP4.error as exc:
        raise CollectError(f"IMAP login to {config.describe()} failed: {exc}") from exc
    except (OSError, ssl.SSLError) as exc:
        raise CollectError(f"cannot connect to {config.describe()}: {exc}") from exc
    return imap


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetch(imap: imaplib.IMAP4, uids: list[int]) -> Iterator[tuple[int, datetime | None, bytes]]:
    """(uid, INTERNALDATE, raw message) for each UID, in whatever order the server answers."""
    typ, data = imap.uid("FETCH", ",".join(map(str, uids)), "(UID INTERNALDATE BODY.PEEK[])")
    if typ != "OK":
        raise CollectError(f"UID FETCH failed: {data!r}")
    pending: tuple[bytes, bytes] | None = None
    for item in data:
        if isinstance(item, tuple):
            if pending:
                yield _item(*pending)
            pending = (item[0], item[1])
        elif isinstance(item, bytes) and pending:
            # Items after the literal (e.g. INTERNALDATE sent last) arrive here.
            yield _item(pending[0] + b" " + item, pending[1])
            pending = None
    if pending:
        yield _item(*pending)


def _item(meta: bytes, raw: bytes) -> tuple[int, datetime | None, bytes]:
    uid = _UID.search(meta)
    date = _INTERNALDATE.search(meta)
    return (int(uid.group(1)) if uid else 0, parse_internaldate(date.group(1)) if date else None, raw)


def _dedupe_key(message_id: str | None, raw: bytes) -> str:
    if message_id:
        return "mid:" + message_id.strip().lower()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _process(
    uid: int, received: datetime | None, raw: bytes, folder: str, uidvalidity: int,
    handles: tuple[dict[str, int], dict[str, int]], now: datetime,
) -> ReplyRow | None:
    msg = parse_message(raw)
    found = match_inquiry(reply_keys(msg), *handles)
    if found is None:
        return None
    inquiry_id, how = found
    verdict = classify(msg)
    date = header_date(msg)
    when = received or date or now
    message_id = header_text(msg, "Message-ID") or None
    sender = parseaddr(header_text(msg, "From"))[1]
    return ReplyRow(
        inquiry_id=inquiry_id, dedupe_key=_dedupe_key(message_id, raw), folder=folder,
        uidvalidity=uidvalidity, uid=uid, message_id=message_id,
        from_domain=sender.rpartition("@")[2].lower() or None,
        subject=header_text(msg, "Subject"),
        received_at=when.astimezone(UTC), date_header=date, kind=verdict.kind, reason=verdict.reason,
        detail=verdict.detail, matched_by=how,
    )


def collect_replies(
    store: Store | InquiryTables,
    imap_config: ImapConfig,
    *,
    now: datetime | None = None,
    cutoff: timedelta = timedelta(days=CUTOFF_DAYS),
) -> CollectReport:
    """Fetch new messages, store matched replies, then decide every open inquiry's outcome.

    ``now`` (aware; default the current UTC time) decides which inquiries have
    passed the ``cutoff`` without a human reply: they are recorded as such.
    Arrival time is the server's INTERNALDATE (its own clock, not the sender's
    Date header), which is what hours-to-reply are measured with.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    istore = InquiryStore.of(store)
    folder = imap_config.folder
    account = f"{imap_config.user}@{imap_config.host}:{imap_config.port}"
    report = CollectReport(folder=folder)
    imap = _connect(imap_config)
    try:
        typ, data = imap.select(_quote(folder), readonly=True)
        if typ != "OK":
            raise CollectError(f"cannot open folder {folder!r}: {data!r}")
        validity = imap.response("UIDVALIDITY")[1]
        uidvalidity = int(validity[0]) if validity and validity[0] else 0
        report.uidvalidity = uidvalidity
        last_uid = _last_uid(istore.imap_state(account, folder), folder, uidvalidity, report)
        uids = _new_uids(imap, last_uid)
        handles = istore.handles()
        for start in range(0, len(uids), BATCH):
            chunk = uids[start : start + BATCH]
            rows = _read_batch(imap, chunk, folder, uidvalidity, handles, now, report)
            added = istore.save_batch(account, folder, uidvalidity, chunk[-1], rows, now)
            report.added += len(added)
            report.by_kind.update(row.kind for row in added)
        if not uids:
            istore.save_batch(account, folder, uidvalidity, last_uid, [], now)
    except (imaplib.IMAP4.error, OSError) as exc:
        # Batches stored so far are kept: the next run continues after them.
        raise CollectError(f"reading {imap_config.describe()} failed: {exc}") from exc
    finally:
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    _decide(istore, now, cutoff, report)
    return report


def _last_uid(state: tuple[int, int] | None, folder: str, uidvalidity: int, report: CollectReport) -> int:
    """The highest UID already read, or 0 when the folder is new or its UIDVALIDITY changed."""
    if not state:
        return 0
    if state[0] == uidvalidity:
        return state[1]
    report.uidvalidity_reset = True
    log.warning("UIDVALIDITY of %s changed (%s -> %s): reading it again", folder, state[0], uidvalidity)
    return 0


def _new_uids(imap: imaplib.IMAP4, last_uid: int) -> list[int]:
    typ, data = imap.uid("SEARCH", f"UID {last_uid + 1}:*")  # no CHARSET argument
    if typ != "OK":
        raise CollectError(f"UID SEARCH failed: {data!r}")
    # "n:*" always includes the highest UID, even below n: filter.
    return sorted(u for u in (int(x) for x in b" ".join(d for d in data or () if isinstance(d, bytes)).split()) if u > last_uid)


def _read_batch(
    imap: imaplib.IMAP4, chunk: list[int], folder: str, uidvalidity: int,
    handles: tuple[dict[str, int], dict[str, int]], now: datetime,
    report: CollectReport,
) -> list[ReplyRow]:
    """The replies among one batch of messages; the others are counted as unmatched or skipped."""
    rows: list[ReplyRow] = []
    for uid, received, raw in _fetch(imap, chunk):
        report.fetched += 1
        try:
            row = _process(uid, received, raw, folder, uidvalidity, handles, now)
        except Exception:  # noqa: BLE001 - one unparseable message must not stop the run
            log.exception("message UID %s in %s could not be processed", uid, folder)
            continue
        if row is None:
            report.unmatched += 1
            continue
        report.matched += 1
        rows.append(row)
    return rows


def _decide(istore: InquiryTables, now: datetime, cutoff: timedelta, report: CollectReport) -> None:
    """Recompute the outcome of every inquiry that is not final yet."""
    for iid, sent_at in istore.open_inquiries():
        o = outcome(sent_at, istore.reply_times(iid), now, cutoff)
        if istore.save_outcome(iid, o):
            report.status_changes.append((iid, o.status))
        if o.closed_at is not None:
            report.closed.append(iid)
