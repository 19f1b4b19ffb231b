"""Numbers in visible text: candidate runs, the region's metadata, guards, then the matcher."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumber

from auditor.extract import confidence as conf
from auditor.extract.page import THIRD_PARTY, ParsedPage
from auditor.extract.phones.candidates import DECOY_RUNS, DIGIT, GROUPED, MIN_DIGITS
from auditor.extract.phones.guards import context_verdict, rejected
from auditor.extract.phones.labels import Blocks, Hint, Run, hint_for, regions_of
from auditor.extract.phones.matching import Found, around, as_e164, matches, phone_point
from auditor.models import ContactPoint


def from_text(page: ParsedPage, region: str | None, blocks: Blocks | None = None) -> Iterator[ContactPoint]:
    """Numbers in visible text, one block at a time (never across blocks).

    ``blocks``: the page's :class:`Blocks`, when the caller has them (the links read them too).
    """
    blocks = blocks or Blocks(page.blocks)
    trunk = _written_trunk(region) if region is not None else None
    found: list[ContactPoint] = []  # appended to, not yielded: a product grid has thousands of blocks
    for index in blocks.with_runs:  # in page order
        if page.blocks[index].region != THIRD_PARTY:  # not an agency's, host's number
            _from_block(page, blocks, index, blocks.plan(index), (region, trunk), found)
    yield from found


class _Decoys:
    """A block's decoy spans, found only when a run needs them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._spans: list[tuple[int, int]] | None = None
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._verdicts: dict[tuple[int, int], int] = {}

    @property
    def spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            self._spans = [m.span() for m in DECOY_RUNS.finditer(self.text)]
            self._starts = [a for a, _ in self._spans]
            self._ends = [b for _, b in self._spans]
        return self._spans

    def near(self, start: int, end: int) -> list[tuple[int, int]]:
        """The decoys overlapping ``text[start:end]``: all that the guards and the mask read of
        them for a span inside it. A table of dates holds hundreds; a number touches a few.

        ``finditer`` finds them in order and apart, so starts and ends both increase.
        """
        spans = self.spans
        first = bisect_right(self._ends, start)  # the first ending after ``start``
        return spans[first : bisect_left(self._starts, end, first)]  # ... up to the first at ``end``

    def verdict(self, text: str, lead: int, end: int) -> int:
        """``context_verdict`` of the block's ``text``, once per span: a run and the match
        spanning it are judged on the same words around them."""
        key = (lead, end)
        found = self._verdicts.get(key)
        if found is None:
            found = self._verdicts[key] = context_verdict(text, lead, end)
        return found

    def reject(self, start: int, end: int) -> bool:
        return rejected(self.text, start, end, self.near(start, end), whole=True, verdict=self.verdict)


def _from_block(
    page: ParsedPage,
    blocks: Blocks,
    index: int,
    plan: tuple[Run, ...],
    where: tuple[str | None, str | None],
    found: list[ContactPoint],
) -> None:
    """The numbers of one block's candidate runs (``plan``), after the cheap tests, onto
    ``found``; ``where``: the region and its written trunk prefix."""
    region, trunk = where
    text = blocks.texts[index]
    decoys: _Decoys | None = None  # made when a run is first judged: most blocks' runs are not
    previous: Hint | None = None
    above: bool | None = None  # ``blocks.named_above(index)``, asked once per block at most
    for start, end, lead, limit, seg_start, too_long, named_here in plan:
        if too_long:
            previous = None
            continue
        window = text[lead:end]
        # a label word may name the run: words before it, a parenthesis after it, the
        # number before it, or (``named_above``) a heading-like block above
        named = named_here or (previous is not None and previous.named)
        if not named and above is None:
            above = blocks.named_above(index)
        international = is_international(window)
        if trunk and text[start] != trunk[0] and not international:
            # without the written trunk prefix a local number is plausible at best when
            # a label may name it (``_plausible``)
            if not (named or above):
                previous = None
                continue
            named = True
        if not (named or above or international or _may_be_plausible(window, region)):
            previous = None  # the cheap half of ``_plausible`` says it is not True: skipped below
            continue
        plausible = _plausible(window, region)
        if plausible is False or (plausible is None and not (named or above)):
            previous = None
            continue
        if decoys is None:
            decoys = _Decoys(text)
        if plausible and decoys.reject(start, end):  # the guards first: most are dates
            previous = None
            continue
        hint = previous = hint_for(blocks, index, seg_start, lead, end, limit, previous)
        if not plausible:
            if not hint.named:
                continue
            if decoys.reject(start, end):
                previous = None
                continue
        _run_points(page, blocks, index, (lead, end, seg_start, limit), hint, previous, decoys, region, found)


def _run_points(
    page: ParsedPage,
    blocks: Blocks,
    index: int,
    run: tuple[int, int, int, int],
    hint: Hint,
    previous: Hint | None,
    decoys: _Decoys,
    region: str | None,
    found: list[ContactPoint],
) -> None:
    """The matcher on one run's window (decoys blanked), each match guarded and labelled, onto ``found``."""
    lead, end, seg_start, limit = run
    text = decoys.text
    covered = lead
    for match, guessed in _window_matches(_masked(text[lead:end], lead, decoys.near(lead, end)), region, hint):
        a, b = lead + match.start, lead + match.end
        if DIGIT.search(text, covered, a):  # an inner slice of a longer figure
            continue
        if a > covered:
            hint = hint_for(blocks, index, seg_start, a, b, limit, previous)
        if not _acceptable(text, a, b, match.number, hint, decoys.near(a, b), decoys.verdict):
            continue
        seg_start = covered = b
        # raw and context as written on the page: ``text`` is the width-folded block
        found.append(_text_point(page, (text, page.blocks[index].text), a, b, match.number, hint, guessed))


