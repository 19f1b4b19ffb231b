"""The hours vocabulary, compiled once from ``auditor/data/hours.toml``.

Day words, ranges, closed and always-open phrases per language (see the data file's
header for the entry syntax), and the digit shapes that let one pass over a page's
blocks skip those without hours.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import ahocorasick

from auditor.data import load
from auditor.text import fold, folded_regex

DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
DAY_INDEX = {d: i for i, d in enumerate(DAYS)}
SCHEMA_DAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "mo": 0, "tu": 1, "we": 2, "th": 3, "fr": 4, "sa": 5, "su": 6,
}  # fmt: skip
FULL_DAY = (0, 24 * 60)
MAX_GAP_WORDS = 6
MAX_GAP_CHARS = 60
MAX_BLOCK_HOP = 2  # blocks without hours between two parts of one schedule
_WORD = r"[^\W_]"  # a letter or digit, Unicode-aware
DIGIT = re.compile(r"\d")
KINDS = ("trange", "day", "closed", "pause", "sep", "list")  # lexer groups, in order
# one bit per lexer group (KINDS order): the groups a block's text can match (see Lang.lexer_for)
GROUP_BITS = {kind: 1 << i for i, kind in enumerate(KINDS)}
ALL_GROUPS = (1 << len(KINDS)) - 1
# two numbers joined by a dash, a short word or a Hungarian case ending ("8-tól 16-ig")
RANGEISH = re.compile(r"\d[^\s\d]{0,5}\s*[-–—]\s*\d|\d[^\s\d]{0,5}\s+(?:[^\W\d_]{1,7}\.?\s+)?\d")
NEIGHBOUR_MAX_CHARS = 80
MAX_BLOCK_CHARS = 20_000  # hours sit near the top of a block; a text dump is not read whole

_DASH = r"\-–—‑~〜"  # dashes (〜 the wave dash of Japanese ranges), escaped for a character class
SEP_CHAR = re.compile(f"[{_DASH}]")  # the lexer's sep group's characters
LIST_CHAR = re.compile(r"[,/&+]")  # the lexer's list group's characters
_SHAPE_BYTES = bytes.maketrans(b"123456789", b"000000000")
_SHAPE_STR = str.maketrans("123456789", "000000000")
_ASCII_DIGIT = re.compile(r"[1-9]")


def _shape_literal(pattern: str) -> str:
    """``pattern`` for digit-shape text: every digit written as 0 ("24" becomes "00").

    Only for literals and patterns whose digits are plain or sit in positive classes and
    ranges (``[0-5]``): a quantifier (``{2}``), a negated class or a negative lookaround
    holding a digit would change meaning.
    """
    return pattern.translate(_SHAPE_STR)


def digit_shapes(texts: Sequence[str]) -> list[str]:
    """Each text with its ASCII digits written as 0: same length, same offsets.

    A regex that asks only whether a character is a digit gives the same answer on the
    shape as on the text. Product grids and tables repeat a few dozen shapes over
    thousands of blocks, so a test run once per shape spares most of the per-block work.
    """
    joined = "\x00".join(texts)
    try:
        data = joined.encode("utf-8", "surrogatepass").translate(_SHAPE_BYTES)
        parts = data.decode("utf-8", "surrogatepass").split("\x00")
    except UnicodeError:  # pragma: no cover - every str round-trips with surrogatepass
        parts = []
    if len(parts) != len(texts):  # a text held NUL itself
        parts = [_ASCII_DIGIT.sub("0", t) for t in texts]
    return parts


def _time_pattern(n: int | None) -> str:
    """One clock time; named groups carry the index ``n`` (1 = opens, 2 = closes).

    With ``n`` None the groups are unnamed (for the shape test, which holds two ranges).
    """

    def group(name: str) -> str:
        return "(?:" if n is None else f"(?P<{name}{n}>"

    return (
        rf"{group('h')}[01]?\d|2[0-4])"
        rf"(?:{group('s')}[:.]|\s?[hu]\s?|時){group('m')}[0-5]\d))?"
        rf"(?:\s?{group('ap')}[ap]\.?\s?m\.?)(?![^\W\d_]))?"
        rf"(?:\s?{group('sx')}(?:uhr|h|u|hod\.?|hodin|órá(?:tól|ig)|óra|uur|godz\.?|ч\.?|saat|heures?)"
        rf"(?![^\W\d_])|時|分))?"
        rf"(?:-?{group('hu')}t[óo]l|től|ig)(?![^\W\d_]))?"
    )


def _trange_regex(time_range: Iterable[str], units: Iterable[str], n: int | None = 1) -> str:
    """Two clock times joined by a dash or a ``time_range`` word ("8-17", "9h à 18h").

    Groups are named (``sw``, ``h1``... ``hu2``) unless ``n`` is None. The optional "from"
    word before it is the caller's.
    """
    sw = "(?P<sw>" if n is not None else "(?:"
    sep = rf"(?:\s*[{_DASH}]\s*|(?<=l)\s+|{sw}\s+{_words_regex(time_range)}\s+))"
    unit_alt = "|".join(re.escape(u) for u in sorted(units, key=len, reverse=True))
    return (
        rf"(?<![\d.,:/+])(?<!\d[{_DASH}])"
        + _time_pattern(n)
        + sep
        + _time_pattern(None if n is None else n + 1)
        + rf"(?!\d)(?![.:{_DASH}]\d)(?!\s\d\d\s\d)(?!(?:st|nd|rd|th)\b)"
        + rf"(?!\s*(?:{unit_alt})(?![^\W\d_]))"
    )


@dataclass(frozen=True)
class Lang:
    """One language's day vocabulary compiled into a lexer."""

    code: str
    lexer: re.Pattern[str]
    day_alts: tuple[tuple[str, DayKey], ...]  # the day-word alternatives in order, each with its key
    shape_day_alts: tuple[tuple[str, DayKey], ...]  # the same for digit shapes (digits written as 0)
    words: dict[str, tuple[int, ...]]  # lower-cased day / group word -> days
    stems: tuple[tuple[str, tuple[int, ...]], ...]
    range_suffixes: tuple[str, ...]
    # the lexer's groups' sources in KINDS order, and gates for the language's own word lists
    # (see ``first_runs``): the "range" words of sep and the "list" words of list
    parts: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()  # a lookahead put inside each part's group (see _lexer_source)
    range_gate: frozenset[str] | None = None
    list_gate: frozenset[str] | None = None
    keyless_days: bool = True  # a day alternative that starts with no letter ("7 days a week")
    # the first runs of the "time_range" words that may join two times ("9 to 5"): with a
    # dash and an "l" before a space, the only ways a time range's two times are joined
    time_range_gate: frozenset[str] | None = None
    # the lexer without the groups a text cannot match, by group bits; compiled from the data
    # when a combination is first needed (at most 2**6 per language, none tied to a page)
    variants: dict[int, re.Pattern[str]] = field(default_factory=dict, compare=False, repr=False)

    def lexer_for(self, groups: int) -> re.Pattern[str] | None:
        """The lexer with only the groups in ``groups`` (bits of GROUP_BITS), None for none.

        finditer gives the same matches as the full lexer's when every group left out
        matches nowhere in the text: an alternative that fails at every position never
        decides a match, and the others are tried in the same order.
        """
        if groups == ALL_GROUPS or not self.parts:
            return self.lexer
        if not groups:
            return None
        lexer = self.variants.get(groups)
        if lexer is None:
            lexer = self.variants[groups] = re.compile(_lexer_source(self.parts, self.guards, groups), self.lexer.flags)
        return lexer


