"""Phone numbers published on one page: tel: links, schema.org data and visible text.

Pure: a :class:`ParsedPage` in, :class:`ContactPoint` records out, nothing raised.

Visible text is the risky source: company pages are full of digits that libphonenumber
happily accepts as numbers (dates, registry and tax ids, bank accounts, prices, file
names), and its matcher is slow on digit-heavy pages. So text goes through stages, the
cheap ones first:

1. a regex finds runs of at least six digits (separators allowed) inside one block;
2. the region's metadata (national pattern, trunk prefix) and the words around a run
   decide whether it could be a number at all, without calling libphonenumber;
3. guards drop runs that are plainly something else: dates, IBANs, tax and registry ids,
   amounts, digits glued to a word, URL or file name, digits right after "NIP"/"ИНН"...;
4. ``PhoneNumberMatcher`` at ``Leniency.VALID`` runs on that run's window only (with
   decoys blanked out, and again with slash groups rewritten, which it misses);
5. the guards run again on each match, and the words before it, a parenthesis after it or
   a short heading block above it give its label.

Stages 1 and 2 read a block's digit shape (its text with every digit written as 0) where
only the place of the digits matters, so a product grid that repeats a few dozen shapes over
thousands of blocks costs a few dozen regex scans and cache hits, not thousands.

Words, identifier keywords and currency units are data: ``auditor/data/phone_labels.toml``.

The package follows those sources and stages: ``candidates`` (digit runs, decoys, limits),
``words`` (the data file, compiled), ``labels``, ``guards``, ``matching`` (libphonenumber,
E.164 records), then the sources ``text``, ``links`` and ``structured``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import phonenumbers

from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.page import ParsedPage
from auditor.extract.phones.attributes import from_attributes
from auditor.extract.phones.labels import Blocks
from auditor.extract.phones.links import from_links
from auditor.extract.phones.matching import page_scope
from auditor.extract.phones.structured import from_structured
from auditor.extract.phones.text import from_text
from auditor.models import ContactPoint

__all__ = ["extract_phones"]

_LABEL_RANK = {"fax": 3}


def _rank(point: ContactPoint) -> int:
    """Fax beats other page labels (a fax is never a hotline); page labels beat guesses."""
    if point.label is None:
        return 0
    if point.details.get("label_source") != "page":
        return 1
    return _LABEL_RANK.get(point.label, 2)


def _dedupe(points: Iterable[ContactPoint]) -> list[ContactPoint]:
    best: dict[tuple[str, str], ContactPoint] = {}
    for point in points:
        key = (point.value, point.method)
        old = best.get(key)
        if old is None:
            best[key] = point
            continue
        keep = point if _rank(point) > _rank(old) else old
        if point.confidence > keep.confidence:
            keep = replace(keep, confidence=point.confidence)
        best[key] = keep
    return list(best.values())


def extract_phones(page: ParsedPage, context: ExtractContext = NO_CONTEXT) -> list[ContactPoint]:
    """Every phone number ``page`` publishes, deduplicated by (value, method).

    The context's ``region`` (ISO 3166 alpha-2, inferred by the caller) reads local formats;
    without one, text numbers count only in international format or next to a label word.
    """
    region = context.region
    if region is not None:
        region = region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            region = None
    found: list[ContactPoint] = []
    blocks = Blocks(page.blocks)  # folded and shaped once, for the links and the text
    with page_scope():
        found.extend(from_links(page, region, blocks))
        found.extend(from_structured(page, region))
        found.extend(from_text(page, region, blocks))
        # An attribute counts only where it adds a number: a tel: link's own title says nothing new.
        known = {point.value for point in found}
        found.extend(from_attributes(page, region, known))
    return _dedupe(found)
