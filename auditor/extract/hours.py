"""Service hours: when a published channel is staffed, normalized to OSM style.

Hours are read from visible text in fourteen languages (day words, day ranges,
time ranges, "closed", always-open phrases) and from schema.org data
(``openingHours``, ``openingHoursSpecification``, ``hoursAvailable``). The value
is an ``opening_hours``-like string ("Mo-Fr 08:00-17:00; Sa 09:00-13:00" or
"24/7") so that the same schedule seen on several pages deduplicates.

A number range alone is never hours: dates, prices and phone numbers are full of
them. A range needs a day word before it, a time-like spelling (``8:00``, ``9h``,
``17 Uhr``, ``16 óra``) with an hours word nearby, or an always-open phrase.
Vocabulary lives in ``auditor/data/hours.toml``.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import ahocorasick
import phonenumbers

from auditor.data import load
from auditor.extract import confidence as conf
from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.page import THIRD_PARTY, ParsedPage
from auditor.models import ContactPoint
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
CONFIDENCE = {"days": conf.STRUCTURED, "always": conf.LIKELY, "bare": conf.WEAK, "structured": conf.MACHINE}
_WORD = r"[^\W_]"  # a letter or digit, Unicode-aware
_DIGIT = re.compile(r"\d")
_KINDS = ("trange", "day", "closed", "pause", "sep", "list")  # lexer groups, in order
# two numbers joined by a dash, a short word or a Hungarian case ending ("8-tól 16-ig")
_RANGEISH = re.compile(r"\d[^\s\d]{0,5}\s*[-–—]\s*\d|\d[^\s\d]{0,5}\s+(?:[^\W\d_]{1,7}\.?\s+)?\d")
NEIGHBOUR_MAX_CHARS = 80
MAX_BLOCK_CHARS = 20_000  # hours sit near the top of a block; a text dump is not read whole

_DASH = r"\-–—‑~"  # dashes, escaped for use inside a character class
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
        rf"(?:{group('s')}[:.]|\s?[hu]\s?){group('m')}[0-5]\d))?"
        rf"(?:\s?{group('ap')}[ap]\.?\s?m\.?)(?![^\W\d_]))?"
        rf"(?:\s?{group('sx')}uhr|h|u|hod\.?|hodin|órá(?:tól|ig)|óra|uur|godz\.?|ч\.?|saat|heures?)"
        rf"(?![^\W\d_]))?"
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
    day_body: str  # the bare day-word alternation, for the all-languages regex
    shape_day_body: str  # the same for digit shapes (``digit_shapes``): digits written as 0
    words: dict[str, tuple[int, ...]]  # lower-cased day / group word -> days
    stems: tuple[tuple[str, tuple[int, ...]], ...]
    range_suffixes: tuple[str, ...]


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
    shape: _ShapeTests
    day_words: _DayWords
    # the same tests for text folded by fold(keep_accents=True), written without re.I (None: not possible)
    folded_always_quick: re.Pattern[str] | None = None
    folded_closed: re.Pattern[str] | None = None
    folded_timeish: re.Pattern[str] | None = None
    closed_tokens: _ClosedTokens | None = None  # folded_closed by letter runs and a set
    words_in_shapes: _WordsInShapes | None = None  # both tests for many digitless shapes

    def search_folded(self, name: str, text: str, folded: str) -> bool:
        """``getattr(self, name).search(text)``, on the folded text where it can be."""
        fast = getattr(self, f"folded_{name}")
        return bool(fast.search(folded) if fast is not None else getattr(self, name).search(text))


_LETTERS = re.compile(r"[^\W\d_]+")
_ALNUM = re.compile(r"[^\W_]+")
_REGEX_CHARS = re.compile(r"[\\\[\](){}*+?|^$.]")


def _plain_words(quick: str) -> tuple[str, ...] | None:
    """always_quick's plain-word alternatives (of its shape form), when all its others need
    digits ("24", written "00" in shapes)."""
    alternatives = quick.split("|")
    words = tuple(a for a in alternatives if not _REGEX_CHARS.search(a))
    if any("00" not in a for a in alternatives if a not in words) or any(w != fold(w, keep_accents=True) for w in words):
        return None
    return words


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
            last = len(folded) - 1
            for end, (length, whole, first) in self.closed.iter(folded):
                start = end - length + 1
                # a whole run: no letter or digit on either side ("[^\W_]" is str.isalnum)
                if (start and folded[start - 1].isalnum()) or (end < last and folded[end + 1].isalnum()):
                    continue
                index = bisect_right(starts, start) - 1
                if whole:
                    closed.add(index)
                elif first:
                    firsts.add(index)
        found = []
        for i in range(len(shapes)):
            text = folded[starts[i] : starts[i + 1] - 1]
            is_closed = i in closed or (i in firsts and self.closed_regex.search(text) is not None)
            found.append((text, i in always, is_closed))
        return found


def _day_entries(spec: dict[str, Any]) -> Iterator[str]:
    for entries in spec["days"]:
        yield from entries
    for group in spec.get("groups", []):
        yield from group["words"]


class _DayWords:
    """A cheap test every text the day regex matches in passes: a letter run of the text is
    a day word's first word, or starts with a day stem. Ten times faster than the regex
    (whose hundreds of alternatives the engine tries at every position) on prose; each
    distinct letter run is looked up once (prose repeats its words)."""

    def __init__(self, words: frozenset[str], stems: frozenset[str]) -> None:
        self.words = words
        self.stems = stems
        self.stem_lengths = tuple(sorted({len(stem) for stem in stems}))
        self.is_day_token = lru_cache(maxsize=1 << 16)(self._is_day_token)

    @classmethod
    def of(cls, entries: Iterable[str]) -> _DayWords:
        words: set[str] = set()
        stems: set[str] = set()
        for entry in entries:
            bare = entry.lstrip("!=")
            stem = bare.endswith("*")
            tokens = _LETTERS.findall(fold(bare.rstrip("*"), keep_accents=True))
            if not tokens:
                continue
            if stem and len(tokens) == 1:
                stems.add(tokens[0])
            else:
                words.add(tokens[0])
        return cls(frozenset(words), frozenset(stems))

    def _is_day_token(self, token: str) -> bool:
        if token in self.words:
            return True
        stems = self.stems
        return any(token[:n] in stems for n in self.stem_lengths if n <= len(token))

    def _starts(self, folded: str) -> Iterator[int]:
        """Where a day regex can match: its matches start a letter run that is a day token."""
        is_day = self.is_day_token
        return (m.start() for m in _LETTERS.finditer(folded) if is_day(m.group()))

    def search(self, regex: re.Pattern[str], text: str, folded: str) -> bool:
        """``regex.search(text)`` for a day regex, tried only where a day word can start.

        A day regex's lookarounds make it start a letter run, with a day word's first word:
        an anchored match there finds what a search finds, without trying its hundreds of
        alternatives at every position of a long block.
        """
        return any(regex.match(text, pos) for pos in self._starts(folded))

    def findall(self, regex: re.Pattern[str], text: str, folded: str) -> list[str]:
        """``regex.findall(text)`` for a day regex (no groups), the same way."""
        found: list[str] = []
        end = 0
        for pos in self._starts(folded):
            if pos >= end and (m := regex.match(text, pos)):
                found.append(m.group())
                end = m.end()
        return found


@dataclass(frozen=True)
class _ShapeTests:
    """Tests run once per digit shape of a block (``digit_shapes``), never once per block.

    Each is true for a shape whenever its counterpart on the real text can be: a false
    one rules a block out, a true one sends the block to the real test.
    """

    timeish: re.Pattern[str]  # Vocab.timeish
    always: re.Pattern[str]  # Vocab.always_quick
    day: re.Pattern[str]  # Vocab.any_day
    lexable: re.Pattern[str]  # any lexer token but a separator ("-", "to", ",", "and")
    day_words: _DayWords  # where day can match, on folded text
    # the same tests for folded text (fold(keep_accents=True)), where they can be written without re.I
    folded_timeish: re.Pattern[str] | None = None
    folded_always: re.Pattern[str] | None = None
    # without digits only always_quick's plain words can match: substring tests, in C
    always_words: tuple[str, ...] | None = None


def _entry_regex(entry: str) -> tuple[str, str, bool]:
    """(regex, lookup key, is_stem) for one vocabulary entry (see hours.toml)."""
    if entry.startswith("!"):
        word = entry[1:]
        exact = f"(?-i:{re.escape(word)}|{re.escape(word.upper())})"
        # "P.–Pk.", "S. 10–14" too, and a table cell holding the day alone ("L" | "9–21")
        follow = rf"(?=\.?\s*(?:[{_DASH},:/&]|\d|$))"
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


def _compile_lang(code: str, spec: dict[str, Any], common: dict[str, Any]) -> Lang:
    words: dict[str, tuple[int, ...]] = {}
    stems: list[tuple[str, tuple[int, ...]]] = []
    alts: list[tuple[int, str]] = []  # (sort length, regex)
    shape_alts: list[str] = []

    def add(entry: str, days: tuple[int, ...]) -> None:
        regex, key, is_stem = _entry_regex(entry)
        if is_stem:
            stems.append((key, days))
        else:
            words[key] = days
        alts.append((len(key) + (100 if is_stem else 0), regex))
        shape_alts.append(_entry_regex(_shape_literal(entry))[0])

    for index, entries in enumerate(spec["days"]):
        for entry in entries:
            add(entry, (index,))
    for group in spec.get("groups", []):
        first, last = DAY_INDEX[group["days"][0]], DAY_INDEX[group["days"][1]]
        for entry in group["words"]:
            add(entry, tuple(range(first, last + 1)))
    alts.sort(key=lambda a: a[0], reverse=True)
    day_alt = rf"(?<!{_WORD})(?:{'|'.join(a for _, a in alts)})\.?(?!{_WORD})"

    trange = rf"(?:(?P<fw>{_words_regex(spec.get('from', []))})\s*)?" + _trange_regex(
        spec.get("time_range", []), common["units"]
    )
    lexer = (
        rf"(?P<trange>{trange})"
        rf"|(?P<day>{day_alt})"
        rf"|(?P<closed>{_words_regex(common['closed'])})"
        rf"|(?P<pause>{_words_regex(common['pause'])})"
        rf"|(?P<sep>[{_DASH}]|{_words_regex(spec.get('range', []))})"
        rf"|(?P<list>[,/&+]|{_words_regex(spec.get('list', []))})"
    )
    return Lang(
        code=code,
        lexer=re.compile(lexer, re.I),
        day_body="|".join(a for _, a in alts),
        shape_day_body="|".join(shape_alts),
        words=words,
        stems=tuple(sorted(stems, key=lambda s: len(s[0]), reverse=True)),
        range_suffixes=tuple(spec.get("range_suffixes", [])),
    )


@cache
def vocab() -> Vocab:
    """Load and compile the hours vocabulary once per process."""
    data = load("hours.toml")
    langs = {code: _compile_lang(code, spec, data) for code, spec in data["lang"].items()}
    always = re.compile("|".join(f"(?:{p})" for p in data["always_open"]), re.I)
    bodies = "|".join(lang.day_body for lang in langs.values())
    # one shared boundary and a letter lookahead keep this big alternation fast
    any_day = re.compile(rf"(?<!{_WORD})(?=[^\W\d_])(?:{bodies})\.?(?!{_WORD})", re.I)
    word_langs: dict[str, set[str]] = {}
    for code, lang in langs.items():
        for word in lang.words:
            word_langs.setdefault(word, set()).add(code)
    timeish = (
        r"\d\s?[:hu]\s?[0-5]\d|\d\s?(?:uhr|óra|h|uur|[ap]\.?m\.?)(?![^\W\d_])"
        # a range of dotted times, as Nordic, Slavic and Greek pages write them: 9.00–16.00
        # (the lookbehind after the first digit keeps the engine's skip to digits)
        r"|\d(?<![\d.]\d)\d?\.[0-5]\d\s?[\-–—]\s?\d\d?\.[0-5]\d"
    )
    shape_days = "|".join(lang.shape_day_body for lang in langs.values())
    time_range = {w for spec in data["lang"].values() for w in spec.get("time_range", [])}
    lexable = (
        _trange_regex(sorted(time_range), data["units"], None)
        + rf"|(?<!{_WORD})(?:{shape_days})\.?(?!{_WORD})"
        + rf"|{_words_regex(data['closed'])}|{_words_regex(data['pause'])}"
    )
    shape_timeish = re.compile(_shape_literal(timeish), re.I)
    shape_always = re.compile(_shape_literal(data["always_open_quick"]), re.I)
    closed = re.compile(_words_regex(data["closed"]), re.I)
    day_words = _DayWords.of(e for spec in data["lang"].values() for e in _day_entries(spec))
    shape = _ShapeTests(
        timeish=shape_timeish,
        always=shape_always,
        day=re.compile(rf"(?<!{_WORD})(?=[^\W\d_])(?:{shape_days})\.?(?!{_WORD})", re.I),
        lexable=re.compile(lexable, re.I),
        folded_timeish=folded_regex(shape_timeish),
        folded_always=folded_regex(shape_always),
        day_words=day_words,
        always_words=_plain_words(_shape_literal(data["always_open_quick"])),
    )
    always_quick = re.compile(data["always_open_quick"], re.I)
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
        stem_langs=tuple((stem, code) for code, lang in langs.items() for stem, _ in lang.stems),
        hints=re.compile(_words_regex(data["hints"]), re.I),
        closed=closed,
        timeish=timeish_re,
        shape=shape,
        day_words=day_words,
        folded_always_quick=folded_regex(always_quick),
        folded_closed=folded_closed,
        folded_timeish=folded_regex(timeish_re),
        closed_tokens=closed_tokens,
        words_in_shapes=_WordsInShapes(shape.always_words, closed_tokens, folded_closed)
        if shape.always_words is not None and folded_closed is not None
        else None,
    )


# --------------------------------------------------------------------------- lexing


@dataclass(frozen=True)
class Token:
    kind: str  # "always" or one of _KINDS
    start: int
    end: int
    block: int
    text: str
    days: tuple[int, ...] = ()
    span: tuple[int, int] | None = None
    timeish: bool = False


def _minutes(h: str, m: str | None, ap: str | None) -> int:
    hour = int(h)
    if ap:
        pm = ap.lower().startswith("p")
        hour = hour % 12 + (12 if pm else 0)
    return hour * 60 + int(m or 0)


def _range(m: re.Match[str]) -> tuple[tuple[int, int], bool] | None:
    """(opens, closes) in minutes and whether it is spelled like a time, or None."""
    g = m.groupdict()
    clock = {
        n: bool(g[f"m{n}"] and g[f"s{n}"] and g[f"s{n}"].strip() in (":", "h", "u")) for n in "12"
    }
    timeish = clock["1"] or clock["2"]
    for n in "12":
        if g[f"sx{n}"] or g[f"ap{n}"] or g[f"hu{n}"] or g[f"m{n}"] in ("00", "15", "30", "45"):
            timeish = True
    if g["sw"] and not (g["fw"] or (clock["1"] and clock["2"]) or g["sx2"] or g["ap2"] or g["hu1"]):
        return None  # "10 and 1", "2 to 3": numbers joined by a word are not hours
    ap1, ap2 = g["ap1"], g["ap2"]
    opens = _minutes(g["h1"], g["m1"], ap1)
    closes = _minutes(g["h2"], g["m2"], ap2)
    if (
        ap2
        and not ap1
        and ap2.lower().startswith("p")
        and opens < 12 * 60
        and opens + 720 <= closes
    ):
        opens += 720  # "1-5pm" is 13:00-17:00, "9-5pm" stays 09:00
    if opens >= 24 * 60 or closes > 24 * 60:
        return None
    if closes == 0 or closes == 24 * 60 - 1:
        closes = 24 * 60  # "-00:00" and "-23:59" both mean until midnight
    if closes < opens and not (ap1 or ap2) and closes <= 8 * 60 and closes + 720 > opens:
        closes += 720  # "Mon-Fri 8-5", "8:30-5:30"
    elif closes <= opens and not (clock["1"] and clock["2"] and closes < opens):
        return None  # only "22:00-06:00" spelled in full may run past midnight
    if not timeish and not (5 * 60 <= opens and closes - opens >= 60):
        return None
    return (opens, closes), timeish


def _day_lookup(lang: Lang, word: str) -> tuple[int, ...]:
    key = " ".join(word.lower().rstrip(".").split())
    if key in lang.words:
        return lang.words[key]
    for stem, days in lang.stems:
        if key.startswith(stem):
            return days
    return ()


def _pick_lang(text: str, page_lang: str | None, v: Vocab) -> Lang:
    """The language whose day words explain the block best (page language breaks ties).

    One pass of the all-languages day regex; each matched word votes for every
    language that has it ("Mo" for en and de, "Pzt" for tr only), a whole word twice
    as much as a short abbreviation.
    """
    scores: dict[str, float] = {}
    for word in v.day_words.findall(v.any_day, text, fold(text, keep_accents=True)):
        key = " ".join(word.lower().rstrip(".").split())
        codes = v.word_langs.get(key)
        if codes is None:
            codes = frozenset(code for stem, code in v.stem_langs if key.startswith(stem))
        weight = 2.0 if len(key) > 3 else 1.0  # "radnim danima" says more than a stray "do"
        for code in codes:
            scores[code] = scores.get(code, 0.0) + weight
    if page_lang in scores:
        scores[page_lang] += 0.5
    if scores:
        best = max(v.order, key=lambda code: (scores.get(code, 0.0), -v.order.index(code)))
        return v.langs[best]
    return v.langs.get(page_lang or "", v.langs[v.order[0]])


def _lex(text: str, block: int, lang: Lang, v: Vocab) -> list[Token]:
    """Tokens of one block: always-open phrases first, then the language lexer.

    Always-open phrases are blanked out before lexing so "0-24" is never also
    read as a time range.
    """
    tokens: list[Token] = []
    if v.always_quick.search(text):
        chars = list(text)
        for m in v.always.finditer(text):
            tokens.append(Token("always", m.start(), m.end(), block, m.group(0)))
            chars[m.start() : m.end()] = "\x00" * (m.end() - m.start())
        if tokens:
            text = "".join(chars)
    for m in lang.lexer.finditer(text):
        kind = next(k for k in _KINDS if m.start(k) >= 0)
        if kind == "trange":
            parsed = _range(m)
            if parsed is None or _currency_before(text, m.start()):
                continue
            span, timeish = parsed
            tokens.append(
                Token(kind, m.start(), m.end(), block, m.group(0), span=span, timeish=timeish)
            )
        elif kind == "day":
            days = _day_lookup(lang, m.group(0))
            if days:
                tokens.append(Token(kind, m.start(), m.end(), block, m.group(0), days=days))
        else:
            tokens.append(Token(kind, m.start(), m.end(), block, m.group(0)))
    tokens.sort(key=lambda t: t.start)
    return tokens


def _currency_before(text: str, start: int) -> bool:
    before = text[max(0, start - 3) : start]
    return any(sym in before for sym in "€$£₺₽₴")


# --------------------------------------------------------------------------- schedules


@dataclass
class Schedule:
    """Spans gathered from neighbouring tokens: one published set of hours."""

    per_day: dict[int, set[tuple[int, int]]] = field(default_factory=dict)
    bare: set[tuple[int, int]] = field(default_factory=set)
    closed: set[int] = field(default_factory=set)
    always: bool = False
    pieces: dict[int, list[int]] = field(default_factory=dict)  # block -> [start, end]
    exprs: set[int] = field(default_factory=set)
    last_block: int = -1
    kind: str = "days"  # "days" (text), "always" (a lone always-open phrase), "structured"

    def touch(self, block: int, start: int, end: int) -> None:
        piece = self.pieces.setdefault(block, [start, end])
        piece[0], piece[1] = min(piece[0], start), max(piece[1], end)
        self.last_block = max(self.last_block, block)


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_runs(days: Sequence[int]) -> str:
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and runs[-1][-1] == d - 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{DAYS[run[0]]}-{DAYS[run[-1]]}")
        else:
            parts.extend(DAYS[d] for d in run)
    return ",".join(parts)


def render(sched: Schedule) -> tuple[str, list[dict[str, Any]], bool] | None:
    """(value, spans, always_open) for a schedule, or None when it says nothing."""
    per_day = {d: set(s) for d, s in sched.per_day.items()}
    if sched.always:
        for d in range(7):
            per_day.setdefault(d, set()).add(FULL_DAY)
    if per_day:
        if len(per_day) == 7 and all(s == {FULL_DAY} for s in per_day.values()):
            spans = [{"days": list(DAYS), "open": "00:00", "close": "24:00"}]
            return "24/7", spans, True
        groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
        for d in sorted(per_day):
            groups.setdefault(tuple(sorted(per_day[d])), []).append(d)
        rules, spans = [], []
        for times, days in groups.items():
            rules.append(f"{_day_runs(days)} {','.join(f'{_fmt(o)}-{_fmt(c)}' for o, c in times)}")
            for o, c in times:
                spans.append({"days": [DAYS[d] for d in days], "open": _fmt(o), "close": _fmt(c)})
        return "; ".join(rules), spans, False
    if sched.bare:
        times = sorted(sched.bare)
        spans = [{"days": [], "open": _fmt(o), "close": _fmt(c)} for o, c in times]
        return ",".join(f"{_fmt(o)}-{_fmt(c)}" for o, c in times), spans, False
    return None


class _Parser:
    """Pairs day expressions with the time ranges that follow them, across blocks."""

    def __init__(self, blocks: Sequence[str], tokens: list[Token], langs: dict[int, Lang]) -> None:
        self.blocks = blocks
        self.toks = tokens
        self.langs = langs
        self.schedules: list[Schedule] = []
        self.cur: Schedule | None = None
        self.expr_id = 0
        self.hints = vocab().hints

    def _gap_ok(self, a: Token, b: Token) -> bool:
        if a.block != b.block:
            return False
        gap = self.blocks[a.block][a.end : b.start]
        if any(c.isdigit() for c in gap) or len(gap) > MAX_GAP_CHARS:
            return False
        return len(re.findall(r"[^\W\d_]+", gap)) <= MAX_GAP_WORDS

    def _day_expr(self, i: int) -> tuple[list[int], int]:
        """Days named by the expression starting at token ``i``; index after it."""
        toks = self.toks
        lang = self.langs[toks[i].block]
        days = list(toks[i].days)
        j = i + 1
        while j < len(toks):
            prev, tok = toks[j - 1], toks[j]
            if tok.kind in ("sep", "list") and j + 1 < len(toks) and toks[j + 1].kind == "day":
                nxt = toks[j + 1]
                if not (self._gap_ok(prev, tok) and self._gap_ok(tok, nxt)):
                    break
                if tok.kind == "sep" and len(prev.days) == 1 and len(nxt.days) == 1:
                    days.extend(_wrap_range(prev.days[0], nxt.days[0])[1:])
                else:
                    days.extend(nxt.days)
                j += 2
                continue
            if tok.kind == "day" and prev.kind == "day" and self._gap_ok(prev, tok):
                word = prev.text.lower().rstrip(".")
                if (
                    lang.range_suffixes
                    and word.endswith(lang.range_suffixes)
                    and len(prev.days) == 1
                ):
                    days.extend(_wrap_range(prev.days[0], tok.days[0])[1:])
                else:
                    days.extend(tok.days)
                j += 1
                continue
            break
        seen: list[int] = []
        for d in days:
            if d not in seen:
                seen.append(d)
        return seen, j

    def _schedule_for(self, block: int, days: Sequence[int] | None, expr: int) -> Schedule:
        cur = self.cur
        fresh = (
            cur is None
            or cur.kind != "days"
            or block - cur.last_block > MAX_BLOCK_HOP
            or (days is not None and expr not in cur.exprs and any(d in cur.per_day for d in days))
        )
        if fresh:
            cur = Schedule()
            self.schedules.append(cur)
            self.cur = cur
        assert cur is not None
        cur.exprs.add(expr)
        return cur

    def _add(
        self,
        days: Sequence[int] | None,
        span: tuple[int, int],
        tok: Token,
        expr: int,
        first: Token | None,
    ) -> Schedule:
        sched = self._schedule_for(tok.block, days, expr)
        if days is None:
            sched.bare.add(span)
        else:
            for d in days:
                sched.per_day.setdefault(d, set()).add(span)
        if first is not None:
            sched.touch(first.block, first.start, first.end)
        sched.touch(tok.block, tok.start, tok.end)
        return sched

    def _hinted(self, block: int) -> bool:
        return any(
            self.hints.search(self.blocks[b])
            for b in (block, block - 1)
            if 0 <= b < len(self.blocks)
        )

    def run(self) -> list[Schedule]:
        toks = self.toks
        ctx: list[int] | None = None
        ctx_tok: Token | None = None
        ctx_used = False
        pending_pause = False
        last_added: tuple[Schedule, Sequence[int] | None, tuple[int, int]] | None = None
        i = 0
        while i < len(toks):
            tok = toks[i]
            prev = toks[i - 1] if i else None
            if prev is not None and ctx is not None and ctx_tok is not None:
                if prev.block != tok.block:
                    if ctx_used or tok.block - ctx_tok.block > 1:
                        ctx = None
                    pending_pause = False
                elif not self._gap_ok(prev, tok):
                    ctx = None
            if tok.kind == "day":
                ctx, j = self._day_expr(i)
                ctx_tok, ctx_used = tok, False
                self.expr_id += 1
                i = j
                continue
            if tok.kind == "trange" and tok.span is not None:
                if pending_pause:
                    pending_pause = False
                elif ctx is not None:
                    sched = self._add(ctx, tok.span, tok, self.expr_id, ctx_tok)
                    last_added, ctx_used = (sched, ctx, tok.span), True
                else:
                    nxt = toks[i + 1] if i + 1 < len(toks) else None
                    if (
                        tok.timeish
                        and nxt is not None
                        and nxt.kind == "day"
                        and self._gap_ok(tok, nxt)
                    ):
                        days, j = self._day_expr(i + 1)
                        after = toks[j] if j < len(toks) else None
                        if not (
                            after and after.kind == "trange" and self._gap_ok(toks[j - 1], after)
                        ):
                            self.expr_id += 1
                            self._add(days, tok.span, tok, self.expr_id, nxt)
                            sched = self.cur
                            assert sched is not None
                            sched.touch(toks[j - 1].block, toks[j - 1].start, toks[j - 1].end)
                            i = j
                            continue
                    if tok.timeish and self._hinted(tok.block):
                        sched = self._add(None, tok.span, tok, -1, None)
                        last_added = (sched, None, tok.span)
            elif tok.kind == "closed" and ctx is not None and ctx_tok is not None:
                sched = self._schedule_for(tok.block, None, self.expr_id)
                sched.closed.update(ctx)
                sched.touch(ctx_tok.block, ctx_tok.start, ctx_tok.end)
                sched.touch(tok.block, tok.start, tok.end)
                ctx_used = True
            elif tok.kind == "always":
                if (
                    ctx is not None
                    and ctx_tok is not None
                    and prev is not None
                    and self._gap_ok(prev, tok)
                ):
                    self._add(ctx, FULL_DAY, tok, self.expr_id, ctx_tok)
                    ctx_used = True
                else:
                    sched = Schedule(always=True, kind="always")
                    sched.touch(tok.block, tok.start, tok.end)
                    self.schedules.append(sched)
            elif tok.kind == "pause":
                nxt = toks[i + 1] if i + 1 < len(toks) else None
                if nxt is not None and nxt.kind == "trange" and self._gap_ok(tok, nxt):
                    pending_pause = True
                elif (
                    prev is not None
                    and prev.kind == "trange"
                    and self._gap_ok(prev, tok)
                    and last_added
                ):
                    sched, days, span = last_added
                    _remove(sched, days, span)
                    last_added = None
            i += 1
        return _fold_closed(self.schedules)


def _fold_closed(schedules: list[Schedule]) -> list[Schedule]:
    """Give "Sun: closed" said apart from the hours to the nearest schedule, then drop it.

    Closed days are part of a schedule (``details["closed"]``), not hours of their own.
    """
    kept = [s for s in schedules if s.per_day or s.bare or s.always]
    for sched in schedules:
        if sched in kept or not sched.closed or not sched.pieces:
            continue
        block = min(sched.pieces)
        near = [k for k in kept if k.pieces and abs(min(k.pieces) - block) <= 2 * MAX_BLOCK_HOP + 2]
        if near:
            target = min(near, key=lambda k: abs(min(k.pieces) - block))
            target.closed.update(sched.closed)
            for b, (start, end) in sched.pieces.items():
                target.touch(b, start, end)
    return kept


def _wrap_range(first: int, last: int) -> list[int]:
    """Days from ``first`` to ``last`` inclusive, wrapping past Sunday (Sa-Mo)."""
    if last >= first:
        return list(range(first, last + 1))
    return list(range(first, 7)) + list(range(0, last + 1))


def _remove(sched: Schedule, days: Sequence[int] | None, span: tuple[int, int]) -> None:
    if days is None:
        sched.bare.discard(span)
        return
    for d in days:
        spans = sched.per_day.get(d)
        if spans is not None:
            spans.discard(span)
            if not spans:
                del sched.per_day[d]


# --------------------------------------------------------------------------- contacts


@dataclass(frozen=True)
class _Target:
    value: str
    raw: str
    digits: str  # national significant number for phones
    email: str


def _targets(contacts: Sequence[ContactPoint]) -> list[_Target]:
    out: list[_Target] = []
    for c in contacts:
        if c.kind == "phone":
            digits = ""
            try:
                digits = phonenumbers.national_significant_number(phonenumbers.parse(c.value, None))
            except phonenumbers.NumberParseException:
                digits = re.sub(r"\D", "", c.value)[-9:]
            out.append(_Target(c.value, c.raw.strip(), digits if len(digits) >= 6 else "", ""))
        elif c.kind == "email":
            out.append(_Target(c.value, c.raw.strip(), "", c.value.lower()))
    return out


def _find_target(text: str, target: _Target) -> int | None:
    """Where ``target`` appears in ``text`` (char offset), or None."""
    if target.raw and len(target.raw) >= 5:
        pos = text.find(target.raw)
        if pos >= 0:
            return pos
    if target.email:
        pos = text.lower().find(target.email)
        return pos if pos >= 0 else None
    if target.digits:
        positions = [i for i, ch in enumerate(text) if ch.isdigit()]
        digits = "".join(text[i] for i in positions)
        pos = digits.find(target.digits)
        if pos >= 0:
            return positions[pos]
    return None


def _applies_to(blocks: Sequence[str], sched: Schedule, targets: list[_Target]) -> str | None:
    """The contact point the schedule describes: same block(s) first, then neighbours."""
    if not targets or not sched.pieces:
        return None
    first, last = min(sched.pieces), max(sched.pieces)
    anchor = sched.pieces[first][0]
    best: tuple[int, str] | None = None
    for b in range(first, last + 1):
        for t in targets:
            pos = _find_target(blocks[b], t)
            if pos is not None:
                dist = abs(pos - anchor) if b == first else 10_000 + b
                if best is None or dist < best[0]:
                    best = (dist, t.value)
    if best is not None:
        return best[1]
    for b, pick_last in ((first - 1, True), (last + 1, False)):
        if not 0 <= b < len(blocks):
            continue
        hits = [(pos, t.value) for t in targets if (pos := _find_target(blocks[b], t)) is not None]
        if hits:
            hits.sort()
            return hits[-1][1] if pick_last else hits[0][1]
    return None


# --------------------------------------------------------------------------- text


def _always(text: str, v: Vocab, folded: str | None = None) -> bool:
    folded = fold(text, keep_accents=True) if folded is None else folded
    return v.search_folded("always_quick", text, folded) and bool(v.always.search(text))


def _is_seed(text: str, v: Vocab) -> bool:
    """A block that starts a neighbourhood worth lexing (see ``_candidates``)."""
    folded = fold(text, keep_accents=True)
    if _DIGIT.search(text):
        return bool(
            v.search_folded("timeish", text, folded)
            or (_RANGEISH.search(text) and v.day_words.search(v.any_day, text, folded))
            or _always(text, v, folded)
        )
    return _always(text, v, folded) or bool(
        v.search_folded("closed", text, folded) and v.day_words.search(v.any_day, text, folded)
    )


# what a block's shape says about the block (bits)
_MAY_SEED = 1  # run _is_seed on the text
_JOINS = 2  # a short block with a digit or a "closed" word: joins a neighbouring seed
_JOINS_IF_DAY = 4  # a short block that joins if it really holds a day word


def _day(shape: str, folded: str, tests: _ShapeTests) -> bool:
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
        digits = _DIGIT.search(shape) is not None
        if not digits and tests.always_words is not None:
            always = any(word in folded for word in tests.always_words)
        else:
            always = bool(tests.folded_always.search(folded) if tests.folded_always else tests.always.search(shape))
    code = _MAY_SEED if always else 0
    if digits:
        timeish = tests.folded_timeish.search(folded) if tests.folded_timeish else tests.timeish.search(shape)
        if timeish or (_RANGEISH.search(shape) and _day(shape, folded, tests)):
            code |= _MAY_SEED
        return code | (_JOINS if short else 0)
    if words is None:
        if v.folded_closed is not None and v.closed_tokens is not None:
            closed = v.closed_tokens.search(folded, v.folded_closed)
        else:
            closed = v.closed.search(shape) is not None
    if not (closed or short) or not _day(shape, folded, tests):
        return code | (_JOINS if short and closed else 0)
    if closed:
        code |= _MAY_SEED
    return code | ((_JOINS if closed else _JOINS_IF_DAY) if short else 0)


def _shape_codes(shapes: Sequence[str], v: Vocab) -> dict[str, int]:
    """``_shape_code`` of every distinct shape; the digitless ones' words in one pass."""
    distinct = list(dict.fromkeys(shapes))
    if v.words_in_shapes is None:
        return {shape: _shape_code(shape, v) for shape in distinct}
    codes: dict[str, int] = {}
    plain: list[str] = []
    for shape in distinct:
        if _DIGIT.search(shape) is None:
            plain.append(shape)
        else:
            codes[shape] = _shape_code(shape, v)
    for shape, words in zip(plain, v.words_in_shapes.scan(plain), strict=True):
        codes[shape] = _shape_code(shape, v, words)
    return codes


