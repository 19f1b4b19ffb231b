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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate, compress

import ahocorasick

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

    def __init__(self, blocks: Sequence[str], v: Vocab, fold_all: bool = False) -> None:
        self.blocks = blocks
        self.v = v
        self.folds: dict[int, str] = {}
        self.days: dict[int, list[str]] = {}
        self.quick: set[int] | None = None  # the blocks always_quick finds a match in, if known
        if fold_all:  # most blocks get folded: the page at once, in one call (see _fold_all)
            folds = _fold_all(blocks)
            if folds is not None:
                self.folds = dict(enumerate(folds))

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


def _fold_all(blocks: Sequence[str]) -> list[str] | None:
    """``fold(b, keep_accents=True)`` of every block, done on the blocks joined by NUL, or None.

    fold maps one character to one (its one exception, "İ", is replaced first) and lower()'s
    one contextual rule (a final sigma) reads a NUL as it reads a text's end; a block that
    holds a NUL, or a fold that changes the length, leaves it to the blocks one by one.
    """
    joined = "\x00".join(blocks)
    folded = fold(joined, keep_accents=True)
    if len(folded) != len(joined):
        return None
    parts = folded.split("\x00")
    return parts if len(parts) == len(blocks) else None


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


_REST = r"[^\x00]*"  # a match's block to its end: finditer gives one match per block


@dataclass(frozen=True)
class _PagePatterns:
    """The seed tests as passes over a page's blocks joined by NUL (``_page_candidates``).

    Each ends with ``_REST``, so one finditer gives at most one match per block, and
    none of them can match a NUL (no ".", no negated class without it, no "^"/"$"), and
    their lookarounds read a NUL as they read a text's end: on the joined blocks each
    finds a match in exactly the blocks where it finds one alone.
    """

    digit: re.Pattern[str]  # DIGIT, on the blocks
    timeish: re.Pattern[str]  # Vocab.folded_timeish, on the folded blocks
    rangeish: re.Pattern[str]  # RANGEISH with its "[^\s\d]" not taking a NUL, on the blocks
    quick: tuple[re.Pattern[str], ...]  # always_quick's alternatives that are no plain word, folded
    quick_words: ahocorasick.Automaton  # and those that are (substrings of the folded text)


@cache
def _page_patterns() -> _PagePatterns | None:
    """The vocabulary's seed tests for whole pages; None where one cannot be written so."""
    v = vocab()
    if v.folded_timeish is None or v.folded_always_quick is None:
        return None
    alternatives = v.folded_always_quick.pattern.split("|")
    try:  # a "|" inside a group or class would split it into pieces that do not compile
        for alternative in alternatives:
            re.compile(alternative)
    except re.error:
        return None
    words = [a for a in alternatives if not _REGEX_CHARS.search(a)]
    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, word)
    automaton.make_automaton()
    rangeish = RANGEISH.pattern.replace(r"[^\s\d]", r"[^\s\d\x00]")
    return _PagePatterns(
        digit=re.compile(DIGIT.pattern + _REST),
        timeish=re.compile(f"(?:{v.folded_timeish.pattern}){_REST}", v.folded_timeish.flags),
        rangeish=re.compile(f"(?:{rangeish}){_REST}", RANGEISH.flags),
        quick=tuple(re.compile(f"(?:{a}){_REST}", v.folded_always_quick.flags) for a in alternatives if a not in words),
        quick_words=automaton,
    )


_REGEX_CHARS = re.compile(r"[\\\[\](){}*+?|^$.]")


def _starts(blocks: Sequence[str]) -> list[int]:
    """Each block's offset in the blocks joined by one separator (and one past the end)."""
    return list(accumulate(map((1).__add__, map(len, blocks)), initial=0))


def _blocks_of(pattern: re.Pattern[str], joined: str, starts: list[int]) -> set[int]:
    """The blocks (by their start offsets in ``joined``) where ``pattern`` finds a match."""
    return {bisect_right(starts, m.start()) - 1 for m in pattern.finditer(joined)}


def _page_candidates(blocks: Sequence[str], v: Vocab, texts: _Texts) -> set[int] | None:
    """``_candidates`` for a page whose blocks are mostly distinct, in a few passes over the
    page (see _PagePatterns), or None where they cannot be run.

    The seed and joining tests are those of ``_is_seed`` and ``joins``, on sets of blocks:
    each pass answers one test for every block at once, and the day words (the costly
    test) are looked for only in blocks the others leave open.
    """
    pats = _page_patterns()
    folds = texts.folds
    if pats is None or len(folds) != len(blocks) or v.words_in_shapes is None:
        return None
    joined = "\x00".join(blocks)
    folded = "\x00".join(folds.values())
    if len(folded) != len(joined):
        return None
    starts = _starts(blocks)
    digits = _blocks_of(pats.digit, joined, starts)
    timeish = _blocks_of(pats.timeish, folded, starts)
    quick = {bisect_right(starts, end) - 1 for end, _word in pats.quick_words.iter(folded)}
    for pattern in pats.quick:
        quick |= _blocks_of(pattern, folded, starts)
    texts.quick = quick
    closed = _closed_blocks(v, folded, starts, folds)
    always_memo: dict[int, bool] = {}

    def always(i: int) -> bool:  # _always: always_quick holds for the blocks in ``quick``
        if i not in always_memo:
            always_memo[i] = i in quick and v.search_folded("always", blocks[i], folds[i])
        return always_memo[i]

    def day(i: int) -> bool:
        return bool(texts.day_words(i))

    found = set(timeish)
    ranges = _blocks_of(pats.rangeish, joined, starts) - found if digits - found else set()
    found.update(i for i in ranges if day(i))
    found.update(i for i in quick - found if always(i))
    found.update(i for i in closed - digits - found if day(i))

    def joins(i: int) -> bool:
        return len(blocks[i]) <= NEIGHBOUR_MAX_CHARS and (i in digits or i in closed or day(i))

    return _grow(found, len(blocks), joins)


