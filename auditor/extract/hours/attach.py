"""Attaching hours to the contact point they describe, and the hours contact point itself.

Hours apply to a phone number or email address written in the same or a neighbouring block
(or named by the structured item that holds them); otherwise to the page as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import phonenumbers

from auditor.extract import confidence as conf
from auditor.extract.hours.schedules import Schedule
from auditor.extract.hours.vocabulary import DAYS
from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint, Method

CONFIDENCE = {"days": conf.STRUCTURED, "always": conf.LIKELY, "bare": conf.WEAK, "structured": conf.MACHINE}


class Target:
    """A contact point hours may apply to: its value, its raw text, a phone's national
    significant number (``digits``, "" when shorter than 6) and an email's address.

    A phone's number is parsed when its digits are first read: a block's digits that lack
    the number's last six (``tail``) cannot hold it, so most blocks never need them.
    """

    __slots__ = ("_digits", "_nationals", "email", "raw", "tail", "value")

    def __init__(
        self, value: str, raw: str, digits: str | None, email: str, tail: str = "", nationals: dict[str, str] | None = None
    ) -> None:
        self.value = value
        self.raw = raw
        self.email = email
        self.tail = tail
        self._digits = digits
        self._nationals = {} if nationals is None else nationals

    @property
    def digits(self) -> str:
        if self._digits is None:
            digits = self._nationals.get(self.value)
            if digits is None:  # a number found as a link and in the text is parsed once
                digits = self._nationals[self.value] = _national_digits(self.value)
            self._digits = digits if len(digits) >= 6 else ""
        return self._digits

    @property
    def phone(self) -> bool:
        return self._digits is None or bool(self._digits)

    def __repr__(self) -> str:
        return f"Target({self.value!r}, {self.raw!r}, {self._digits!r}, {self.email!r})"


def _national_digits(value: str) -> str:
    """A phone value's national significant number (its last digits if it does not parse)."""
    try:
        return phonenumbers.national_significant_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", value)[-9:]


_E164 = re.compile(r"\+([1-9][0-9]{5,16})")


def _tail(value: str) -> str:
    """The last six digits of an E.164 value whose national number (``_national_digits``)
    is sure to end with them, else "".

    Parsing "+" and digits takes the country code off the front and, where the country's
    metadata says so, a national prefix: what is left ends the value. Only a prefix
    transform rule (Argentina's "9", Brazil's carrier codes) could write other digits;
    a number that does not parse falls back to the value's last digits, which end it too.
    """
    m = _E164.fullmatch(value)
    if m is None:
        return ""
    digits = m.group(1)
    for n in (1, 2, 3):  # country codes are prefix-free: the first known one is the code
        code = int(digits[:n])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            region = phonenumbers.region_code_for_country_code(code)
            metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
            if metadata is None or metadata.national_prefix_transform_rule:
                return ""
            return digits[-6:]
    return ""


def targets_of(contacts: Sequence[ContactPoint]) -> list[Target]:
    out: list[Target] = []
    nationals: dict[str, str] = {}  # shared by the page's targets
    tails: dict[str, str] = {}  # a number found as a link and in the text is looked up once
    for c in contacts:
        if c.kind == "phone":
            tail = tails.get(c.value)
            if tail is None:
                tail = tails[c.value] = _tail(c.value)
            out.append(Target(c.value, c.raw.strip(), None, "", tail, nationals))
        elif c.kind == "email":
            out.append(Target(c.value, c.raw.strip(), "", c.value.lower()))
    return out


_NOT_ASCII_DIGITS = re.compile(r"[^0-9]+")


class BlockViews(dict[str, tuple[str, str]]):
    """Per block text, computed once for every target and schedule: (lowered text, digits),
    digits as ``str.isdigit`` says (superscripts and full-width forms too)."""

    def __missing__(self, text: str) -> tuple[str, str]:
        # in ASCII, str.isdigit is 0-9: one regex call instead of a test per character
        digits = _NOT_ASCII_DIGITS.sub("", text) if text.isascii() else "".join(filter(str.isdigit, text))
        view = self[text] = (text.lower(), digits)
        return view


def _digit_offset(text: str, n: int) -> int:
    """The offset in ``text`` of its ``n``-th digit (from 0, as ``str.isdigit`` says)."""
    for i, ch in enumerate(text):
        if ch.isdigit():
            if not n:
                return i
            n -= 1
    raise ValueError(n)


def _hits(text: str, targets: list[Target], views: BlockViews) -> list[tuple[int, str]]:
    """(offset, value) of every target found in ``text``, in the targets' order: a raw text
    of five characters or more as written, else an email address in the lowered text or a
    phone's national number in the text's digits."""
    found: list[tuple[int, str]] = []
    view: tuple[str, str] | None = None
    for target in targets:
        raw = target.raw
        if raw and len(raw) >= 5:
            pos = text.find(raw)
            if pos >= 0:
                found.append((pos, target.value))
                continue
        if target.email:
            if view is None:
                view = views[text]
            pos = view[0].find(target.email)
            if pos >= 0:
                found.append((pos, target.value))
            continue
        if not target.phone:
            continue
        if view is None:
            view = views[text]
        if target.tail and target.tail not in view[1]:
            continue  # the number ends with its tail (Target): not here, and not parsed
        if target.digits and (pos := view[1].find(target.digits)) >= 0:
            found.append((_digit_offset(text, pos), target.value))
    return found


def applies_to(
    blocks: Sequence[str], sched: Schedule, targets: list[Target], views: BlockViews | None = None
) -> str | None:
    """The contact point the schedule describes: same block(s) first, then neighbours.

    ``views``: shared by the calls for one page's schedules.
    """
    if not targets or not sched.pieces:
        return None
    views = BlockViews() if views is None else views
    first, last = min(sched.pieces), max(sched.pieces)
    anchor = sched.pieces[first][0]
    best: tuple[int, str] | None = None
    for b in range(first, last + 1):
        for pos, value in _hits(blocks[b], targets, views):
            dist = abs(pos - anchor) if b == first else 10_000 + b
            if best is None or dist < best[0]:
                best = (dist, value)
    if best is not None:
        return best[1]
    for b, pick_last in ((first - 1, True), (last + 1, False)):
        if not 0 <= b < len(blocks):
            continue
        hits = _hits(blocks[b], targets, views)
        if hits:
            hits.sort()
            return hits[-1][1] if pick_last else hits[0][1]
    return None


def hours_point(
    page: ParsedPage,
    value: str,
    raw: str,
    method: Method,
    spans: list[dict[str, Any]],
    always: bool,
    applies: str | None,
    sched: Schedule,
    context: str,
) -> ContactPoint:
    details: dict[str, Any] = {"always_open": always, "spans": spans, "applies_to": applies}
    if sched.closed - set(sched.per_day):
        details["closed"] = [DAYS[d] for d in sorted(sched.closed - set(sched.per_day))]
    if method == "text":
        confidence = (
            CONFIDENCE["always"]
            if sched.kind == "always"
            else (CONFIDENCE["days"] if sched.per_day else CONFIDENCE["bare"])
        )
    else:
        confidence = CONFIDENCE["structured"]
    return ContactPoint(
        kind="hours",
        value=value,
        raw=raw,
        label=None,
        method=method,
        page_url=page.url,
        context=context,
        confidence=confidence,
        details=details,
    )
