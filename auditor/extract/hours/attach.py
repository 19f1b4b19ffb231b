"""Attaching hours to the contact point they describe, and the hours contact point itself.

Hours apply to a phone number or email address written in the same or a neighbouring block
(or named by the structured item that holds them); otherwise to the page as a whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers

from auditor.extract import confidence as conf
from auditor.extract.hours.schedules import Schedule
from auditor.extract.hours.vocabulary import DAYS
from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint, Method

CONFIDENCE = {"days": conf.STRUCTURED, "always": conf.LIKELY, "bare": conf.WEAK, "structured": conf.MACHINE}


@dataclass(frozen=True)
class Target:
    value: str
    raw: str
    digits: str  # national significant number for phones
    email: str


def _national_digits(value: str) -> str:
    """A phone value's national significant number (its last digits if it does not parse)."""
    try:
        return phonenumbers.national_significant_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", value)[-9:]


def targets_of(contacts: Sequence[ContactPoint]) -> list[Target]:
    out: list[Target] = []
    national: dict[str, str] = {}  # a number found as a link and in the text is parsed once
    for c in contacts:
        if c.kind == "phone":
            digits = national.get(c.value)
            if digits is None:
                digits = national[c.value] = _national_digits(c.value)
            out.append(Target(c.value, c.raw.strip(), digits if len(digits) >= 6 else "", ""))
        elif c.kind == "email":
            out.append(Target(c.value, c.raw.strip(), "", c.value.lower()))
    return out


class BlockViews(dict[str, tuple[str, list[int], str]]):
    """Per block text, computed once for every target and schedule: (lowered text, digit
    positions, digits)."""

    def __missing__(self, text: str) -> tuple[str, list[int], str]:
        positions = [i for i, ch in enumerate(text) if ch.isdigit()]
        view = self[text] = (text.lower(), positions, "".join(text[i] for i in positions))
        return view


def _find_target(text: str, target: Target, views: BlockViews | None = None) -> int | None:
    """Where ``target`` appears in ``text`` (char offset), or None."""
    if target.raw and len(target.raw) >= 5:
        pos = text.find(target.raw)
        if pos >= 0:
            return pos
    if not (target.email or target.digits):
        return None
    lowered, positions, digits = (BlockViews() if views is None else views)[text]
    if target.email:
        pos = lowered.find(target.email)
        return pos if pos >= 0 else None
    pos = digits.find(target.digits)
    if pos >= 0:
        return positions[pos]
    return None


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
        for t in targets:
            pos = _find_target(blocks[b], t, views)
            if pos is not None:
                dist = abs(pos - anchor) if b == first else 10_000 + b
                if best is None or dist < best[0]:
                    best = (dist, t.value)
    if best is not None:
        return best[1]
    for b, pick_last in ((first - 1, True), (last + 1, False)):
        if not 0 <= b < len(blocks):
            continue
        hits = [(pos, t.value) for t in targets if (pos := _find_target(blocks[b], t, views)) is not None]
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