@dataclass(frozen=True)
class Particles:
    """Particles a script without spaces joins to the words around them, each read as what
    it means, padded with spaces to its length ("月曜日から金曜日の9時から18時まで" is lexed as
    "月曜日~ 金曜日 9時~ 18時  "): offsets into the raw text hold. Only text in the script
    (``gate``, a character class) is rewritten."""

    gate: re.Pattern[str]
    pattern: re.Pattern[str]
    meaning: dict[str, str]

    @classmethod
    def of(cls, spec: dict[str, Any]) -> Particles | None:
        table: dict[str, str] = spec.get("read_as", {})
        if not table:
            return None
        words = sorted(table, key=len, reverse=True)
        for word in words:
            if len(table[word]) > len(word) or "\x00" in word + table[word]:
                raise ValueError(f"hours.toml particles: {word!r} read as {table[word]!r} changes offsets")
        return cls(
            gate=re.compile(spec["script"]),
            pattern=re.compile("|".join(map(re.escape, words))),
            meaning={w: table[w].ljust(len(w)) for w in words},
        )

    def read(self, text: str) -> str:
        """``text`` with each particle read as its meaning, same length."""
        if not self.gate.search(text):
            return text
        return self.pattern.sub(lambda m: self.meaning[m.group(0)], text)


