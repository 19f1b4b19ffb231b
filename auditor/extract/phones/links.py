"""Numbers in ``tel:`` links, labelled by the block the link sits in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote

from auditor.extract import confidence as conf
from auditor.extract.page import THIRD_PARTY, Link, ParsedPage
from auditor.extract.phones.candidates import (
    DIGIT,
    MAX_TEL_LINKS,
    MIN_DIGITS,
    TEL_PARAMS,
)
from auditor.extract.phones.labels import Blocks, Hint, hint_for, hint_from, regions_of
from auditor.extract.phones.matching import CONFIDENCE, around, as_e164, parse_valid, phone_point
from auditor.extract.phones.text import is_international
from auditor.extract.phones.words import phone_vocab
from auditor.models import ContactPoint

# Exact prefilter of ``_tel_number``: a scheme that strips and lower-cases to "tel" or
# "callto" is one of those words (any case) between whitespace, before the first ":";
# ``\s`` and ``str.strip`` agree on whitespace. One C-level match turns other links away.
_TEL_SCHEME = re.compile(r"\s*(?:tel|callto)\s*:", re.I)


def _tel_number(link: Link) -> str | None:
    """The number part of a tel:/callto: href, percent-decoded; None for other links."""
    if _TEL_SCHEME.match(link.raw_href) is None:
        return None
    href = link.raw_href.strip()
    scheme, sep, rest = href.partition(":")
    if not sep or scheme.strip().lower() not in ("tel", "callto"):
        return None
    rest = TEL_PARAMS.sub("", unquote(rest)).lstrip("/").strip()
    return rest if len(DIGIT.findall(rest)) >= MIN_DIGITS else None


def _link_block(blocks: Blocks, link: Link) -> tuple[int, int, int] | None:
    """Where the link's text sits in the page's blocks: (block, start, end)."""
    needle = link.text.strip()
    if len(needle) < 3:
        return None
    joined = blocks.joined
    if joined is not None and "\x00" not in needle:
        # the first block holding the needle holds its first place in the joined text
        pos = joined.find(needle)
        if pos < 0:
            return None
        start = pos - (joined.rfind("\x00", 0, pos) + 1)
        return joined.count("\x00", 0, pos), start, start + len(needle)
    for index, text in enumerate(blocks.texts):
        pos = text.find(needle)
        if pos >= 0:
            return index, pos, pos + len(needle)
    return None


def from_links(page: ParsedPage, region: str | None, blocks: Blocks | None = None) -> Iterator[ContactPoint]:
    """tel: and callto: links: the page's own statement that this is a phone number.

    ``blocks``: the page's :class:`Blocks`, when the caller has them (the text reads them too).
    """
    vocab = phone_vocab()
    seen = 0
    for link in page.links:
        if link.region == THIRD_PARTY:
            continue
        number_text = _tel_number(link)
        if number_text is None:
            continue
        seen += 1
        if seen > MAX_TEL_LINKS:
            return
        blocks = blocks or Blocks(page.blocks)
        hint = hint_from(vocab.hits(f"{link.text} {link.title}"), 0)
        context = link.text or link.title
        where = _link_block(blocks, link)
        if where is not None:
            index, start, end = where
            text = blocks.texts[index]
            context = around(text, start, end)
            if not hint.label:
                seg_start = max((e for _, e in blocks.runs(index) if e <= start), default=0)
                near = hint_for(blocks, index, seg_start, start, end, len(text), None)
                hint = Hint(near.label, hint.named or near.named, hint.langs | near.langs)
        guessed = region is None and not is_international(number_text)
        regions = regions_of(hint.langs) if guessed else [region] if region else []
        parsed = parse_valid(number_text, regions) if regions or not guessed else None
        if parsed is None:
            continue
        if guessed and len(_readings(number_text, regions)) > 1:
            continue  # the label's languages point to regions that read it differently
        confidence = CONFIDENCE["tel-link"] - (conf.GUESSED_REGION_PENALTY if guessed else 0.0)
        yield phone_point(page, parsed[0], link.raw_href, "tel-link", hint.label, context, confidence)


def _readings(raw: str, regions: list[str]) -> set[str]:
    """The E.164 values ``raw`` is valid as, one region at a time."""
    return {as_e164(p[0]) for r in regions if (p := parse_valid(raw, [r])) is not None}
