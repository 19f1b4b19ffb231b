"""Service hours: when a published channel is staffed, normalized to OSM style.

Hours are read from visible text in many languages (day words, day ranges, time ranges,
"closed", always-open phrases) and from schema.org data (``openingHours``,
``openingHoursSpecification``, ``hoursAvailable``). The value is an ``opening_hours``-like
string ("Mo-Fr 08:00-17:00; Sa 09:00-13:00" or "24/7") so that the same schedule seen on
several pages deduplicates. Vocabulary lives in ``auditor/data/hours.toml``.

The package follows the steps: ``vocabulary`` (the data file, compiled), ``lexing``
(a block into tokens), ``schedules`` (tokens into schedules, rendered), ``blocks`` (which
blocks hold hours; parse_text), ``attach`` (which contact point hours describe) and
``structured`` (schema.org data).
"""

from __future__ import annotations

from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.hours.attach import (
    CONFIDENCE,
    BlockViews,
    Target,
    applies_to,
    hours_point,
    targets_of,
)
from auditor.extract.hours.blocks import context_of, mask_phones, parse_text, raw_of
from auditor.extract.hours.schedules import Schedule, render
from auditor.extract.hours.structured import structured_hours
from auditor.extract.hours.vocabulary import DAY_INDEX, DAYS, SCHEMA_DAYS, digit_shapes, vocab
from auditor.extract.page import THIRD_PARTY, ParsedPage
from auditor.models import ContactPoint

__all__ = [
    "CONFIDENCE", "DAYS", "DAY_INDEX", "SCHEMA_DAYS", "Schedule",
    "digit_shapes", "extract_hours", "parse_text", "render", "vocab",
]


def extract_hours(page: ParsedPage, context: ExtractContext = NO_CONTEXT) -> list[ContactPoint]:
    """Service hours on the page, each tied to the contact point it describes if any.

    The points it may describe are those the other extractors found (``context.found``).
    """
    contacts = context.found
    targets: list[Target] | None = None  # parsed when first needed: most pages hold no hours
    out: list[ContactPoint] = []
    seen: set[tuple[str, str | None]] = set()
    if "ld+json" in page.html or "itemscope" in page.html:
        targets = targets_of(contacts)
        for point in structured_hours(page, targets):
            key = (point.value, point.details.get("applies_to"))
            if key not in seen:
                seen.add(key)
                out.append(point)
    # a third party's entry (the host's office hours) is not the company's: left blank
    blocks = [b.text if b.region != THIRD_PARTY else "" for b in page.blocks]
    views = BlockViews()
    for sched in parse_text(mask_phones(blocks, contacts), page.lang):
        rendered = render(sched)
        if rendered is None:
            continue
        value, spans, always = rendered
        if targets is None:
            targets = targets_of(contacts)
        applies = applies_to(blocks, sched, targets, views)
        key = (value, applies)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            hours_point(
                page,
                value,
                raw_of(blocks, sched),
                "text",
                spans,
                always,
                applies,
                sched,
                context_of(blocks, sched),
            )
        )
    return out