@dataclass(frozen=True)
class Vocab:
    """All languages plus the language-independent patterns."""

    langs: dict[str, Lang]
    order: tuple[str, ...]
    always: re.Pattern[str]
    always_quick: re.Pattern[str]
    any_day: re.Pattern[str]
    word_langs: dict[str, frozenset[str]]
    stem_langs: tuple[tuple[str, str], ...]
    hints: re.Pattern[str]
    closed: re.Pattern[str]
    timeish: re.Pattern[str]
    shape: ShapeTests
    day_words: _DayWords
    # the same tests for text folded by fold(keep_accents=True), written without re.I (None: not possible)
    folded_always_quick: re.Pattern[str] | None = None
    folded_always: re.Pattern[str] | None = None
    folded_closed: re.Pattern[str] | None = None
    folded_timeish: re.Pattern[str] | None = None
    closed_tokens: _ClosedTokens | None = None  # folded_closed by letter runs and a set
    words_in_shapes: _WordsInShapes | None = None  # both tests for many digitless shapes
    # gates for the lexer's closed and pause groups (see ``first_runs``)
    closed_gate: frozenset[str] | None = None
    pause_gate: frozenset[str] | None = None
    # stem_langs as a table: stem -> languages, and the stems' lengths
    stem_codes: dict[str, frozenset[str]] = field(default_factory=dict)
    stem_lengths: tuple[int, ...] = ()
    particles: Particles | None = None  # particles joined to words, read before lexing

    def search_folded(self, name: str, text: str, folded: str) -> bool:
        """``getattr(self, name).search(text)``, on the folded text where it can be."""
        fast = getattr(self, f"folded_{name}")
        return bool(fast.search(folded) if fast is not None else getattr(self, name).search(text))


_LETTERS = re.compile(r"[^\W\d_]+")
_ALNUM = re.compile(r"[^\W_]+")
ALNUM_RUN = _ALNUM  # the letter-and-digit runs ``first_runs`` gates are made of
_REGEX_CHARS = re.compile(r"[\\\[\](){}*+?|^$.]")


def _plain_words(quick: str) -> tuple[str, ...] | None:
    """always_quick's plain-word alternatives (of its shape form), when all its others need
    digits ("24", written "00" in shapes)."""
    alternatives = quick.split("|")
    words = tuple(a for a in alternatives if not _REGEX_CHARS.search(a))
    if any("00" not in a for a in alternatives if a not in words) or any(w != fold(w, keep_accents=True) for w in words):
        return None
    return words


def first_runs(entries: Iterable[str]) -> frozenset[str] | None:
    """The folded first letter-and-digit run of every entry of a ``_words_regex`` list.

    A gate: where the list's regex matches, the matched entry's first run stands in the
    folded text as a whole run (the entry has no letter or digit beside it, and the regex
    none outside it), so a text whose runs miss this set holds no entry. None when an
    entry has no run (the gate could not rule it out).
    """
    firsts: set[str] = set()
    for entry in entries:
        runs = _ALNUM.findall(fold(entry, keep_accents=True))
        if not runs:
            return None
        firsts.add(runs[0])
    return frozenset(firsts)


@dataclass(frozen=True)
class _ClosedTokens:
    """``closed`` (whole words) on folded text by its letter-and-digit runs and a set."""

    words: frozenset[str]  # one-word entries
    firsts: frozenset[str]  # first words of the entries of several words

    @classmethod
    def of(cls, entries: Iterable[str]) -> _ClosedTokens:
        folded = [fold(e, keep_accents=True) for e in entries]
        return cls(
            frozenset(e for e in folded if _ALNUM.fullmatch(e)),
            frozenset(_ALNUM.findall(e)[0] for e in folded if not _ALNUM.fullmatch(e) and _ALNUM.findall(e)),
        )

    def search(self, folded: str, regex: re.Pattern[str]) -> bool:
        """``regex.search(folded)`` for the folded closed regex: a run is a one-word entry,
        or the regex decides where a longer entry's first word stands."""
        runs = set(_ALNUM.findall(folded))
        return bool(runs & self.words) or bool(runs & self.firsts and regex.search(folded))