def _candidates(blocks: Sequence[str], v: Vocab, shapes: Sequence[str]) -> set[int]:
    """Blocks worth lexing: cheap tests first, since most blocks hold no hours.

    A block with a clock time, a number range and a day word, an always-open phrase, or a
    day word with "closed" is a seed; short neighbouring blocks with day words,
    digits or "closed" join it (hours tables put days and times in separate cells), and
    their short neighbours in turn. So a seed's neighbourhood is the whole stretch of
    seeds and joining blocks around it with at most one other block between two of them.

    The tests run once per digit shape (``digit_shapes``); only blocks whose shape passes get
    the real test on their text.
    """
    codes = list(map(_shape_codes(shapes, v).__getitem__, shapes))
    found: set[int] = set()
    stretch: list[int] = []
    seeded = False
    last = -3
    for i in [i for i, code in enumerate(codes) if code]:
        code = codes[i]
        seed = bool(code & _MAY_SEED) and _is_seed(blocks[i], v)
        joins = bool(code & _JOINS) or (
            bool(code & _JOINS_IF_DAY) and v.day_words.search(v.any_day, blocks[i], fold(blocks[i], keep_accents=True))
        )
        if not (seed or joins):
            continue
        if i - last > 2:
            if seeded:
                found.update(stretch)
            stretch, seeded = [], False
        stretch.append(i)
        seeded = seeded or seed
        last = i
    if seeded:
        found.update(stretch)
    return found


