"""Labels: what the words before a number, a parenthesis after it or a short heading above it say.

A page's blocks are read once per digit shape (:class:`_Blocks`), so a product grid
that repeats a few dozen shapes costs a few dozen scans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, TypeVar

from auditor.extract.hours import digit_shapes
from auditor.extract.page import TextBlock
from auditor.extract.phones.candidates import (
    DEVICE_LABELS,
    DIGIT,
    HEADING_CHARS,
    HEADING_LOOKBACK,
    MAX_RUN_DIGITS,
    PARENTHETICAL,
    RUN,
    SEGMENT_CHARS,
    SHAPE_RUN,
    run_start,
)
from auditor.extract.phones.words import Hit, phone_vocab
from auditor.extract.region import region_from_lang
from auditor.text import fold_width


class Hint(NamedTuple):
    """What the words around a number say about it (a tuple: several are made per number)."""

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
    langs = hits[0].word.langs if len(hits) == 1 else frozenset().union(*(h.word.langs for h in hits))
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

    Digit runs are found in one regex pass over the page's distinct digit shapes (a text
    with every digit written as 0), joined by NUL, which no run can hold; each run goes to
    its shape, and only blocks whose shape holds a run are looked at again. Heading tests and label words depend on where the digits are, never on which digits
    they are, so they are worked out once per digit shape: a product grid repeats a few
    dozen shapes over thousands of blocks. Label words are looked up in the shape too (the
    same words at the same offsets), so the lexicon's cache serves every tile of a grid.
    """

    def __init__(self, blocks: list[TextBlock]) -> None:
        # matchers read full-width and non-ASCII digits as ASCII; the same length, so a
        # match's offsets cut its raw text from the block's own (``TextBlock.text``)
        self.texts, joined = _width_folded([b.text for b in blocks])
        self.joined = joined  # the folded texts joined by NUL (None: a block holds NUL)
        # In a shape, ASCII digits are "0"s, and so are the BMP's other decimal digits after
        # ``fold_width``; decimal digits beyond the BMP are kept. On a page without characters
        # beyond the BMP (nearly all), "0" is the only character ``\d`` matches in a shape.
        if joined is not None:
            shaped = joined.encode("utf-8", "surrogatepass").translate(_SHAPE_BYTES).decode("utf-8", "surrogatepass")
            self.shapes = shaped.split(_NUL)
        else:  # a block holds NUL itself (or the page has none)
            self.shapes = digit_shapes(self.texts)
        # shape -> its runs, for shapes holding one: a product grid repeats a few dozen shapes
        self._shape_runs: dict[str, tuple[tuple[int, int], ...]] = {}
        distinct = list(dict.fromkeys(self.shapes))
        together = _NUL.join(distinct)
        pattern = RUN if _astral(together) else SHAPE_RUN
        if joined is not None:  # no shape holds NUL: one pass over them all
            self._runs_of_shapes(together, distinct, pattern)
        else:
            for shape in distinct:
                found = tuple(m.span() for m in pattern.finditer(shape))
                if found:
                    self._shape_runs[shape] = found
        # block index -> its runs, for blocks holding one, in page order
        self.with_runs = {i: runs for i, runs in enumerate(map(self._shape_runs.get, self.shapes)) if runs}
        self._heading = _PerShape(self._heading_kind)
        self._plans = _PerShape(self._plan)

    def _runs_of_shapes(self, joined: str, shapes: list[str], pattern: re.Pattern[str]) -> None:
        """One ``pattern`` pass over the ``shapes`` joined by NUL. A run never holds NUL, so it
        lies in one shape, and a shape's runs are those ``finditer`` finds on it alone: the
        pattern reads nothing before its start (no lookbehind) and stops at NUL as at a text's end."""
        index, shape_start = 0, 0
        shape_end = joined.find(_NUL)  # where shape ``index`` ends
        if shape_end < 0:
            shape_end = len(joined)
        runs: list[tuple[int, int]] = []
        for m in pattern.finditer(joined):
            start, end = m.span()
            if start > shape_end:  # the first run of a later shape
                if runs:
                    self._shape_runs[shapes[index]] = tuple(runs)
                    runs = []
                index += joined.count(_NUL, shape_end, start)
                shape_start = joined.rfind(_NUL, shape_end, start) + 1
                shape_end = joined.find(_NUL, end)
                if shape_end < 0:
                    shape_end = len(joined)
            runs.append((start - shape_start, end - shape_start))
        if runs:
            self._shape_runs[shapes[index]] = tuple(runs)

    def runs(self, index: int) -> tuple[tuple[int, int], ...]:
        """(start, end) of every digit run of block ``index``."""
        return self.with_runs.get(index, ())

    def _heading_kind(self, shape: str) -> int:
        """A short block with words and no digit run may title the numbers below it."""
        if len(shape) > HEADING_CHARS or not _LETTER.search(shape) or shape in self._shape_runs:
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
            "," in shape and len(shape) <= 2 * HEADING_CHARS and shape not in self._shape_runs
            and _LETTER.search(shape) is not None
        )

    def named_above(self, index: int) -> bool:
        """Whether a heading-like block right above ``index`` holds a phone or label word."""
        for j in range(index - 1, max(-1, index - 1 - HEADING_LOOKBACK), -1):
            kind = self._heading[self.shapes[j]]
            if kind != _HEADING:
                return kind == _NAMING_HEADING
        return False

    def plan(self, index: int) -> tuple[Run, ...]:
        """The digit runs of block ``index``, with what its shape says about them."""
        return self._plans[self.shapes[index]] if index in self.with_runs else ()

    def _plan(self, shape: str) -> tuple[Run, ...]:
        runs = self._shape_runs[shape]
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


_SHAPE_BYTES = bytes.maketrans(b"123456789", b"000000000")  # UTF-8 bytes: ASCII digits are single bytes


def _astral(text: str) -> bool:
    """Whether ``text`` holds a character beyond the BMP: UTF-16 spells exactly those with
    two units (lone surrogates pass as one)."""
    return not text.isascii() and len(text.encode("utf-16-le", "surrogatepass")) > 2 * len(text)


def _width_folded(texts: list[str]) -> tuple[list[str], str | None]:
    """``fold_width`` of every text, in one call for the whole page, and the folded texts
    joined by NUL (None when a block holds NUL itself: each is folded on its own).

    The fold maps one character to one and leaves NUL alone, so the joined text splits back
    into the blocks.
    """
    joined = _NUL.join(texts)
    if not texts or joined.count(_NUL) != len(texts) - 1:
        return [fold_width(t) for t in texts], None
    if joined.isascii():
        return texts, joined
    folded = fold_width(joined)
    return (texts if folded is joined else folded.split(_NUL)), folded


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