class _WordsInShapes:
    """The always-open words and closed words of many folded shapes, found in one pass.

    A page's prose gives hundreds of distinct shapes without a digit; testing each for
    the few always-open words (substrings) and closed words (whole letter-and-digit runs)
    cost more than the rest of the hours pass. One Aho-Corasick pass over the shapes
    joined, folded once, answers both for all of them.
    """

    def __init__(self, always_words: Iterable[str], closed: _ClosedTokens, closed_regex: re.Pattern[str]) -> None:
        self.closed_regex = closed_regex  # Vocab.folded_closed: for entries of several words
        self.always = ahocorasick.Automaton()
        for word in set(always_words):
            self.always.add_word(word, word)
        self.always.make_automaton()
        self.closed = ahocorasick.Automaton()
        for word in closed.words | closed.firsts:
            self.closed.add_word(word, (len(word), word in closed.words, word in closed.firsts))
        self.closed.make_automaton()

    def closed_hits(self, folded: str, starts: list[int]) -> tuple[set[int], set[int]]:
        """Of texts joined into ``folded`` (text i from ``starts[i]``): those holding a one-word
        closed entry as a whole run, and those holding only the first word of a longer one
        (the regex decides those)."""
        whole_in: set[int] = set()
        firsts: set[int] = set()
        last = len(folded) - 1
        for end, (length, whole, first) in self.closed.iter(folded):
            start = end - length + 1
            # a whole run: no letter or digit on either side ("[^\W_]" is str.isalnum)
            if (start and folded[start - 1].isalnum()) or (end < last and folded[end + 1].isalnum()):
                continue
            index = bisect_right(starts, start) - 1
            if whole:
                whole_in.add(index)
            elif first:
                firsts.add(index)
        return whole_in, firsts

    def scan(self, shapes: Sequence[str]) -> list[tuple[str, bool, bool]]:
        """(folded shape, holds an always-open word, holds a closed word) per shape, as
        ``any(w in folded for w in always_words)`` and ``_ClosedTokens.search`` say."""
        folded = fold("\n".join(shapes), keep_accents=True)  # fold works character by character
        starts = [0]
        for shape in shapes:
            starts.append(starts[-1] + len(shape) + 1)
        always: set[int] = set()
        closed: set[int] = set()
        firsts: set[int] = set()
        if len(self.always):
            always = {bisect_right(starts, end) - 1 for end, _word in self.always.iter(folded)}
        if len(self.closed):
            closed, firsts = self.closed_hits(folded, starts)
        found = []
        for i in range(len(shapes)):
            text = folded[starts[i] : starts[i + 1] - 1]
            is_closed = i in closed or (i in firsts and self.closed_regex.search(text) is not None)
            found.append((text, i in always, is_closed))
        return found


# A day-word entry's key: the folded letter run its matches start with, and whether that run
# only starts with it (a stem); None for an entry whose matches start no letter run ("7 days
# a week"): the day regexes' letter lookahead never lets it match.
DayKey = tuple[str, bool] | None


def _day_key(entry: str) -> DayKey:
    bare = entry.lstrip("!=")
    tokens = _LETTERS.findall(fold(bare.rstrip("*"), keep_accents=True))
    if not tokens or not bare[:1].isalpha():
        return None
    return tokens[0], bare.endswith("*") and len(tokens) == 1


def _day_regex(body: str) -> str:
    """A day-word alternation as a whole word; the shared boundary and the letter lookahead
    keep a big alternation fast."""
    return rf"(?<!{_WORD})(?=[^\W\d_])(?:{body})\.?(?!{_WORD})"


class _Narrowing:
    """One day regex's alternatives by key, and the regex narrowed to those a letter run can start."""

    def __init__(self, regex: re.Pattern[str], alternatives: tuple[tuple[str, DayKey], ...], stem_lengths: tuple[int, ...]) -> None:
        self.regex = regex
        self.alternatives = tuple(alt for alt, _key in alternatives)
        self.stem_lengths = stem_lengths
        self.by_key: dict[tuple[str, bool], list[int]] = {}
        for i, (_alt, key) in enumerate(alternatives):
            if key is not None:
                self.by_key.setdefault(key, []).append(i)
        self.compiled: dict[tuple[int, ...], re.Pattern[str]] = {}
        self.at = lru_cache(maxsize=1 << 16)(self._at)

    def _at(self, token: str) -> re.Pattern[str]:
        """The regex with only the alternatives that can match where ``token`` starts, in order."""
        found = list(self.by_key.get((token, False), ()))
        for n in self.stem_lengths:
            if n <= len(token):
                found += self.by_key.get((token[:n], True), ())
        picked = tuple(sorted(found))
        narrowed = self.compiled.get(picked)
        if narrowed is None:
            body = "|".join(self.alternatives[i] for i in picked) or "(?!)"
            narrowed = self.compiled[picked] = re.compile(_day_regex(body), self.regex.flags)
        return narrowed


