"""SEARCH keys (RFC 3501 §6.4.4) compiled into one test per command, from tables.

Each key is looked up in :data:`_SIMPLE` (no argument), or in :data:`_BUILDERS`
(keys that read arguments or further keys); a sequence set stands for itself.
"""

from __future__ import annotations

from collections.abc import Callable

from auditor.lab.imap.mailbox import StoredMessage, has_header, header_value, sent_date
from auditor.lab.imap.syntax import (
    SEQUENCE,
    Atom,
    BadCommand,
    Token,
    astring,
    in_ranges,
    parse_date,
    parse_sequence_set,
)

Test = Callable[[int, StoredMessage], bool]  # (0-based index, message) -> matches

FLAG_KEYS = {"ANSWERED": "\\Answered", "DELETED": "\\Deleted", "DRAFT": "\\Draft",
             "FLAGGED": "\\Flagged", "SEEN": "\\Seen"}


def select_messages(set_text: str, messages: list[StoredMessage], by_uid: bool) -> list[int]:
    """Indexes (0-based) of the messages a sequence set names."""
    ranges = parse_sequence_set(set_text)
    if by_uid:
        if not messages:
            return []
        star = messages[-1].uid
        return [i for i, m in enumerate(messages) if in_ranges(m.uid, ranges, star)]
    if not messages:
        raise BadCommand("no messages in the mailbox")
    for a, b in ranges:
        for value in (a, b):
            if value is not None and value > len(messages):
                raise BadCommand("invalid message sequence number")
    return [i for i in range(len(messages)) if in_ranges(i + 1, ranges, len(messages))]


def search_test(args: list[Token], messages: list[StoredMessage]) -> Test:
    """The test that every criterion of a SEARCH command holds (they are ANDed)."""
    return _Keys(list(args), messages).all()


class _Keys:
    """The search criteria still to read, and the messages they are about."""

    def __init__(self, tokens: list[Token], messages: list[StoredMessage]) -> None:
        self.tokens = tokens
        self.messages = messages

    def all(self) -> Test:
        tests: list[Test] = []
        while self.tokens:
            tests.append(self.key())
        return lambda i, m: all(t(i, m) for t in tests)

    def arg(self, key: str) -> Token:
        if not self.tokens:
            raise BadCommand(f"{key} needs an argument")
        return self.tokens.pop(0)

    def key(self) -> Test:
        """Consume one search key and return its test."""
        if not self.tokens:  # NOT or OR at the end: BAD, not a crashed session
            raise BadCommand("a search key is missing")
        token = self.tokens.pop(0)
        if isinstance(token, list):
            if not token:
                raise BadCommand("empty parenthesized search key")
            return _Keys(list(token), self.messages).all()
        if not isinstance(token, Atom):
            raise BadCommand("expected a search key")
        key = token.upper()
        if key in _SIMPLE:
            return _SIMPLE[key]
        if key in _BUILDERS:
            return _BUILDERS[key](self, key)
        if SEQUENCE.match(key.split(",")[0]):
            indexes = set(select_messages(key, self.messages, by_uid=False)) if self.messages else set()
            return lambda i, m: i in indexes
        raise BadCommand(f"unknown search key {key[:40]}")


def _flag(flag: str, present: bool) -> Test:
    return lambda i, m: (flag in m.flags) == present


_SIMPLE: dict[str, Test] = {
    "ALL": lambda i, m: True,
    "RECENT": lambda i, m: m.recent,
    "OLD": lambda i, m: not m.recent,
    "NEW": lambda i, m: m.recent and "\\Seen" not in m.flags,
    **{key: _flag(flag, True) for key, flag in FLAG_KEYS.items()},
    **{f"UN{key}": _flag(flag, False) for key, flag in FLAG_KEYS.items()},
}


def _keyword(keys: _Keys, key: str) -> Test:
    word = astring(keys.arg(key)).lower()
    has = key == "KEYWORD"
    return lambda i, m: (word in {f.lower() for f in m.flags}) == has


_DATE_COMPARE = {"BEFORE": lambda d, day: d < day, "ON": lambda d, day: d == day,
                 "SINCE": lambda d, day: d >= day}


def _date(keys: _Keys, key: str) -> Test:
    day = parse_date(astring(keys.arg(key)))
    if day is None:
        raise BadCommand(f"{key} needs a date like 1-Feb-2026")
    sent = key.startswith("SENT")
    compare = _DATE_COMPARE[key.removeprefix("SENT")]

    def by_date(i: int, m: StoredMessage) -> bool:
        when = sent_date(m) if sent else m.internaldate
        return when is not None and compare(when.date(), day)
    return by_date


def _size(keys: _Keys, key: str) -> Test:
    size_text = astring(keys.arg(key))
    if not size_text.isdigit():
        raise BadCommand(f"{key} needs a number")
    size = int(size_text)
    return (lambda i, m: len(m.raw) > size) if key == "LARGER" else (lambda i, m: len(m.raw) < size)


def _address(keys: _Keys, key: str) -> Test:
    needle = astring(keys.arg(key)).lower()
    return lambda i, m: needle in header_value(m, key).lower()


def _header(keys: _Keys, key: str) -> Test:
    name, needle = astring(keys.arg(key)), astring(keys.arg(key)).lower()
    return lambda i, m: has_header(m, name) and needle in header_value(m, name).lower()


def _text(keys: _Keys, key: str) -> Test:
    needle = astring(keys.arg(key)).lower().encode("utf-8")
    part: Callable[[StoredMessage], bytes] = (lambda m: m.text) if key == "BODY" else (lambda m: m.raw)
    return lambda i, m: needle in part(m).lower()


def _not(keys: _Keys, key: str) -> Test:
    test = keys.key()
    return lambda i, m: not test(i, m)


def _or(keys: _Keys, key: str) -> Test:
    first = keys.key()
    second = keys.key()
    return lambda i, m: first(i, m) or second(i, m)


def _uid(keys: _Keys, key: str) -> Test:
    ranges = parse_sequence_set(astring(keys.arg(key)))
    messages = keys.messages
    star = messages[-1].uid if messages else 0
    return lambda i, m: bool(messages) and in_ranges(m.uid, ranges, star)


_BUILDERS: dict[str, Callable[[_Keys, str], Test]] = {
    "KEYWORD": _keyword, "UNKEYWORD": _keyword,
    **dict.fromkeys(("BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"), _date),
    "LARGER": _size, "SMALLER": _size,
    **dict.fromkeys(("FROM", "TO", "CC", "BCC", "SUBJECT"), _address),
    "HEADER": _header,
    "BODY": _text, "TEXT": _text,
    "NOT": _not, "OR": _or, "UID": _uid,
}
