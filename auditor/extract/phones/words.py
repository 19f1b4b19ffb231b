"""Phone words, label words and identifier keywords, compiled once from ``phone_labels.toml``.

See the data file's header for the keyword syntax (stems, case-sensitive capitals).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

from auditor.data import load


@dataclass(frozen=True)
class _Word:
    """What a matched word means: a label (None for plain "phone") and its languages."""

    label: str | None
    langs: frozenset[str]


_ID = _Word(None, frozenset())  # the meaning of every identifier keyword


@dataclass(frozen=True)
class Hit:
    start: int
    end: int
    word: _Word


@dataclass(frozen=True)
class _Entry:
    regex: re.Pattern[str]  # the whole keyword; matched where its first word starts
    word: _Word
    size: int  # of the keyword: of two matches of one word, the longer keyword is the finer


_TOKEN = re.compile(r"[^\W\d_]\w*")  # words start with a letter; digits are never keywords


class _Lexicon:
    """Keyword lookup by word, not by one giant regex alternation.

    A few hundred keywords in one alternation cost ~70 µs per short string (the engine
    tries every branch at every position); indexing them by their first word makes the
    common case (a table cell, a line with no keyword) a couple of dict look-ups.
    """

    def __init__(self, keywords: Iterable[tuple[str, _Word]]) -> None:
        self.exact: dict[str, list[_Entry]] = {}
        stems: dict[str, list[_Entry]] = {}
        self.inside: list[tuple[str, _Entry]] = []
        symbols: list[str] = []
        self.symbol_words: dict[str, _Word] = {}
        for keyword, word in keywords:
            core = _comma_below(keyword.strip("*").strip())
            if not core:
                continue
            entry = _Entry(re.compile(_keyword_regex(keyword)), word, len(core))
            first = _TOKEN.match(core)
            if keyword.startswith("*"):
                self.inside.append((core.lower(), entry))
            elif first is None:
                symbols.append(keyword)
                self.symbol_words[core] = word
            elif keyword.endswith("*") and first.end() == len(core):
                stems.setdefault(core.lower(), []).append(entry)
            else:
                self.exact.setdefault(first.group().lower(), []).append(entry)
        self.symbols = re.compile("|".join(re.escape(s) for s in symbols)) if symbols else None
        # stems ("telefon*") are indexed by their first letters: one look-up per word
        self.stem_key = min((len(k) for k in stems), default=1)
        self.stems: dict[str, list[tuple[str, _Entry]]] = {}
        for stem, entries in stems.items():
            bucket = self.stems.setdefault(stem[: self.stem_key], [])
            bucket.extend((stem, entry) for entry in entries)

        # pages repeat their captions ("SKU ", "Tel.: ") thousands of times
        self.find = lru_cache(maxsize=8192)(self._find)

    def _entries_for(self, low: str) -> Iterator[tuple[_Entry, bool]]:
        """Keywords that may start at a word (lower-cased): exact, stems, then inside ones (True)."""
        for entry in self.exact.get(low, ()):
            yield entry, False
        for stem, entry in self.stems.get(low[: self.stem_key], ()):
            if low.startswith(stem):
                yield entry, False
        for stem, entry in self.inside:
            if stem in low:
                yield entry, True

    def _find(self, text: str) -> tuple[Hit, ...]:
        """Keywords in ``text`` in order, the longest one where several start together."""
        text = _comma_below(text)
        found: dict[int, tuple[int, int, _Word]] = {}  # start -> (end, keyword size, word)

        def consider(entry: _Entry, pos: int, end: int | None = None) -> None:
            m = entry.regex.match(text, pos) if end is None else entry.regex.search(text, pos, end)
            if m and (m.end(), entry.size) > found.get(m.start(), (-1, -1, _ID))[:2]:
                found[m.start()] = (m.end(), entry.size, entry.word)

        for token in _TOKEN.finditer(text):
            pos, low = token.start(), token.group().lower()
            for entry, inside in self._entries_for(low):
                consider(entry, pos, token.end() + 8 if inside else None)
        if self.symbols is not None:
            for m in self.symbols.finditer(text):
                found.setdefault(m.start(), (m.end(), 0, self.symbol_words[m.group()]))
        return _in_order(found)


def _in_order(found: dict[int, tuple[int, int, _Word]]) -> tuple[Hit, ...]:
    """The hits by start, each starting after the one before ends."""
    hits: list[Hit] = []
    for start in sorted(found):
        if not hits or start >= hits[-1].end:
            hits.append(Hit(start, found[start][0], found[start][2]))
    return tuple(hits)


class _EndSearch:
    """``pattern.search`` for keywords that must end the text (``(?:keywords)\\s{0,2}$``),
    tried only where the text's last non-space character can end one of them.

    The alternation tries every keyword at every position (~6 µs on 8 characters); one
    character's test turns nearly all texts away. Exact: a match ends with its keyword's
    last character (never a space), followed by spaces alone, which ``rstrip`` removes.
    """

    def __init__(self, keywords: Iterable[str]) -> None:
        keywords = sorted(set(keywords))
        self.pattern = re.compile(rf"(?:{_alternation(keywords)})\s{{0,2}}$")
        ends = [_last_char(k) for k in keywords]
        # a stem ("word*") may end in any word character: no test then
        known = [e for e in ends if e is not None]
        self.ends = re.compile("|".join(known)) if known and len(known) == len(ends) else None

    def search(self, text: str) -> re.Match[str] | None:
        if self.ends is not None:
            tail = text.rstrip()
            if not tail or self.ends.fullmatch(tail[-1]) is None:
                return None
        return self.pattern.search(text)


def _last_char(keyword: str) -> str | None:
    """A regex for the last character a match of ``keyword`` (``_keyword_regex``) ends with."""
    core = _comma_below(keyword.strip("*").strip())
    if keyword.endswith("*") or not core:
        return None
    last = re.escape(core[-1])
    return last if core.isupper() else f"(?i:{last})"


@dataclass(frozen=True)
class _Vocab:
    words: _Lexicon
    ids: _Lexicon
    units_after: re.Pattern[str]
    units_before: _EndSearch
    joiner: re.Pattern[str]

    def hits(self, text: str) -> tuple[Hit, ...]:
        """Phone and label words in ``text``, in order."""
        return self.words.find(text) if text else ()


def _comma_below(text: str) -> str:
    """Romanian cedilla letters to comma-below, one character for one (offsets hold)."""
    return text.translate(_CEDILLAS)


_CEDILLAS = str.maketrans("şţŞŢ", "șțȘȚ")


def _keyword_regex(keyword: str) -> str:
    """A keyword of the data file as a regex; see the file's header for the syntax."""
    inside, more = keyword.startswith("*"), keyword.endswith("*")
    core = _comma_below(keyword.strip("*").strip())
    body = r"\s+".join(re.escape(part) for part in core.split())
    if not core.isupper():
        body = f"(?i:{body})"
    head = "" if inside else r"(?<!\w)"
    tail = r"\w*" if more else (r"(?!\w)" if core[-1:].isalnum() else "")
    return head + body + tail