def parse_text(
    blocks: Sequence[str], page_lang: str | None = None, force_lang: str | None = None
) -> list[Schedule]:
    """Schedules found in consecutive text blocks (pure; used for text and JSON-LD)."""
    v = vocab()
    lang_code = (page_lang or "").split("-")[0].lower() or None
    shapes = digit_shapes(blocks)
    candidates = _candidates(blocks, v, shapes)
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
        if ok is None:
            ok = lexable[shape] = bool(
                v.shape.always.search(shape) or v.shape.lexable.search(shape)
            )
        if not ok:
            continue
        lang = v.langs[force_lang] if force_lang else _pick_lang(text, lang_code, v)
        langs[i] = lang
        tokens.extend(_lex(text, i, lang, v))
    return _Parser(blocks, tokens, langs).run()


def _mask_phones(blocks: list[str], contacts: Sequence[ContactPoint]) -> list[str]:
    """Blank out harvested phone numbers so "06 - 12 34 56 78" is never read as 06-12.

    Same-length filler keeps offsets valid for the raw text and the contact lookup.
    """
    raws = {
        c.raw.strip()
        for c in contacts
        if c.kind == "phone" and sum(ch.isdigit() for ch in c.raw) >= 6
    }
    raws = {r for r in raws if not r.lower().startswith("tel:")}
    if not raws:
        return blocks
    masked = []
    for text in blocks:
        for raw in raws:
            if raw in text:
                text = text.replace(raw, "#" * len(raw))
        masked.append(text)
    return masked


