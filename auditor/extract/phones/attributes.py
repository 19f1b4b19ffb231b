"""Numbers published in attributes a visitor sees on contact elements (method ``attribute``).

A tooltip (``title``), accessible label (``aria-label``), icon ``alt``, ``itemprop`` content
or ``data-phone``/``data-tel`` on a contact link, button or icon: the page model lists
only contact elements' attributes, so order numbers in titles, ``data-id`` numbers and
date pickers' labels are never read. Each number goes through the same validation as a
``tel:`` link's.
"""

from __future__ import annotations

from collections.abc import Iterator, Set

from auditor.extract import confidence as conf
from auditor.extract.page import THIRD_PARTY, ParsedPage
from auditor.extract.phones.candidates import RUN
from auditor.extract.phones.labels import hint_from, regions_of
from auditor.extract.phones.matching import CONFIDENCE, as_e164, parse_valid, phone_point
from auditor.extract.phones.text import is_international
from auditor.extract.phones.words import phone_vocab
from auditor.models import ContactPoint

_EMAIL_ATTRIBUTES = frozenset({"data-email", "data-mail"})
_RUNS_PER_VALUE = 3


def from_attributes(page: ParsedPage, region: str | None, known: Set[str] = frozenset()) -> Iterator[ContactPoint]:
    """Valid numbers in contact elements' published attributes, but those in ``known`` (E.164)."""
    vocab = phone_vocab()
    for attr in page.contact_attributes():
        if attr.region == THIRD_PARTY or attr.name in _EMAIL_ATTRIBUTES:
            continue
        for count, run in enumerate(RUN.finditer(attr.value)):
            if count >= _RUNS_PER_VALUE:
                break
            start = run.start()
            if start and attr.value[start - 1] == "+":
                start -= 1
            elif attr.value[max(0, start - 2) : start] == "00":
                start -= 2
            number_text = attr.value[start : run.end()]
            hint = hint_from(vocab.hits(f"{attr.text} {attr.value}"), 0)
            guessed = region is None and not is_international(number_text)
            regions = regions_of(hint.langs) if guessed else [region] if region else []
            parsed = parse_valid(number_text, regions) if regions or not guessed else None
            if parsed is None or as_e164(parsed[0]) in known:
                continue
            confidence = CONFIDENCE["microdata"] - (conf.GUESSED_REGION_PENALTY if guessed else 0.0)
            context = f"{attr.text} {attr.value}".strip()
            point = phone_point(
                page, parsed[0], attr.value, "attribute", hint.label, context, confidence
            )
            yield point
