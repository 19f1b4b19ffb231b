"""Labels: what the words before a number, a parenthesis after it or a short heading above it say.

A page's blocks are read once per digit shape (:class:`_Blocks`), so a product grid
that repeats a few dozen shapes costs a few dozen scans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from auditor.extract.hours import digit_shapes
from auditor.extract.page import TextBlock
from auditor.extract.phones.candidates import (
    DEVICE_LABELS,
    DIGIT,
    HEADING_CHARS,
    HEADING_LOOKBACK,
    MAX_RUN_DIGITS,
    MIN_DIGITS,
    PARENTHETICAL,
    RUN,
    SEGMENT_CHARS,
    run_start,
)
from auditor.extract.phones.words import Hit, phone_vocab
from auditor.extract.region import region_from_lang
from auditor.text import fold_width


@dataclass(frozen=True)
class Hint:
    """What the words around a number say about it."""

    label: str | None = None  # a label the page gives
    named: bool = False  # a phone or label word stands next to the number
    langs: frozenset[str] = frozenset()


_NO_HINT = Hint()


def pick_label(hits: tuple[Hit, ...], text_len: int) -> str | None:
    """The nearest specific label; a fax word close to the number wins ("Tel./Fax:")."""
    specific = [h for h in hits if h.word.label]
    if not specific:
        return None
    if any(h.word.label == "fax" and text_len - h.start <= 30 for h in specific):
        return "fax"
    # "Notdienst-Hotline (mobil):": what the line is for beats what kind of line it is
    purpose = [h for h in specific if h.word.label not in DEVICE_LABELS]
    return (purpose or specific)[-1].word.label


def hint_from(hits: tuple[Hit, ...], text_len: int) -> Hint:
    if not hits:
        return _NO_HINT
    langs = frozenset().union(*(h.word.langs for h in hits))
    return Hint(pick_label(hits, text_len), True, langs)


_V = TypeVar("_V")


class _PerShape(dict[str, _V]):
    """shape -> ``compute(shape)``, computed on first use."""

    def __init__(self, compute: Callable[[str], _V]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, shape: str) -> _V:
        value = self[shape] = self.compute(shape)
        return value


_NOT_HEADING, _HEADING, _NAMING_HEADING = 0, 1, 2


class Blocks:
    """A page's text blocks with what the text pass asks of them repeatedly, cached.

    Digit runs, heading tests and label words depend on where the digits are, never on
    which digits they are, so they are worked out once per digit shape (``digit_shapes``):
    a product grid repeats a few dozen shapes over thousands of blocks. Label words are
    looked up in the shape too (the same words at the same offsets), so the lexicon's
    cache serves every tile of a grid.
    """

    def __init__(self, blocks: list[TextBlock]) -> None:
        # matchers read full-width and non-ASCII digits as ASCII; the same length, so a
        # match's offsets cut its raw text from the block's own (``TextBlock.text``)
        self.texts, astral = _width_folded([b.text for b in blocks])
        self.shapes = digit_shapes(self.texts)
        # Gate: a run holds at least MIN_DIGITS characters that ``\d`` matches. In a shape
        # those are its "0"s (ASCII digits, and the BMP's other decimal digits after
        # ``fold_width``) and decimal digits beyond the BMP, which fold_width keeps. On a
        # page without characters beyond the BMP (nearly all), a shape with fewer "0"s
        # holds no run: neither its runs nor its plan need working out.
        self._few_digits = 0 if astral else MIN_DIGITS
        self._runs = _PerShape(self._runs_of)
        self._heading = _PerShape(self._heading_kind)
        self._plans = _PerShape(self._plan)

    def runs(self, index: int) -> tuple[tuple[int, int], ...]:
        """(start, end) of every digit run of block ``index``."""
        return self._runs[self.shapes[index]]

    def _heading_kind(self, shape: str) -> int:
        """A short block with words and no digit run may title the numbers below it."""
        if len(shape) > HEADING_CHARS or not _LETTER.search(shape) or self._runs[shape]:
            return _NOT_HEADING
        return _NAMING_HEADING if phone_vocab().hits(shape) else _HEADING

    def heading(self, index: int) -> bool:
        return self._heading[self.shapes[index]] != _NOT_HEADING

    def headings_above(self, index: int) -> Iterator[tuple[str, bool]]:
        """Up to two heading-like blocks right above ``index``, nearest first (as shapes),
        each with whether it lists topics. A card often puts a line of topics between its
        title and its number ("Klienditeenindus" / "Paketid, arved, lepingud" / "Tel. ..."):
        one such line, with a comma and up to twice a heading's length, is passed over."""
        j = index - 1
        passed_topics = False
        for _ in range(HEADING_LOOKBACK):
            if j < 0:
                return
            shape = self.shapes[j]
            if self.heading(j):
                yield shape, "," in shape
            elif not passed_topics and self._topics(shape):
                passed_topics = True
                yield shape, True
            else:
                return
            j -= 1

    def _topics(self, shape: str) -> bool:
        return (
            "," in shape and len(shape) <= 2 * HEADING_CHARS and not self._runs[shape]
            and _LETTER.search(shape) is not None
        )

    def named_above(self, index: int) -> bool:
        """Whether a heading-like block right above ``index`` holds a phone or label word."""
        for j in range(index - 1, max(-1, index - 1 - HEADING_LOOKBACK), -1):
            kind = self._heading[self.shapes[j]]
            if kind != _HEADING:
                return kind == _NAMING_HEADING
        return False

    def plans(self) -> list[tuple[Run, ...]]:
        """The digit runs of every block, with what their shape says about them."""
        plans, few = self._plans, self._few_digits
        return [plans[shape] if shape.count("0") >= few else () for shape in self.shapes]

    def _runs_of(self, shape: str) -> tuple[tuple[int, int], ...]:
        if shape.count("0") < self._few_digits:
            return ()  # the gate (``__init__``)
        return tuple(m.span() for m in RUN.finditer(shape))

    def _plan(self, shape: str) -> tuple[Run, ...]:
        runs = self._runs[shape]
        if not runs:
            return ()
        plan = []
        boundary = 0
        hits = phone_vocab().hits
        limits = [start for start, _ in runs[1:]] + [len(shape)]
        for (start, end), limit in zip(runs, limits, strict=True):
            lead = run_start(shape, start)
            segment = shape[max(boundary, lead - SEGMENT_CHARS) : lead]
            plan.append(
                Run(
                    start,
                    end,
                    lead,
                    limit,
                    boundary,  # seg_start
                    end - start > MAX_RUN_DIGITS and len(DIGIT.findall(shape, start, end)) > MAX_RUN_DIGITS,
                    bool(_LETTER.search(segment) and hits(segment)) or PARENTHETICAL.match(shape, end) is not None,
                )
            )
            boundary = end
        return tuple(plan)


