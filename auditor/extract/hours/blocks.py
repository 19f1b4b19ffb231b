"""Which of a page's text blocks hold hours, and the schedules read from them.

A number range alone is never hours: dates, prices and phone numbers are full of them.
A range needs a day word before it, a time-like spelling (``8:00``, ``9h``, ``17 Uhr``,
``16 óra``) with an hours word nearby, or an always-open phrase. Blocks are sorted
out by their digit shapes first, so most are never lexed.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from itertools import accumulate, compress

from auditor.extract.hours.lexing import Token, lang_of_words, lex
from auditor.extract.hours.schedules import Parser, Schedule
from auditor.extract.hours.vocabulary import (
    DIGIT,
    MAX_BLOCK_CHARS,
    NEIGHBOUR_MAX_CHARS,
    RANGEISH,
    Lang,
    ShapeTests,
    Vocab,
    digit_shapes,
    vocab,
)
from auditor.models import ContactPoint
from auditor.text import fold, fold_width


def _always(text: str, v: Vocab, folded: str | None = None) -> bool:
    folded = fold(text, keep_accents=True) if folded is None else folded
    return v.search_folded("always_quick", text, folded) and v.search_folded("always", text, folded)


def _always_shape(shape: str, tests: ShapeTests, folded: str) -> bool:
    """``tests.always.search(shape)``, on the folded shape where it can be (no re.I: faster)."""
    if tests.folded_always is None:
        return tests.always.search(shape) is not None
    return tests.folded_always.search(folded) is not None


class _Texts:
    """One parse_text call's blocks, each folded and its day words found at most once: the
    seed test, the joining test and the lexing loop all read them (a memo of one page)."""

    def __init__(self, blocks: Sequence[str], v: Vocab) -> None:
        self.blocks = blocks
        self.v = v
        self.folds: dict[int, str] = {}
        self.days: dict[int, list[str]] = {}

    def folded(self, i: int) -> str:
        folded = self.folds.get(i)
        if folded is None:
            folded = self.folds[i] = fold(self.blocks[i], keep_accents=True)
        return folded

    def day_words(self, i: int) -> list[str]:
        """``v.any_day``'s findall on block ``i``; empty exactly where its search finds nothing."""
        found = self.days.get(i)
        if found is None:
            found = self.days[i] = self.v.day_words.findall(self.v.any_day, self.blocks[i], self.folded(i))
        return found


def _is_seed(text: str, v: Vocab, texts: _Texts | None = None, i: int = -1) -> bool:
    """A block that starts a neighbourhood worth lexing (see ``_candidates``).

    ``texts``: the page's memo, where ``text`` is its block ``i``.
    """
    folded = fold(text, keep_accents=True) if texts is None else texts.folded(i)

    def day() -> bool:
        if texts is None:
            return v.day_words.search(v.any_day, text, folded)
        return bool(texts.day_words(i))

    if DIGIT.search(text):
        return bool(
            v.search_folded("timeish", text, folded)
            or (RANGEISH.search(text) and day())
            or _always(text, v, folded)
        )
    return _always(text, v, folded) or bool(v.search_folded("closed", text, folded) and day())


# what a block's shape says about the block (bits)
_MAY_SEED = 1  # run _is_seed on the text
_JOINS = 2  # a short block with a digit or a "closed" word: joins a neighbouring seed
_JOINS_IF_DAY = 4  # a short block that joins if its shape and its text hold a day word


def _day(shape: str, folded: str, tests: ShapeTests) -> bool:
    """tests.day on ``shape``, tried only where a day word starts (``_DayWords.search``)."""
    return tests.day_words.search(tests.day, shape, folded)


def _shape_code(shape: str, v: Vocab, words: tuple[str, bool, bool] | None = None) -> int:
    """Bits for one shape; every test here is true whenever the per-block one can be.

    ``words``: (folded shape, always-open word, closed word) of a digitless shape, found
    for all of a page's digitless shapes at once (``_WordsInShapes``).
    """
    tests = v.shape
    short = len(shape) <= NEIGHBOUR_MAX_CHARS
    if words is not None:
        folded, always, closed = words
        digits = False
    else:
        folded = fold(shape, keep_accents=True)
        digits = DIGIT.search(shape) is not None
        if not digits and tests.always_words is not None:
            always = any(word in folded for word in tests.always_words)
        else:
            always = bool(tests.folded_always.search(folded) if tests.folded_always else tests.always.search(shape))
    code = _MAY_SEED if always else 0
    if digits:
        timeish = tests.folded_timeish.search(folded) if tests.folded_timeish else tests.timeish.search(shape)
        if timeish or (RANGEISH.search(shape) and _day(shape, folded, tests)):
            code |= _MAY_SEED
        return code | (_JOINS if short else 0)
    if words is None:
        if v.folded_closed is not None and v.closed_tokens is not None:
            closed = v.closed_tokens.search(folded, v.folded_closed)
        else:
            closed = v.closed.search(shape) is not None
    if not (closed or short):
        return code
    if not closed:  # short: joins if a day word is there, a test left for blocks beside a stretch
        return code | _JOINS_IF_DAY
    if not _day(shape, folded, tests):
        return code | (_JOINS if short else 0)
    return code | _MAY_SEED | (_JOINS if short else 0)