class _DayWords:
    """A cheap test every text the day regex matches in passes: a letter run of the text is
    a day word's first word, or starts with a day stem. Ten times faster than the regex
    (whose hundreds of alternatives the engine tries at every position) on prose; each
    distinct letter run is looked up once (prose repeats its words).

    Where a run passes, only the alternatives whose key the run has are tried (``_Narrowing``),
    in their order: the others cannot match there, so the match is the full regex's, found
    without trying hundreds of alternatives ("la", "so", "mo" start many words).
    """

    def __init__(self, words: frozenset[str], stems: frozenset[str], regexes: dict[re.Pattern[str], tuple[tuple[str, DayKey], ...]]) -> None:
        self.words = words
        self.stems = stems
        self.stem_lengths = tuple(sorted({len(stem) for stem in stems}))
        self.is_day_token = lru_cache(maxsize=1 << 16)(self._is_day_token)
        # by id: hashing a compiled regex hashes its whole program
        self.narrowings = {id(regex): _Narrowing(regex, alts, self.stem_lengths) for regex, alts in regexes.items()}

    @classmethod
    def of(cls, regexes: dict[re.Pattern[str], tuple[tuple[str, DayKey], ...]]) -> _DayWords:
        """From the day regexes and their alternatives with keys (``Lang.day_alts``)."""
        keys = {key for alts in regexes.values() for _alt, key in alts if key is not None}
        words = frozenset(token for token, stem in keys if not stem)
        stems = frozenset(token for token, stem in keys if stem)
        return cls(words, stems, regexes)

    def _is_day_token(self, token: str) -> bool:
        if token in self.words:
            return True
        stems = self.stems
        return any(token[:n] in stems for n in self.stem_lengths if n <= len(token))

    def _narrowed(self, regex: re.Pattern[str]) -> Callable[[str], re.Pattern[str]]:
        """The part of ``regex`` that can match where a given day token starts (``_Narrowing.at``);
        the whole regex for one with no narrowing."""
        narrowing = self.narrowings.get(id(regex))
        if narrowing is None or narrowing.regex is not regex:
            return lambda _token: regex
        return narrowing.at

    def search(self, regex: re.Pattern[str], text: str, folded: str) -> bool:
        """``regex.search(text)`` for a day regex, tried only where a day word can start.

        A day regex's lookarounds make it start a letter run, with a day word's first word:
        an anchored match there finds what a search finds, without trying its hundreds of
        alternatives at every position of a long block. Only the letter runs that are day
        tokens are tried (a plain loop: this runs on most blocks with a digit).
        """
        is_day = self.is_day_token
        at = self._narrowed(regex)
        for m in _LETTERS.finditer(folded):
            token = m.group()
            if is_day(token) and at(token).match(text, m.start()):
                return True
        return False

    def findall(self, regex: re.Pattern[str], text: str, folded: str) -> list[str]:
        """``regex.findall(text)`` for a day regex (no groups), the same way."""
        found: list[str] = []
        end = 0
        is_day = self.is_day_token
        at = self._narrowed(regex)
        for run in _LETTERS.finditer(folded):
            token = run.group()
            if is_day(token):
                pos = run.start()
                if pos >= end and (m := at(token).match(text, pos)):
                    found.append(m.group())
                    end = m.end()
        return found