def _raw(blocks: Sequence[str], sched: Schedule) -> str:
    return " | ".join(blocks[b][s:e] for b, (s, e) in sorted(sched.pieces.items()))


def _context(blocks: Sequence[str], sched: Schedule) -> str:
    return " | ".join(blocks[b] for b in sorted(sched.pieces))


# --------------------------------------------------------------------------- structured


def _short_key(key: str) -> str:
    return key.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text_of(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("@id", "@value", "url", "value"):
            if isinstance(value.get(key), str):
                return value[key]
        props = value.get("properties")
        return _text_of(props.get("name")) if isinstance(props, dict) else ""
    return value if isinstance(value, str) else ""


def _clock(value: Any) -> int | None:
    m = re.match(r"\s*(\d{1,2}):(\d{2})", _text_of(value))
    if not m:
        return None
    h, mi = int(m.group(1)), int(m.group(2))
    if h > 24 or mi > 59:
        return None
    return h * 60 + mi


def _spec_into(spec: Any, sched: Schedule) -> bool:
    """Fold one OpeningHoursSpecification into ``sched``; False when unusable."""
    if isinstance(spec, dict) and isinstance(spec.get("properties"), dict):
        spec = spec["properties"]
    if not isinstance(spec, dict):
        return False
    props = {_short_key(k): v for k, v in spec.items()}
    if props.get("validThrough"):
        return False  # a holiday or seasonal exception, not the regular hours
    days = []
    for item in _as_list(props.get("dayOfWeek")):
        name = _short_key(_text_of(item)).strip().lower()
        if name in SCHEMA_DAYS:
            days.append(SCHEMA_DAYS[name])
    opens, closes = _clock(props.get("opens")), _clock(props.get("closes"))
    if not days or opens is None or closes is None:
        return False
    if opens == 0 and closes == 0:
        sched.closed.update(days)
        return True
    if closes == 0 or closes >= 23 * 60 + 59:
        closes = 24 * 60
    if closes <= opens:
        return False
    for d in days:
        sched.per_day.setdefault(d, set()).add((opens, closes))
    return True


def _structured_items(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema.org item (as a property dict) inside a JSON-LD / microdata tree."""
    if isinstance(node, list):
        for child in node:
            yield from _structured_items(child)
    elif isinstance(node, dict):
        props = node.get("properties") if isinstance(node.get("properties"), dict) else node
        yield props
        for key, value in props.items():
            if key != "@context" and isinstance(value, dict | list):
                yield from _structured_items(value)


def _item_target(item: dict[str, Any], targets: list[_Target]) -> str | None:
    """What a schema.org ContactPoint's ``hoursAvailable`` describes."""
    props = {_short_key(k): v for k, v in item.items()}
    phone = _text_of(_as_list(props.get("telephone"))[0]) if props.get("telephone") else ""
    email = _text_of(_as_list(props.get("email"))[0]) if props.get("email") else ""
    if phone:
        digits = re.sub(r"\D", "", phone)
        for t in targets:
            if t.digits and t.digits in digits:
                return t.value
        try:
            num = phonenumbers.parse(phone, None)
            if phonenumbers.is_possible_number(num):
                return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            pass
    if email:
        return email.removeprefix("mailto:").strip().lower()
    return None


def _structured(page: ParsedPage, targets: list[_Target]) -> Iterator[ContactPoint]:
    try:
        data = page.structured
    except Exception:  # noqa: BLE001 - broken structured data must not stop text hours
        return
    for method, root in (
        ("json-ld", data.get("json-ld", [])),
        ("microdata", data.get("microdata", [])),
    ):
        for item in _structured_items(root):
            props = {_short_key(k): v for k, v in item.items()}
            raws: list[str] = []
            sched = Schedule(kind="structured")
            applies: str | None = None
            strings = [s for s in map(_text_of, _as_list(props.get("openingHours"))) if s.strip()]
            if strings:
                found = parse_text(strings, force_lang="en") or parse_text(strings)
                for s in found:
                    for d, spans in s.per_day.items():
                        sched.per_day.setdefault(d, set()).update(spans)
                    sched.closed.update(s.closed)
                    sched.always = sched.always or s.always
                raws.extend(strings)
            for key in ("openingHoursSpecification", "hoursAvailable"):
                specs = _as_list(props.get(key))
                used = [spec for spec in specs if _spec_into(spec, sched)]
                if used:
                    raws.append(json.dumps(used, ensure_ascii=False, default=str)[:500])
                    if key == "hoursAvailable":
                        applies = _item_target(item, targets)
            rendered = render(sched)
            if rendered is None:
                continue
            value, spans, always = rendered
            yield _point(
                page, value, "; ".join(raws), method, spans, always, applies, sched, "; ".join(raws)
            )


def _point(
    page: ParsedPage,
    value: str,
    raw: str,
    method: str,
    spans: list[dict[str, Any]],
    always: bool,
    applies: str | None,
    sched: Schedule,
    context: str,
) -> ContactPoint:
    details: dict[str, Any] = {"always_open": always, "spans": spans, "applies_to": applies}
    if sched.closed - set(sched.per_day):
        details["closed"] = [DAYS[d] for d in sorted(sched.closed - set(sched.per_day))]
    if method == "text":
        confidence = (
            CONFIDENCE["always"]
            if sched.kind == "always"
            else (CONFIDENCE["days"] if sched.per_day else CONFIDENCE["bare"])
        )
    else:
        confidence = CONFIDENCE["structured"]
    return ContactPoint(
        kind="hours",
        value=value,
        raw=raw,
        label=None,
        method=method,
        page_url=page.url,
        context=context,
        confidence=confidence,
        details=details,
    )


def extract_hours(page: ParsedPage, context: ExtractContext = NO_CONTEXT) -> list[ContactPoint]:
    """Service hours on the page, each tied to the contact point it describes if any.

    The points it may describe are those the other extractors found (``context.found``).
    """
    contacts = context.found
    targets = _targets(contacts)
    out: list[ContactPoint] = []
    seen: set[tuple[str, str | None]] = set()
    if "ld+json" in page.html or "itemscope" in page.html:
        for point in _structured(page, targets):
            key = (point.value, point.details.get("applies_to"))
            if key not in seen:
                seen.add(key)
                out.append(point)
    # a third party's entry (the host's office hours) is not the company's: left blank
    blocks = [b.text if b.region != THIRD_PARTY else "" for b in page.blocks]
    for sched in parse_text(_mask_phones(blocks, contacts), page.lang):
        rendered = render(sched)
        if rendered is None:
            continue
        value, spans, always = rendered
        applies = _applies_to(blocks, sched, targets)
        key = (value, applies)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            _point(
                page,
                value,
                _raw(blocks, sched),
                "text",
                spans,
                always,
                applies,
                sched,
                _context(blocks, sched),
            )
        )
    return out