def _shape_codes(shapes: Sequence[str], v: Vocab) -> dict[str, int]:
    """``_shape_code`` of every distinct shape; the digitless ones' words in one pass."""
    distinct = list(dict.fromkeys(shapes))
    if v.words_in_shapes is None:
        return {shape: _shape_code(shape, v) for shape in distinct}
    codes: dict[str, int] = {}
    plain: list[str] = []
    for shape in distinct:
        if DIGIT.search(shape) is None:
            plain.append(shape)
        else:
            codes[shape] = _shape_code(shape, v)
    for shape, words in zip(plain, v.words_in_shapes.scan(plain), strict=True):
        codes[shape] = _shape_code(shape, v, words)
    return codes


def _candidates(blocks: Sequence[str], v: Vocab, shapes: Sequence[str], texts: _Texts | None = None) -> set[int]:
    """Blocks worth lexing: cheap tests first, since most blocks hold no hours.

    A block with a clock time, a number range and a day word, an always-open phrase, or a
    day word with "closed" is a seed; short neighbouring blocks with day words,
    digits or "closed" join it (hours tables put days and times in separate cells), and
    their short neighbours in turn. So a seed's neighbourhood is the whole stretch of
    seeds and joining blocks around it with at most one other block between two of them:
    it grows from the seeds, so only the blocks beside it are tested for joining.

    The tests run once per digit shape (``digit_shapes``); only blocks whose shape passes get
    the real test on their text.
    """
    texts = _Texts(blocks, v) if texts is None else texts
    # A digit shape of one block is not tested: its tests only spare _is_seed, which would
    # run on that one block anyway (and true when they are), and its joining bit needs no test.
    counts = Counter(shapes)
    by_shape = _shape_codes([shape for shape, n in counts.items() if n > 1 or DIGIT.search(shape) is None], v)
    for shape, n in counts.items():
        if n == 1 and shape not in by_shape:
            by_shape[shape] = _MAY_SEED | (_JOINS if len(shape) <= NEIGHBOUR_MAX_CHARS else 0)
    codes = list(map(by_shape.__getitem__, shapes))
    may_seed = compress(range(len(codes)), map(_MAY_SEED.__and__, codes))  # in C: thousands of blocks
    found = {i for i in may_seed if _is_seed(blocks[i], v, texts, i)}
    day_shapes: dict[str, bool] = {}

    def joins(i: int) -> bool:
        code = codes[i]
        if code & _JOINS:
            return True
        if not code & _JOINS_IF_DAY:
            return False
        shape = shapes[i]
        if shape not in day_shapes:  # the shape's test first: it serves every block of the shape
            day_shapes[shape] = _day(shape, fold(shape, keep_accents=True), v.shape)
        return day_shapes[shape] and bool(texts.day_words(i))

    stack = sorted(found)
    tested = set(found)
    while stack:
        i = stack.pop()
        for j in (i - 2, i - 1, i + 1, i + 2):
            if 0 <= j < len(blocks) and j not in tested:
                tested.add(j)
                if joins(j):
                    found.add(j)
                    stack.append(j)
    return found


_LABEL_COLON = re.compile(r"(?<!\d)：")  # a full-width colon after a word ends a label: "平日：9:00"


def _as_ascii(text: str) -> str:
    """Full-width forms as ASCII, one character for one so offsets carry over:
    "９：００～１８：００" is 9:00~18:00, and a label's full-width colon, which CJK text
    writes with no space after it ("受付時間：9:00"), reads as a space."""
    if text.isascii():
        return text
    if "：" in text:
        text = _LABEL_COLON.sub(" ", text)
    return fold_width(text)