@dataclass(frozen=True)
class ShapeTests:
    """Tests run once per digit shape of a block (``digit_shapes``), never once per block.

    Each is true for a shape whenever its counterpart on the real text can be: a false
    one rules a block out, a true one sends the block to the real test.
    """

    timeish: re.Pattern[str]  # Vocab.timeish
    always: re.Pattern[str]  # Vocab.always_quick
    day: re.Pattern[str]  # Vocab.any_day
    lexable: re.Pattern[str]  # any lexer token but a separator ("-", "to", ",", "and")
    day_words: _DayWords  # where day can match, on folded text
    # lexable in parts: its tokens but day words, and its day words that start no letter run
    # ("0 days a week"); the others are day's (see ``is_lexable``)
    lexable_words: re.Pattern[str] | None = None
    lexable_days: re.Pattern[str] | None = None
    # the same tests for folded text (fold(keep_accents=True)), where they can be written without re.I
    folded_timeish: re.Pattern[str] | None = None
    folded_always: re.Pattern[str] | None = None
    # without digits only always_quick's plain words can match: substring tests, in C
    always_words: tuple[str, ...] | None = None
    # lexable_words's alternatives (time range, closed, pause) searched one by one, each
    # behind its gate: a time range needs a digit, a closed or pause word its first run
    # (``first_runs``: closed_gate, pause_gate); lexable_days needs a digit when
    # keyless_digit (each of its alternatives starts with one)
    lexable_parts: tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]] | None = None
    closed_gate: frozenset[str] | None = None
    pause_gate: frozenset[str] | None = None
    keyless_digit: bool = False

    def is_lexable(self, shape: str, folded: str | None = None) -> bool:
        """``lexable.search(shape)``; its day words searched where they can start (``day_words``).

        ``folded``: ``fold(shape, keep_accents=True)`` if the caller has it.
        """
        if self.lexable_words is None or self.lexable_days is None:
            return self.lexable.search(shape) is not None
        folded = fold(shape, keep_accents=True) if folded is None else folded
        digit = DIGIT.search(shape) is not None
        if self.lexable_parts is None:
            words = self.lexable_words.search(shape) is not None
        else:  # an alternation is found where one of its alternatives is
            trange, closed, pause = self.lexable_parts
            runs = set(_ALNUM.findall(folded))
            words = (
                (digit and trange.search(shape) is not None)
                or ((self.closed_gate is None or not runs.isdisjoint(self.closed_gate)) and closed.search(shape) is not None)
                or ((self.pause_gate is None or not runs.isdisjoint(self.pause_gate)) and pause.search(shape) is not None)
            )
        return bool(
            words
            or ((digit or not self.keyless_digit) and self.lexable_days.search(shape))
            or self.day_words.search(self.day, shape, folded)
        )


def _entry_regex(entry: str) -> tuple[str, str, bool]:
    """(regex, lookup key, is_stem) for one vocabulary entry (see hours.toml)."""
    if entry.startswith("!"):
        word = entry[1:]
        exact = f"(?-i:{re.escape(word)}|{re.escape(word.upper())})"
        # "P.–Pk.", "S. 10–14" too, a table cell holding the day alone ("L" | "9–21"), and
        # Japanese lone kanji days listed with the middle dot ("月・水・金")
        follow = rf"(?=\.?\s*(?:[{_DASH},:/&・]|\d|$))"
        if len(word) == 1:  # "E-pieraksts", "E-mail", "T-shirt": a compound, not a day
            follow += r"(?!-(?-i:[a-zà-öø-ÿāčēģīķļņšūžõ]))"
        # or the end of a day range: "ma–pe klo 8", "pon.–pet."
        after_dash = rf"(?<=[{_DASH}]){exact}|(?<=[{_DASH}]\s){exact}"
        return f"{exact}{follow}|{after_dash}", word.lower(), False
    if entry.startswith("="):
        word = entry[1:]
        return f"(?-i:{re.escape(word)}|{re.escape(word.upper())})", word.lower(), False
    if entry.endswith("*"):
        stem = entry[:-1]
        return re.escape(stem).replace(r"\ ", r"\s+") + r"[^\W\d_]*", stem.lower(), True
    if len(entry) <= 2 and entry[0].isupper():
        return f"(?-i:{re.escape(entry)}|{re.escape(entry.upper())})", entry.lower(), False
    return re.escape(entry).replace(r"\ ", r"\s+"), entry.lower(), False


def _words_regex(words: Iterable[str]) -> str:
    """Whole-word alternation, longest first so "Cumartesi" wins over "Cuma"."""
    items = sorted(set(words), key=len, reverse=True)
    if not items:
        return r"(?!)"
    body = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in items)
    return rf"(?<!{_WORD})(?:{body})(?!{_WORD})"


def _first_chars(word: str) -> set[str]:
    """The characters a match of ``word``'s entry regex can start with, in any case (a superset)."""
    if not word:
        return set()
    return {word[0], word[0].lower(), word[0].upper(), word.upper()[0], word.lower()[0]}


def _guard(chars: set[str], extra: str = "") -> str:
    """A lookahead for one of ``chars`` (and the class text ``extra``): empty if there are none."""
    if not (chars or extra):
        return ""
    return "(?=[" + extra + "".join(re.escape(c) for c in sorted(chars)) + "])"