def _closed_blocks(v: Vocab, folded: str, starts: list[int], folds: dict[int, str]) -> set[int]:
    """The blocks with a closed word (``Vocab.closed``), from the page's folded text: its
    words' Aho-Corasick hits that stand as whole runs, an entry of several words confirmed
    by the regex (as ``_WordsInShapes.scan``)."""
    words = v.words_in_shapes
    assert words is not None
    out, firsts = words.closed_hits(folded, starts)
    out.update(i for i in firsts - out if words.closed_regex.search(folds[i]) is not None)
    return out


def _grow(found: set[int], count: int, joins: Callable[[int], bool]) -> set[int]:
    """The seeds' neighbourhoods: blocks up to two away that join, and theirs in turn."""
    stack = sorted(found)
    tested = set(found)
    while stack:
        i = stack.pop()
        for j in (i - 2, i - 1, i + 1, i + 2):
            if 0 <= j < count and j not in tested:
                tested.add(j)
                if joins(j):
                    found.add(j)
                    stack.append(j)
    return found


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

    return _grow(found, len(blocks), joins)


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


def _read_particles(blocks: list[str], v: Vocab) -> list[str]:
    """``blocks`` with particles joined to words read as spaces or dashes (``Particles``),
    done on the blocks joined: a particle holds no NUL, and its reading is as long as it."""
    particles = v.particles
    if particles is None:
        return blocks
    joined = "\x00".join(blocks)
    if joined.isascii() or not particles.gate.search(joined):
        return blocks
    return particles.read(joined).split("\x00")


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


# a page of more text than this is read shape by shape: a page pass reads all of its text,
# the shape tests only the digit blocks' and the distinct shapes' (padded pages: 30-80 K)
_PAGE_PASS_MAX_CHARS = 16_000


def _page_pass_pays(blocks: Sequence[str], shapes: Sequence[str]) -> bool:
    """Whether a page's blocks are read better in page passes than shape by shape: a
    contact page's few blocks are nearly all distinct; a product grid repeats a few shapes
    over thousands of blocks (its shape tests run once per shape, ``_candidates``), and a
    long page's passes would read prose and markup the shape tests skip."""
    return sum(map(len, blocks)) <= _PAGE_PASS_MAX_CHARS and len(set(shapes)) * 2 > len(shapes)


def parse_text(
    blocks: Sequence[str], page_lang: str | None = None, force_lang: str | None = None
) -> list[Schedule]:
    """Schedules found in consecutive text blocks (pure; used for text and JSON-LD)."""
    v = vocab()
    lang_code = (page_lang or "").split("-")[0].lower() or None
    blocks = _read_particles(_all_as_ascii(blocks), v)
    shapes = digit_shapes(blocks)
    # a short page of distinct blocks is read in page passes, its blocks all folded at once;
    # a grid's or a long page's blocks shape by shape (most of them never folded)
    page_pass = _page_pass_pays(blocks, shapes)
    texts = _Texts(blocks, v, fold_all=page_pass)
    candidates = _page_candidates(blocks, v, texts) if page_pass else None
    if candidates is None:
        candidates = _candidates(blocks, v, shapes, texts)
    tokens: list[Token] = []
    langs: dict[int, Lang] = {}
    lexable: dict[str, bool] = {}
    for i in sorted(candidates):
        text = blocks[i][:MAX_BLOCK_CHARS]
        shape = shapes[i][:MAX_BLOCK_CHARS]
        # a block that can hold no token but separators ("/", ",", "-", "and") adds nothing
        # to any schedule: the parser reads separators only beside day words and times of
        # the same block
        ok = lexable.get(shape)
        if ok is False:  # a grid's shape: its other blocks are skipped at once
            continue
        whole = len(text) == len(blocks[i])  # the memo holds whole blocks
        if ok is None:
            # a text with a day word is lexable, since the shape's day test passes wherever
            # the text's does (ShapeTests) and lexable holds it: on a page of distinct blocks
            # the day words (lang_of_words reads them) come before the shape's tests, on a grid
            # only where the seed tests found them (the shape's tests serve its other blocks)
            if whole and (texts.day_words(i) if page_pass else texts.days.get(i)):
                ok = True
            else:
                folded_shape = fold(shape, keep_accents=True)
                ok = _always_shape(shape, v.shape, folded_shape) or v.shape.is_lexable(shape, folded_shape)
            lexable[shape] = ok
            if not ok:
                continue
        folded = texts.folded(i) if whole else fold(text, keep_accents=True)
        has_day: bool | None = None
        if force_lang:
            lang = v.langs[force_lang]
        else:  # lang_of_words, with the day words kept for lex's gate
            day_words = texts.day_words(i) if whole else v.day_words.findall(v.any_day, text, folded)
            lang = lang_of_words(day_words, lang_code, v)
            has_day = bool(day_words)
        langs[i] = lang
        quick = None if texts.quick is None or not whole else i in texts.quick
        tokens.extend(lex(text, i, lang, v, folded, has_day, quick))
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
    starts = _starts(blocks)
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