def _all_as_ascii(blocks: Sequence[str]) -> list[str]:
    """``_as_ascii`` of every block, done on the blocks joined: both of its steps replace one
    character by one and look no further back than one character, which a NUL between two
    blocks shows as it shows a block's start (a block that holds a NUL is done alone)."""
    joined = "\x00".join(blocks)
    if joined.isascii():
        return list(blocks)
    if "：" in joined:
        joined = _LABEL_COLON.sub(" ", joined)
    out = fold_width(joined).split("\x00")
    if len(out) != len(blocks):
        return [_as_ascii(b) for b in blocks]
    return out


def parse_text(
    blocks: Sequence[str], page_lang: str | None = None, force_lang: str | None = None
) -> list[Schedule]:
    """Schedules found in consecutive text blocks (pure; used for text and JSON-LD)."""
    v = vocab()
    lang_code = (page_lang or "").split("-")[0].lower() or None
    blocks = _all_as_ascii(blocks)
    shapes = digit_shapes(blocks)
    texts = _Texts(blocks, v)
    candidates = _candidates(blocks, v, shapes, texts)
    tokens: list[Token] = []
    langs: dict[int, Lang] = {}
    lexable: dict[str, bool] = {}
    for i in sorted(candidates):
        text = blocks[i][:MAX_BLOCK_CHARS]
        shape = shapes[i][:MAX_BLOCK_CHARS]
        whole = len(text) == len(blocks[i])  # the memo holds whole blocks
        folded = texts.folded(i) if whole else fold(text, keep_accents=True)
        # the day words first (pick_lang needs them): a text with one is lexable, since the
        # shape's day test passes wherever the text's does (ShapeTests) and lexable holds it
        day_words = texts.day_words(i) if whole else v.day_words.findall(v.any_day, text, folded)
        # a block that can hold no token but separators ("/", ",", "-", "and") adds nothing
        # to any schedule: the parser reads separators only beside day words and times of
        # the same block
        if not day_words:
            ok = lexable.get(shape)
            if ok is None:
                folded_shape = fold(shape, keep_accents=True)
                ok = _always_shape(shape, v.shape, folded_shape) or v.shape.is_lexable(shape, folded_shape)
                lexable[shape] = ok
            if not ok:
                continue
        has_day: bool | None = None
        if force_lang:
            lang = v.langs[force_lang]
        else:  # pick_lang, with the day words kept for lex's gate
            lang = lang_of_words(day_words, lang_code, v)
            has_day = bool(day_words)
        langs[i] = lang
        tokens.extend(lex(text, i, lang, v, folded, has_day))
    return Parser(blocks, tokens, langs).run()


def mask_phones(blocks: list[str], contacts: Sequence[ContactPoint]) -> list[str]:
    """Blank out harvested phone numbers so "06 - 12 34 56 78" is never read as 06-12.

    Same-length filler keeps offsets valid for the raw text and the contact lookup.
    """
    raws = {
        c.raw.strip()
        for c in contacts
        if c.kind == "phone" and sum(map(str.isdigit, c.raw)) >= 6
    }
    raws = {r for r in raws if not r.lower().startswith("tel:")}
    if not raws:
        return blocks
    # a number in no block is in the blocks joined by NUL neither, and a mask ("#") cannot
    # make one appear unless the number holds a "#": the others are left out, in set order
    joined = "\x00".join(blocks)
    present = [raw for raw in raws if raw in joined or "#" in raw]
    # the blocks that hold one of them (found in the joined text; a number with no NUL
    # cannot span two blocks) are the only ones the loop can change: a block holding none
    # has nothing replaced, so none appears
    touched: set[int] | None = set()
    starts = list(accumulate((len(b) + 1 for b in blocks), initial=0))
    for raw in present:
        if "\x00" in raw or "#" in raw or touched is None:
            touched = None  # every block through the loop
            break
        pos = joined.find(raw)
        while pos >= 0:
            touched.add(bisect_right(starts, pos) - 1)
            pos = joined.find(raw, pos + 1)
    masked = list(blocks)
    for i in range(len(blocks)) if touched is None else sorted(touched):
        text = blocks[i]
        for raw in present:
            if raw in text:
                text = text.replace(raw, "#" * len(raw))
        masked[i] = text
    return masked


def raw_of(blocks: Sequence[str], sched: Schedule) -> str:
    return " | ".join(blocks[b][s:e] for b, (s, e) in sorted(sched.pieces.items()))


def context_of(blocks: Sequence[str], sched: Schedule) -> str:
    return " | ".join(blocks[b] for b in sorted(sched.pieces))