def _lexer_source(parts: Sequence[str], guards: Sequence[str], groups: int) -> str:
    """The lexer's source with the parts in ``groups`` (bits), each guard put first inside its
    part's named group, before the whole body: "(?P<sep>" + guard + "(?:" + body + "))". A
    guard is a lookahead every match of its part passes, so the part matches where it
    matched without it."""
    out = []
    for i, part in enumerate(parts):
        if groups >> i & 1:
            guard = guards[i] if i < len(guards) else ""
            head = part.index(">") + 1  # after "(?P<name>"; the part ends with the group's ")"
            out.append(f"{part[:head]}{guard}(?:{part[head:-1]}))" if guard else part)
    return "|".join(out)


def _compile_lang(code: str, spec: dict[str, Any], common: dict[str, Any]) -> Lang:
    words: dict[str, tuple[int, ...]] = {}
    stems: list[tuple[str, tuple[int, ...]]] = []
    alts: list[tuple[int, str, DayKey]] = []  # (sort length, regex, key)
    shape_alts: list[tuple[str, DayKey]] = []
    day_firsts: set[str] = set()  # every character a day alternative's match can start with

    def add(entry: str, days: tuple[int, ...]) -> None:
        regex, key, is_stem = _entry_regex(entry)
        day_firsts.update(_first_chars(entry[1:] if entry[:1] in "!=" else entry))
        if is_stem:
            stems.append((key, days))
        else:
            words[key] = days
        alts.append((len(key) + (100 if is_stem else 0), regex, _day_key(entry)))
        shape_alts.append((_entry_regex(_shape_literal(entry))[0], _day_key(entry)))

    for index, entries in enumerate(spec["days"]):
        for entry in entries:
            add(entry, (index,))
    for group in spec.get("groups", []):
        first, last = DAY_INDEX[group["days"][0]], DAY_INDEX[group["days"][1]]
        for entry in group["words"]:
            add(entry, tuple(range(first, last + 1)))
    alts.sort(key=lambda a: a[0], reverse=True)
    day_alt = rf"(?<!{_WORD})(?:{'|'.join(a for _, a, _key in alts)})\.?(?!{_WORD})"

    trange = rf"(?:(?P<fw>{_words_regex(spec.get('from', []))})\s*)?" + _trange_regex(
        spec.get("time_range", []), common["units"]
    )
    parts = (
        rf"(?P<trange>{trange})",
        rf"(?P<day>{day_alt})",
        rf"(?P<closed>{_words_regex(common['closed'])})",
        rf"(?P<pause>{_words_regex(common['pause'])})",
        rf"(?P<sep>{SEP_CHAR.pattern}|{_words_regex(spec.get('range', []))})",
        rf"(?P<list>{LIST_CHAR.pattern}|{_words_regex(spec.get('list', []))})",
    )
    # a time range starts with a digit or a "from" word, a day word with one of day_firsts:
    # a lookahead for that character spares trying the group's alternatives elsewhere
    # (and a word of a word list with its first character, a separator or list with theirs)
    def firsts(words: list[str]) -> set[str]:
        return {c for word in words for c in _first_chars(word)}

    guards = (
        _guard(firsts(spec.get("from", [])), r"\d"),
        _guard(day_firsts),
        _guard(firsts(common["closed"])),
        _guard(firsts(common["pause"])),
        _guard(firsts(spec.get("range", [])), _DASH),
        _guard(firsts(spec.get("list", [])), ",/&+"),
    )
    return Lang(
        code=code,
        lexer=re.compile(_lexer_source(parts, guards, ALL_GROUPS), re.I),
        day_alts=tuple((a, key) for _, a, key in alts),
        shape_day_alts=tuple(shape_alts),
        words=words,
        stems=tuple(sorted(stems, key=lambda s: len(s[0]), reverse=True)),
        range_suffixes=tuple(spec.get("range_suffixes", [])),
        parts=parts,
        guards=guards,
        range_gate=first_runs(spec.get("range", [])),
        list_gate=first_runs(spec.get("list", [])),
        time_range_gate=first_runs(spec.get("time_range", [])),
        keyless_days=any(key is None for _, _a, key in alts),
    )


