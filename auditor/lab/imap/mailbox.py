"""The lab mailbox's model: stored messages, folders, arrival times, header lookups. No I/O."""

from __future__ import annotations

import email.header
import email.utils
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import Any

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_internaldate(when: datetime) -> str:
    """RFC 3501 date-time: ``" 7-Jul-2026 14:30:00 +0200"`` (day space-padded)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return (f"{when.day:2d}-{MONTHS[when.month - 1]}-{when.year:04d} {when.hour:02d}:{when.minute:02d}:"
            f"{when.second:02d} {sign}{minutes // 60:02d}{minutes % 60:02d}")


def parse_internaldate(text: str) -> datetime | None:
    """The inverse of :func:`format_internaldate`; None when malformed."""
    m = re.fullmatch(r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\s*", text)
    if not m or m.group(2).title() not in MONTHS:
        return None
    offset = timedelta(hours=int(m.group(8)), minutes=int(m.group(9)))
    try:
        return datetime(int(m.group(3)), MONTHS.index(m.group(2).title()) + 1, int(m.group(1)), int(m.group(4)),
                        int(m.group(5)), int(m.group(6)), tzinfo=timezone(-offset if m.group(7) == "-" else offset))
    except ValueError:
        return None


def crlf(raw: bytes) -> bytes:
    """Message data travels with CRLF line ends (RFC 3501 §2.3.1.1 sizes count them)."""
    return re.sub(rb"\r?\n", b"\r\n", raw)



@dataclass
class StoredMessage:
    """One message in a folder: UID, arrival time, flags and the bytes (CRLF line ends)."""

    uid: int
    raw: bytes
    internaldate: datetime
    flags: set[str] = field(default_factory=set)
    recent: bool = True

    @property
    def header(self) -> bytes:
        """The header including the blank line that ends it (RFC 3501 BODY[HEADER])."""
        end = self.raw.find(b"\r\n\r\n")
        return self.raw if end < 0 else self.raw[: end + 4]

    @property
    def text(self) -> bytes:
        end = self.raw.find(b"\r\n\r\n")
        return b"" if end < 0 else self.raw[end + 4 :]


@dataclass
class Folder:
    name: str
    uidvalidity: int
    uidnext: int = 1
    messages: list[StoredMessage] = field(default_factory=list)


def folder_key(name: str) -> str:
    """INBOX is case-insensitive (RFC 3501 §5.1); other names are not."""
    return "INBOX" if name.upper() == "INBOX" else name



def parse_headers(message: StoredMessage) -> Any:
    """The message's header fields (compat32: the bytes as they came)."""
    return BytesHeaderParser(policy=compat32).parsebytes(message.header)


def header_value(message: StoredMessage, name: str) -> str:
    values = parse_headers(message).get_all(name) or []
    out = []
    for value in values:
        try:
            out.append(str(email.header.make_header(email.header.decode_header(str(value)))))
        except (ValueError, LookupError, UnicodeError):
            out.append(str(value))
    return " ".join(out)


def has_header(message: StoredMessage, name: str) -> bool:
    return parse_headers(message).get(name) is not None


def sent_date(message: StoredMessage) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(header_value(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return None

