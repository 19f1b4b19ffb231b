"""FETCH data items (RFC 3501 §6.4.5, §7.4.2): parsed once, rendered per message."""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass

from auditor.lab.imap.mailbox import StoredMessage, format_internaldate, parse_headers
from auditor.lab.imap.syntax import BadCommand, nstring

FETCH_ITEM = re.compile(
    r"^(?P<name>BODY\.PEEK|BODY|BINARY\.PEEK|BINARY)\[(?P<section>[^\]]*)\](?:<(?P<start>\d+)(?:\.(?P<count>\d+))?>)?$",
    re.IGNORECASE,
)
SIMPLE_ITEMS = frozenset({"UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", "RFC822", "RFC822.HEADER",
                           "RFC822.TEXT", "ENVELOPE"})


@dataclass(frozen=True)
class FetchItem:
    """One FETCH data item, parsed once and rendered per message."""

    name: str  # UID, FLAGS, ..., or BODY for a [section]
    peek: bool = True
    section: str = ""
    fields: tuple[str, ...] = ()
    start: int | None = None
    count: int | None = None

    @classmethod
    def parse(cls, text: str) -> FetchItem:
        upper = text.upper()
        if upper in SIMPLE_ITEMS:
            return cls(upper, peek=upper not in ("RFC822", "RFC822.TEXT"))
        m = FETCH_ITEM.match(text)
        if not m or m.group("name").upper().startswith("BINARY"):
            raise BadCommand(f"unsupported FETCH item {text[:60]}")
        section = m.group("section").strip()
        fields: tuple[str, ...] = ()
        fm = re.fullmatch(r"(HEADER\.FIELDS(?:\.NOT)?)\s*\(([^)]*)\)", section, re.IGNORECASE)
        if fm:
            section = fm.group(1).upper()
            fields = tuple(f.strip('"').lower() for f in fm.group(2).split())
            if not fields:
                raise BadCommand("HEADER.FIELDS needs field names")
        elif section.upper() in ("", "HEADER", "TEXT"):
            section = section.upper()
        else:
            raise BadCommand(f"unsupported section {section[:40]} (the lab serves whole messages)")
        start = int(m.group("start")) if m.group("start") is not None else None
        count = int(m.group("count")) if m.group("count") is not None else None
        if count == 0:
            raise BadCommand("a partial fetch needs a non-zero length")
        return cls("BODY", peek=m.group("name").upper() == "BODY.PEEK", section=section, fields=fields,
                   start=start, count=count)

    @property
    def sets_seen(self) -> bool:
        return not self.peek

    def render(self, m: StoredMessage) -> bytes:
        if self.name == "UID":
            return b"UID %d" % m.uid
        if self.name == "FLAGS":
            flags = sorted(m.flags) + (["\\Recent"] if m.recent else [])
            return f"FLAGS ({' '.join(flags)})".encode()
        if self.name == "INTERNALDATE":
            return f'INTERNALDATE "{format_internaldate(m.internaldate)}"'.encode()
        if self.name == "RFC822.SIZE":
            return b"RFC822.SIZE %d" % len(m.raw)
        if self.name == "ENVELOPE":
            return b"ENVELOPE " + envelope(m)
        if self.name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
            data = {"RFC822": m.raw, "RFC822.HEADER": m.header, "RFC822.TEXT": m.text}[self.name]
            return self.name.encode() + b" " + literal(data)
        data = self._section_data(m)
        label = f"BODY[{self.section}"
        if self.fields:
            label += " (" + " ".join(f.upper() for f in self.fields) + ")"
        label += "]"
        if self.start is not None:
            label += f"<{self.start}>"
            end = None if self.count is None else self.start + self.count
            data = data[self.start : end]
        return label.encode() + b" " + literal(data)

    def _section_data(self, m: StoredMessage) -> bytes:
        if self.section == "":
            return m.raw
        if self.section == "HEADER":
            return m.header
        if self.section == "TEXT":
            return m.text
        keep = self.section == "HEADER.FIELDS"
        lines: list[bytes] = []
        current: list[bytes] = []
        for line in m.header.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and current:
                current.append(line)
                continue
            if current:
                lines.append(b"\r\n".join(current))
            current = [line] if line else []
        if current:
            lines.append(b"\r\n".join(current))
        chosen = [ln for ln in lines
                  if (ln.split(b":", 1)[0].strip().decode("ascii", "replace").lower() in self.fields) == keep]
        return b"".join(ln + b"\r\n" for ln in chosen) + b"\r\n"


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def envelope(m: StoredMessage) -> bytes:
    """ENVELOPE (RFC 3501 §7.4.2): date, subject, from, sender, reply-to, to, cc, bcc, in-reply-to, message-id."""
    headers = parse_headers(m)

    def raw(name: str) -> str | None:
        value = headers.get(name)
        return None if value is None else " ".join(str(value).split())

    def addresses(name: str, fallback: str | None = None) -> bytes:
        values = headers.get_all(name) or (headers.get_all(fallback) if fallback else None)
        if not values:
            return b"NIL"
        out = []
        for display, address in email.utils.getaddresses([str(v) for v in values]):
            if not address and not display:
                continue
            local, _, domain = address.rpartition("@") if "@" in address else (address, "", "")
            out.append(b"(" + b" ".join([nstring(display or None), b"NIL", nstring(local or None),
                                         nstring(domain or None)]) + b")")
        return b"(" + b"".join(out) + b")" if out else b"NIL"

    fields = [
        nstring(raw("Date")), nstring(raw("Subject")), addresses("From"), addresses("Sender", "From"),
        addresses("Reply-To", "From"), addresses("To"), addresses("Cc"), addresses("Bcc"),
        nstring(raw("In-Reply-To")), nstring(raw("Message-ID")),
    ]
    return b"(" + b" ".join(fields) + b")"