@cache
def vocab() -> Vocab:
    """Load and compile the hours vocabulary once per process."""
    data = load("hours.toml")
    langs = {code: _compile_lang(code, spec, data) for code, spec in data["lang"].items()}
    always = re.compile("|".join(f"(?:{p})" for p in data["always_open"]), re.I)
    day_alts = tuple(alt for lang in langs.values() for alt in lang.day_alts)
    any_day = re.compile(_day_regex("|".join(a for a, _key in day_alts)), re.I)
    word_langs: dict[str, set[str]] = {}
    for code, lang in langs.items():
        for word in lang.words:
            word_langs.setdefault(word, set()).add(code)
    timeish = (
        r"\d\s?[:hu時]\s?[0-5]\d|\d\s?(?:uhr|óra|h|uur|[ap]\.?m\.?)(?![^\W\d_])|\d\s?時"
        # a range of dotted times, as Nordic, Slavic and Greek pages write them: 9.00–16.00
        # (the lookbehind after the first digit keeps the engine's skip to digits)
        r"|\d(?<![\d.]\d)\d?\.[0-5]\d\s?[\-–—]\s?\d\d?\.[0-5]\d"
    )
    shape_day_alts = tuple(alt for lang in langs.values() for alt in lang.shape_day_alts)
    shape_days = "|".join(a for a, _key in shape_day_alts)
    shape_day = re.compile(_day_regex(shape_days), re.I)
    time_range = {w for spec in data["lang"].values() for w in spec.get("time_range", [])}
    lexable_words = (
        _trange_regex(sorted(time_range), data["units"], None)
        + rf"|{_words_regex(data['closed'])}|{_words_regex(data['pause'])}"
    )
    lexable = (
        _trange_regex(sorted(time_range), data["units"], None)
        + rf"|(?<!{_WORD})(?:{shape_days})\.?(?!{_WORD})"
        + rf"|{_words_regex(data['closed'])}|{_words_regex(data['pause'])}"
    )
    lexable_days = "|".join(a for a, key in shape_day_alts if key is None) or "(?!)"
    shape_timeish = re.compile(_shape_literal(timeish), re.I)
    shape_always = re.compile(_shape_literal(data["always_open_quick"]), re.I)
    closed = re.compile(_words_regex(data["closed"]), re.I)
    day_words = _DayWords.of({any_day: day_alts, shape_day: shape_day_alts})
    shape = ShapeTests(
        timeish=shape_timeish,
        always=shape_always,
        day=shape_day,
        lexable=re.compile(lexable, re.I),
        lexable_words=re.compile(lexable_words, re.I),
        lexable_days=re.compile(rf"(?<!{_WORD})(?:{lexable_days})\.?(?!{_WORD})", re.I),
        folded_timeish=folded_regex(shape_timeish),
        folded_always=folded_regex(shape_always),
        day_words=day_words,
        always_words=_plain_words(_shape_literal(data["always_open_quick"])),
        lexable_parts=(
            re.compile(_trange_regex(sorted(time_range), data["units"], None), re.I),
            re.compile(_words_regex(data["closed"]), re.I),
            re.compile(_words_regex(data["pause"]), re.I),
        ),
        closed_gate=first_runs(data["closed"]),
        pause_gate=first_runs(data["pause"]),
        keyless_digit=all(alt[:1].isdigit() for alt, key in shape_day_alts if key is None),
    )
    always_quick = re.compile(data["always_open_quick"], re.I)
    stem_langs = tuple((stem, code) for code, lang in langs.items() for stem, _ in lang.stems)
    timeish_re = re.compile(timeish, re.I)
    closed_tokens = _ClosedTokens.of(data["closed"])
    folded_closed = folded_regex(closed)
    return Vocab(
        langs=langs,
        order=tuple(langs),
        always=always,
        always_quick=always_quick,
        any_day=any_day,
        word_langs={w: frozenset(c) for w, c in word_langs.items()},
        stem_langs=stem_langs,
        hints=re.compile(_words_regex(data["hints"]), re.I),
        closed=closed,
        timeish=timeish_re,
        shape=shape,
        day_words=day_words,
        folded_always_quick=folded_regex(always_quick),
        folded_always=folded_regex(always),
        folded_closed=folded_closed,
        folded_timeish=folded_regex(timeish_re),
        closed_tokens=closed_tokens,
        words_in_shapes=_WordsInShapes(shape.always_words, closed_tokens, folded_closed)
        if shape.always_words is not None and folded_closed is not None
        else None,
        closed_gate=first_runs(data["closed"]),
        pause_gate=first_runs(data["pause"]),
        stem_codes={stem: frozenset(c for s, c in stem_langs if s == stem) for stem, _code in stem_langs},
        stem_lengths=tuple(sorted({len(stem) for stem, _code in stem_langs})),
        particles=Particles.of(data.get("particles", {})),
    )
