"""IMAP command syntax (RFC 3501 §9): tokens, strings, sequence sets, SEARCH dates. No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from auditor.lab.imap.mailbox import MONTHS


class BadCommand(Exception):
    """Arguments that do not parse: answered with BAD."""


class Atom(str):
    """An unquoted token (also NIL, flags, sequence sets, fetch items with their [sections])."""


Token = Any  # Atom | bytes (quoted string or literal) | list[Token]
LITERAL_MARK = "\x00"  # stands in for a literal's position in the command text


def tokenize(text: str, literals: list[bytes]) -> list[Token]:
    """Atoms, strings (bytes) and parenthesized lists; a literal is wherever the mark is."""
    out: list[Token] = []
    stack: list[list[Token]] = [out]
    lits = iter(literals)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == " ":
            i += 1
        elif c == "(":
            stack[-1].append([])
            stack.append(stack[-1][-1])
            i += 1
        elif c == ")":
            if len(stack) == 1:
                raise BadCommand("unbalanced parenthesis")
            stack.pop()
            i += 1
        elif c == '"':
            value, i = _quoted(text, i + 1)
            stack[-1].append(value)
        elif c == LITERAL_MARK:
            stack[-1].append(_next_literal(lits))
            i += 1
        elif c == "{" or ord(c) < 0x20 or c == "\x7f":
            raise BadCommand(f"unexpected {c!r}")
        else:
            end = _atom_end(text, i)
            stack[-1].append(Atom(text[i:end]))
            i = end
    if len(stack) != 1:
        raise BadCommand("unbalanced parenthesis")
    return out


def _next_literal(literals: Iterator[bytes]) -> bytes:
    try:
        return next(literals)
    except StopIteration:
        raise BadCommand("literal missing") from None


def _quoted(text: str, i: int) -> tuple[bytes, int]:
    """The quoted string starting after its opening quote at ``i``, and where it ends."""
    buf: list[str] = []
    n = len(text)
    while True:
        if i >= n:
            raise BadCommand("unterminated quoted string")
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in '"\\':
            buf.append(text[i + 1])
            i += 2
        elif c == '"':
            return "".join(buf).encode("utf-8", "surrogateescape"), i + 1
        else:
            buf.append(c)
            i += 1


def _atom_end(text: str, i: int) -> int:
    """Where the atom starting at ``i`` ends; a [section] with spaces stays in it."""
    n = len(text)
    while i < n and text[i] not in ' ()"{' + LITERAL_MARK and ord(text[i]) >= 0x20:
        if text[i] == "[":  # BODY[HEADER.FIELDS (A B)]: one token up to the matching ]
            i = _section_end(text, i)
        i += 1
    return i


def _section_end(text: str, i: int) -> int:
    """The index of the ``]`` matching the ``[`` at ``i``."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "[":
            depth += 1
        elif text[j] == "]":
            depth -= 1
            if depth == 0:
                return j
    raise BadCommand("unterminated [")


def astring(token: Token) -> str:
    if isinstance(token, Atom):
        return str(token)
    if isinstance(token, bytes):
        return token.decode("utf-8", "replace")
    raise BadCommand("expected a string")


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def nstring(value: str | None) -> bytes:
    """NIL, a quoted string, or a literal for anything a quoted string cannot carry."""
    if value is None:
        return b"NIL"
    data = value.encode("utf-8")
    if any(b in data for b in (b"\r", b"\n", b"\x00")) or not value.isascii() or len(data) > 512:
        return b"{%d}\r\n" % len(data) + data
    return quote(value).encode("ascii")


SEQUENCE = re.compile(r"^(\d+|\*)(?::(\d+|\*))?$")


def parse_sequence_set(text: str) -> list[tuple[int | None, int | None]]:
    """``1,3:5,7:*`` -> [(1, 1), (3, 5), (7, None)] (None is ``*``); BAD when malformed."""
    ranges: list[tuple[int | None, int | None]] = []
    for part in text.split(","):
        m = SEQUENCE.match(part)
        if not m:
            raise BadCommand(f"invalid sequence set {text!r}")
        a = None if m.group(1) == "*" else int(m.group(1))
        b = a if m.group(2) is None else (None if m.group(2) == "*" else int(m.group(2)))
        if a == 0 or b == 0:
            raise BadCommand("0 is not a valid message number")
        ranges.append((a, b))
    return ranges


def in_ranges(value: int, ranges: list[tuple[int | None, int | None]], star: int) -> bool:
    for a, b in ranges:
        lo, hi = sorted((star if a is None else a, star if b is None else b))
        if lo <= value <= hi:
            return True
    return False




def parse_date(text: str) -> date | None:
    """A SEARCH date: ``1-Feb-1994``."""
    m = re.fullmatch(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})", text.strip())
    if not m or m.group(2).title() not in MONTHS:
        return None
    try:
        return date(int(m.group(3)), MONTHS.index(m.group(2).title()) + 1, int(m.group(1)))
    except ValueError:
        return None