_LETTER = re.compile(r"[^\W\d_]")
_NUL = "\x00"


def _width_folded(texts: list[str]) -> tuple[list[str], bool]:
    """``fold_width`` of every text, in one call for the whole page, and whether the page
    holds a character beyond the BMP.

    The fold maps one character to one and leaves NUL alone, so the joined text splits back
    into the blocks; a block holding NUL itself is folded on its own. UTF-16 spells exactly
    the characters beyond the BMP with two units (lone surrogates pass as one).
    """
    joined = _NUL.join(texts)
    if joined.isascii():
        return texts, False
    astral = len(joined.encode("utf-16-le", "surrogatepass")) > 2 * len(joined)
    parts = fold_width(joined).split(_NUL)
    return (parts if len(parts) == len(texts) else [fold_width(t) for t in texts]), astral


class Run(NamedTuple):
    """One digit run of a block, and what the block's shape says about it."""

    start: int
    end: int
    lead: int  # start with an opening "+" or "(" (``run_start``)
    limit: int  # where the next run starts: a parenthetical label stops there
    seg_start: int  # where the previous run ends: label words are read from here
    too_long: bool  # more than MAX_RUN_DIGITS digits: a table of figures
    named_here: bool  # a phone or label word before it, or a parenthesis right after it


def hint_for(
    blocks: Blocks,
    index: int,
    seg_start: int,
    start: int,
    end: int,
    limit: int,
    previous: Hint | None,
) -> Hint:
    """Label a number at ``start:end`` of block ``index``.

    Looks at the words since the previous number in the block, then a short parenthesis
    right after the number, then up to two short heading-like blocks above it. A number that
    only follows another one ("06 1 234 5678, 06 30 123 4567") shares its label.
    """
    vocab = phone_vocab()
    shape = blocks.shapes[index]  # label words are the same in the shape, at the same offsets
    segment = shape[max(seg_start, start - SEGMENT_CHARS) : start]
    hits = vocab.hits(segment)
    if not hits and previous is not None and vocab.joiner.fullmatch(segment):
        return previous
    own = hint_from(hits, len(segment))
    if own.label:
        return own
    paren = PARENTHETICAL.match(shape, end, min(limit, end + 40))
    if paren:
        after = hint_from(vocab.hits(paren.group(1)), 0)
        if after.label:
            return after
        own = Hint(None, own.named or after.named, own.langs | after.langs)
    topics: Hint | None = None  # a line of topics names the number only if no title does
    for heading, lists_topics in blocks.headings_above(index):
        above = vocab.hits(heading)
        if above:
            found = hint_from(above, len(heading))
            hint = Hint(found.label, True, own.langs | found.langs)
            if not lists_topics or not found.label:
                return hint if hint.label or topics is None else topics
            topics = topics or hint
    return topics or own


def regions_of(langs: Iterable[str]) -> list[str]:
    """Regions where the languages of label words are spoken, for pages with no region."""
    found = {region_from_lang(lang) for lang in langs}
    return sorted(r for r in found if r)