def _alternation(keywords: Iterable[str]) -> str:
    ordered = sorted(set(keywords), key=lambda k: (-len(k.strip("*")), k))
    return "|".join(_keyword_regex(k) for k in ordered)


@lru_cache(maxsize=1)
def phone_vocab() -> _Vocab:
    """Load and compile the data file once per process."""
    data = load("phone_labels.toml")
    meaning: dict[str, tuple[str | None, set[str]]] = {}
    groups: list[tuple[str | None, Mapping[str, list[str]]]] = [(None, data.get("phone", {}))]
    groups += list(data.get("labels", {}).items())
    for label, by_lang in groups:
        for lang, keywords in by_lang.items():
            for keyword in keywords:
                if keyword not in meaning:  # the first label that claims a word keeps it
                    meaning[keyword] = (label, set())
                if meaning[keyword][0] == label:
                    meaning[keyword][1].add(lang)
    words = _Lexicon((k, _Word(label, frozenset(langs))) for k, (label, langs) in meaning.items())
    guards = data.get("guards", {})
    units = _alternation(guards.get("amount_units", []))
    joiners = _alternation(data.get("joiners", {}).get("words", []))
    return _Vocab(
        words=words,
        ids=_Lexicon((k, _ID) for k in guards.get("id_keywords", [])),
        units_after=re.compile(rf"\s{{0,2}}(?:{units})"),
        units_before=_EndSearch(guards.get("amount_units", [])),
        joiner=re.compile(rf"[\s,;/|&+]*(?:(?:{joiners})[\s,;/|&+]*)?"),
    )