def _masked(window: str, offset: int, decoys: list[tuple[int, int]]) -> str:
    """Blank out decoys inside a window, same length: "06 1 234 5678 2024-05-10"."""
    for a, b in decoys:
        a, b = max(a - offset, 0), min(b - offset, len(window))
        if a < b:
            window = window[:a] + " " * (b - a) + window[b:]
    return window


_NON_DIGIT = re.compile(r"\D")


def is_international(window: str) -> bool:
    return window.lstrip("(").startswith(("+", "00"))


def _may_be_plausible(window: str, region: str | None) -> bool:
    """False where ``_plausible`` cannot answer True, found without the digits' pattern: a
    local number with no region, or a bare digit string without a trunk "0"."""
    if is_international(window):
        return True
    return region is not None and not (window.isdigit() and not window.startswith("0"))


def _plausible(window: str, region: str | None) -> bool | None:
    """Cheap checks that spare the matcher most digit runs of a digit-heavy page.

    True: worth matching. None: worth matching only if a label word names it. False: no
    label can make it a number of ``region`` (its digits do not fit the national pattern).
    Without a label word, a local number must be written in groups or start with a trunk
    "0" (bare digit strings are order numbers and ids), and start with the trunk prefix
    where the region always writes one. With no region, only international numbers count.
    """
    if is_international(window):
        return True
    if region is None:
        return None
    digits = _NON_DIGIT.sub("", window)
    if not _fits_region(digits, region):
        return False
    if window.isdigit() and not window.startswith("0"):
        return None
    trunk = _written_trunk(region)
    return None if trunk and not digits.startswith(trunk) else True


@lru_cache(maxsize=256)
def _written_trunk(region: str) -> str | None:
    """The trunk prefix that local numbers of ``region`` are always written with, if any.

    From the metadata's formatting rules: DE "0", HU "06", GB "0" are always written, while
    in TR or RU ("444 0 444", "495 123-45-67") the trunk is optional.
    """
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    trunk = meta.national_prefix
    if not trunk or not meta.number_format:
        return None
    written = [
        bool(f.national_prefix_formatting_rule)
        and trunk in (f.national_prefix_formatting_rule or "")
        and not f.national_prefix_optional_when_formatting
        for f in meta.number_format
    ]
    return trunk if sum(written) * 2 >= len(written) else None


@lru_cache(maxsize=256)
def _national_shape(region: str) -> tuple[re.Pattern[str], re.Pattern[str] | None, int] | None:
    """The region's national number pattern, trunk prefix and longest length (metadata)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None:
        return None
    desc = meta.general_desc
    if desc is None or not desc.national_number_pattern or meta.national_prefix_transform_rule:
        return None
    trunk = meta.national_prefix_for_parsing
    longest = max(desc.possible_length or (17,))
    try:
        return (
            re.compile(desc.national_number_pattern),
            re.compile(trunk) if trunk else None,
            longest,
        )
    except re.error:
        return None


def _fits_region(digits: str, region: str) -> bool:
    """Could ``digits`` (one run) hold a national number of ``region``?

    A run longer than one number may hold two ("06 1 234 5678 06 30 123 4567"): those go to
    the matcher, which splits them.
    """
    shape = _national_shape(region)
    if shape is None:
        return True
    pattern, trunk, longest = shape
    if len(digits) > longest + 3 or pattern.fullmatch(digits):
        return True
    prefix = trunk.match(digits) if trunk else None
    return bool(prefix and prefix.end() and pattern.fullmatch(digits[prefix.end() :]))


def _acceptable(
    text: str,
    start: int,
    end: int,
    number: PhoneNumber,
    hint: Hint,
    decoys: list[tuple[int, int]],
    verdict: Callable[[str, int, int], int] = context_verdict,
) -> bool:
    """Guards on one match: shape, decoys, and numbers that only a label makes believable."""
    raw = text[start:end]
    if len(DIGIT.findall(raw)) < MIN_DIGITS:
        return False
    if not hint.named and number.country_code_source == _WITHOUT_PLUS:
        return False  # "364 438 9131" read as +36 44 389 131
    return not rejected(text, start, end, decoys, whole=False, verdict=verdict)


_WITHOUT_PLUS = phonenumbers.CountryCodeSource.FROM_NUMBER_WITHOUT_PLUS_SIGN


def _window_matches(window: str, region: str | None, hint: Hint) -> list[tuple[Found, bool]]:
    """Matches in one window; with no region, local numbers only next to a label word.

    The region of such a number comes from the language of the label word; when its
    languages point to several regions, all must read the digits as the same number.
    """
    if region is not None or is_international(window):
        return [(f, False) for f in matches(window, region)]
    by_value: dict[str, Found] = {}
    for guess in regions_of(hint.langs):
        for f in matches(window, guess):
            by_value.setdefault(as_e164(f.number), f)
    if len(by_value) != 1:
        return []
    return [(next(iter(by_value.values())), True)]


def _text_point(
    page: ParsedPage,
    texts: tuple[str, str],
    start: int,
    end: int,
    number: PhoneNumber,
    hint: Hint,
    guessed: bool,
) -> ContactPoint:
    """``texts``: the block as the matcher read it (width-folded) and as the page shows it."""
    text, shown = texts
    raw = text[start:end]
    confidence = conf.TEXT_BASE
    confidence += conf.TEXT_NAMED if hint.named else 0.0
    confidence += conf.TEXT_INTERNATIONAL if raw.lstrip("(").startswith(("+", "00")) else 0.0
    confidence += conf.TEXT_GROUPED if GROUPED.search(raw) else 0.0
    confidence -= conf.GUESSED_REGION_PENALTY if guessed else 0.0
    return phone_point(page, number, shown[start:end], "text", hint.label, around(shown, start, end), confidence)
