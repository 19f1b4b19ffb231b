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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import unquote

import phonenumbers
from phonenumbers import Leniency, PhoneNumber, PhoneNumberFormat, PhoneNumberMatcher

from auditor.data import load
from auditor.extract import confidence as conf
from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.hours import digit_shapes
from auditor.extract.page import THIRD_PARTY, Link, ParsedPage, TextBlock
from auditor.extract.region import region_from_lang
from auditor.models import ContactPoint, clip_context

UNKNOWN_REGION = "ZZ"
MIN_DIGITS = 6  # shorter runs are never phone numbers worth the matcher's time
MAX_RUN_DIGITS = 48  # longer runs are tables of figures, not a few numbers in a row
MAX_TRIES = 8  # matcher candidates per window: a window holds one or two numbers
SEGMENT_CHARS = 120  # how far back in a block a label word may stand
HEADING_CHARS = 60  # a block this short, without digits, can title the numbers below it
HEADING_LOOKBACK = 2
CONTEXT_SIDE = 90
MAX_TEL_LINKS = 300
MAX_STRUCT_NODES = 5_000
MAX_STRUCT_DEPTH = 24
MAX_VALUE_CHARS = 200

CONFIDENCE = {"tel-link": conf.MACHINE, "json-ld": conf.MACHINE, "microdata": conf.STRUCTURED}
_DEVICE_LABELS = frozenset({"mobile"})  # what kind of line, not what it is for

_TYPE_NAMES = {
    value: name for name, value in vars(phonenumbers.PhoneNumberType).items() if name.isupper()
}

# --- candidate runs and the shapes that are not phone numbers ----------------------------

_SEP = r"[\s\-./()\u2010-\u2015\u2212]"
_RUN = re.compile(rf"\d(?:{_SEP}{{0,3}}\d){{{MIN_DIGITS - 1},}}")
_DIGIT = re.compile(r"\d")

_NB = r"(?<![\d.\-/])"  # not the tail of a longer digit group
_NA = r"(?![.\-/]?\d)"  # not the head of a longer digit group
_NB_SPACE = r"(?<![\d.\-/])(?<!\d\s)"  # stricter, for short shapes like 03/2015
_NA_SPACE = r"(?![.\-/]?\d)(?!\s\d)"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MON = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d{2}"
_DASH = r"\s*[\-\u2010-\u2015\u2212]\s*"
# Every decoy starts with up to eight digits and then a separator, or with capitals before a
# digit or dash: the lookahead turns most positions away before the alternation is tried.
_DECOY_START = rf"(?=\d{{1,8}}(?:[./:,\-]|{_DASH})|[A-Z]{{1,2}}[\d\-])"
_DECOY_PATTERNS = (
    rf"{_NB}{_DAY}\.\s?{_MON}\.\s?(?:{_YEAR}|\d{{2}}){_NA}\.?",  # 10.05.2024
    rf"{_NB}{_DAY}\.{_MON}\.{_DASH}{_DAY}\.{_MON}(?:\.(?:{_YEAR})?)?{_NA}",  # 24.06.–25.06.
    rf"{_NB}{_DAY}[/\-]{_MON}[/\-](?:{_YEAR}|\d{{2}}){_NA}",  # 10/05/2024
    rf"{_NB}{_MON}[/\-]{_DAY}[/\-]{_YEAR}{_NA}",  # 05/10/2024
    rf"{_NB}{_YEAR}[.\-/]\s?{_MON}[.\-/]\s?{_DAY}{_NA}\.?",  # 2024-05-10, 2024.05.10.
    rf"{_NB}(?:{_MON}[./])?{_YEAR}{_DASH}(?:{_MON}[./])?(?:{_YEAR}|\d{{2}}){_NA}",  # ranges
    rf"{_NB}{_MON}[./]{_YEAR}\s+{_MON}[./]{_YEAR}{_NA}",  # 03/2015 03/2016
    rf"{_NB_SPACE}{_MON}[./]{_YEAR}{_NA_SPACE}",  # 03/2015
    rf"{_NB_SPACE}{_YEAR}/\d{{1,4}}{_NA_SPACE}",  # 2016/679
    rf"{_NB_SPACE}[1-9]\d{{0,3}}/{_YEAR}{_NA_SPACE}",  # 12/2020
    rf"{_NB}\d{{1,2}}[:.]\d{{2}}{_DASH}\d{{1,2}}[:.]\d{{2}}{_NA}",  # 08.00-16.00
    r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,8}(?:\s?[A-Z0-9]{1,3})?\b",  # IBAN
    r"(?<![\d\-])\d{8}-\d-\d{2}(?![\d\-])",  # HU tax number
    r"(?<![\d\-])\d{8}-\d{8}(?:-\d{8})?(?![\d\-])",  # HU bank account
    r"(?<![\d\-])\d{2}-\d{2}-\d{6}(?![\d\-])",  # HU company registry
    r"(?<![\d\-])\d{5}-\d{4}(?![\d\-])",  # ZIP+4
    r"(?<![\d\-])\d{2}-\d{3}(?![\d\-])(?!\s\d)",  # PL post code (not SE 08-465 004 20)
    r"\b[A-Z]{1,2}-\d{4,5}\b",  # D-10115, CH-8001
    rf"{_NB}\d{{1,3}}(?:[.,]\d{{3}})+[.,]\d{{2}}(?!\d)",  # 1.234.567,00
)
_DECOYS = re.compile(f"{_DECOY_START}(?:{'|'.join(_DECOY_PATTERNS)})")
_DECIMAL_TAIL = re.compile(r",\d{1,2}(?!\d)(?!\s?\d)")
_FILE_TAIL = re.compile(r"\.[A-Za-z]{2,5}\b")
_GLUE_BEFORE = frozenset("_=#&?@%\\")
_URLISH = re.compile(r"://|www\.|@", re.I)
_SLASH = re.compile(r"(?<=[\d)])(\s?)/(?=\s?\(?\d)")
_IDD_00 = re.compile(r"(?<![\d+])00(?=\s?[1-9])")
_PARENTHETICAL = re.compile(r"\s*[(\[]([^)\]]{1,30})")
_GROUPED = re.compile(r"\d\D+\d")
_TEL_PARAMS = re.compile(r"[;?].*$", re.S)


# --- vocabulary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    """What a matched word means: a label (None for plain "phone") and its languages."""

    label: str | None
    langs: frozenset[str]


_ID = _Word(None, frozenset())  # the meaning of every identifier keyword


@dataclass(frozen=True)
class _Hit:
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

    def _find(self, text: str) -> tuple[_Hit, ...]:
        """Keywords in ``text`` in order, the longest one where several start together."""
        text = _comma_below(text)
        found: dict[int, tuple[int, int, _Word]] = {}  # start -> (end, keyword size, word)

        def consider(entry: _Entry, pos: int, end: int | None = None) -> None:
            m = entry.regex.match(text, pos) if end is None else entry.regex.search(text, pos, end)
            if m and (m.end(), entry.size) > found.get(m.start(), (-1, -1, _ID))[:2]:
                found[m.start()] = (m.end(), entry.size, entry.word)

        for token in _TOKEN.finditer(text):
            pos, low = token.start(), token.group().lower()
            for entry in self.exact.get(low, ()):
                consider(entry, pos)
            for stem, entry in self.stems.get(low[: self.stem_key], ()):
                if low.startswith(stem):
                    consider(entry, pos)
            for stem, entry in self.inside:
                if stem in low:
                    consider(entry, pos, token.end() + 8)
        if self.symbols is not None:
            for m in self.symbols.finditer(text):
                found.setdefault(m.start(), (m.end(), 0, self.symbol_words[m.group()]))
        hits: list[_Hit] = []
        for start in sorted(found):
            if not hits or start >= hits[-1].end:
                hits.append(_Hit(start, found[start][0], found[start][2]))
        return tuple(hits)


@dataclass(frozen=True)
class _Vocab:
    words: _Lexicon
    ids: _Lexicon
    units_after: re.Pattern[str]
    units_before: re.Pattern[str]
    joiner: re.Pattern[str]

    def hits(self, text: str) -> tuple[_Hit, ...]:
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
def _vocab() -> _Vocab:
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
        units_before=re.compile(rf"(?:{units})\s{{0,2}}$"),
        joiner=re.compile(rf"[\s,;/|&+]*(?:(?:{joiners})[\s,;/|&+]*)?"),
    )


# --- labels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hint:
    """What the words around a number say about it."""

    label: str | None = None  # a label the page gives
    named: bool = False  # a phone or label word stands next to the number
    langs: frozenset[str] = frozenset()


_NO_HINT = _Hint()


def _pick_label(hits: tuple[_Hit, ...], text_len: int) -> str | None:
    """The nearest specific label; a fax word close to the number wins ("Tel./Fax:")."""
    specific = [h for h in hits if h.word.label]
    if not specific:
        return None
    if any(h.word.label == "fax" and text_len - h.start <= 30 for h in specific):
        return "fax"
    # "Notdienst-Hotline (mobil):": what the line is for beats what kind of line it is
    purpose = [h for h in specific if h.word.label not in _DEVICE_LABELS]
    return (purpose or specific)[-1].word.label


def _hint_from(hits: tuple[_Hit, ...], text_len: int) -> _Hint:
    if not hits:
        return _NO_HINT
    langs = frozenset().union(*(h.word.langs for h in hits))
    return _Hint(_pick_label(hits, text_len), True, langs)


class _PerShape(dict[str, Any]):
    """shape -> ``compute(shape)``, computed on first use."""

    def __init__(self, compute: Callable[[str], Any]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, shape: str) -> Any:
        value = self[shape] = self.compute(shape)
        return value


_NOT_HEADING, _HEADING, _NAMING_HEADING = 0, 1, 2


class _Blocks:
    """A page's text blocks with what the text pass asks of them repeatedly, cached.

    Digit runs, heading tests and label words depend on where the digits are, never on
    which digits they are, so they are worked out once per digit shape (``digit_shapes``):
    a product grid repeats a few dozen shapes over thousands of blocks. Label words are
    looked up in the shape too (the same words at the same offsets), so the lexicon's
    cache serves every tile of a grid.
    """

    def __init__(self, blocks: list[TextBlock]) -> None:
        self.texts = [b.text for b in blocks]
        self.shapes = digit_shapes(self.texts)
        self._runs = _PerShape(lambda shape: tuple(m.span() for m in _RUN.finditer(shape)))
        self._heading = _PerShape(self._heading_kind)
        self._plans = _PerShape(self._plan)

    def runs(self, index: int) -> tuple[tuple[int, int], ...]:
        """(start, end) of every digit run of block ``index``."""
        return self._runs[self.shapes[index]]

    def _heading_kind(self, shape: str) -> int:
        """A short block with words and no digit run may title the numbers below it."""
        if len(shape) > HEADING_CHARS or not _LETTER.search(shape) or self._runs[shape]:
            return _NOT_HEADING
        return _NAMING_HEADING if _vocab().hits(shape) else _HEADING

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

    def plans(self) -> list[tuple[_Run, ...]]:
        """The digit runs of every block, with what their shape says about them."""
        return list(map(self._plans.__getitem__, self.shapes))

    def _plan(self, shape: str) -> tuple[_Run, ...]:
        runs = self._runs[shape]
        plan = []
        boundary = 0
        for i, (start, end) in enumerate(runs):
            lead = _lead(shape, start)
            segment = shape[max(boundary, lead - SEGMENT_CHARS) : lead]
            plan.append(
                _Run(
                    start=start,
                    end=end,
                    lead=lead,
                    limit=runs[i + 1][0] if i + 1 < len(runs) else len(shape),
                    seg_start=boundary,
                    too_long=end - start > MAX_RUN_DIGITS
                    and len(_DIGIT.findall(shape, start, end)) > MAX_RUN_DIGITS,
                    named_here=bool(_LETTER.search(segment) and _vocab().hits(segment))
                    or bool(_PARENTHETICAL.match(shape, end)),
                )
            )
            boundary = end
        return tuple(plan)


_LETTER = re.compile(r"[^\W\d_]")


class _Run(NamedTuple):
    """One digit run of a block, and what the block's shape says about it."""

    start: int
    end: int
    lead: int  # start with an opening "+" or "(" (``_lead``)
    limit: int  # where the next run starts: a parenthetical label stops there
    seg_start: int  # where the previous run ends: label words are read from here
    too_long: bool  # more than MAX_RUN_DIGITS digits: a table of figures
    named_here: bool  # a phone or label word before it, or a parenthesis right after it


def _hint_for(
    blocks: _Blocks,
    index: int,
    seg_start: int,
    start: int,
    end: int,
    limit: int,
    previous: _Hint | None,
) -> _Hint:
    """Label a number at ``start:end`` of block ``index``.

    Looks at the words since the previous number in the block, then a short parenthesis
    right after the number, then up to two short heading-like blocks above it. A number that
    only follows another one ("06 1 234 5678, 06 30 123 4567") shares its label.
    """
    vocab = _vocab()
    shape = blocks.shapes[index]  # label words are the same in the shape, at the same offsets
    segment = shape[max(seg_start, start - SEGMENT_CHARS) : start]
    hits = vocab.hits(segment)
    if not hits and previous is not None and vocab.joiner.fullmatch(segment):
        return previous
    own = _hint_from(hits, len(segment))
    if own.label:
        return own
    paren = _PARENTHETICAL.match(shape, end, min(limit, end + 40))
    if paren:
        after = _hint_from(vocab.hits(paren.group(1)), 0)
        if after.label:
            return after
        own = _Hint(None, own.named or after.named, own.langs | after.langs)
    topics: _Hint | None = None  # a line of topics names the number only if no title does
    for heading, lists_topics in blocks.headings_above(index):
        above = vocab.hits(heading)
        if above:
            found = _hint_from(above, len(heading))
            hint = _Hint(found.label, True, own.langs | found.langs)
            if not lists_topics or not found.label:
                return hint if hint.label or topics is None else topics
            topics = topics or hint
    return topics or own


def _regions_of(langs: Iterable[str]) -> list[str]:
    """Regions where the languages of label words are spoken, for pages with no region."""
    found = {region_from_lang(lang) for lang in langs}
    return sorted(r for r in found if r)


# --- guards ----------------------------------------------------------------------------------


def _after_id_keyword(text: str, start: int) -> bool:
    """True when ``text[start:]`` follows a word like IBAN, NIP, Cg., ИНН, Order no."""
    window = text[max(0, start - 48) : start]
    last_digit = max((m.end() for m in _DIGIT.finditer(window)), default=0)
    tail = window[last_digit:]  # a keyword with digits between it and the number is not its
    if not any(c.isalpha() or c == "№" for c in tail):
        return False
    vocab = _vocab()
    hits = vocab.ids.find(tail)
    if not hits:
        return False
    gap = tail[hits[-1].end :]
    return len(gap.strip()) <= 20 and not vocab.hits(gap)


_PRICE_BREAK = re.compile(r"\d\s*(?:\(|\s[–—-]\s|,\s)\s*\d")


def _is_amount(text: str, start: int, end: int) -> bool:
    """A currency sign or unit touching the digits, or a decimal part after them."""
    vocab = _vocab()
    if vocab.units_after.match(text, end) and not _word_continues(text, end):
        return True
    if _DECIMAL_TAIL.match(text, end):
        return True
    return bool(vocab.units_before.search(text[max(0, start - 8) : start]))


def _word_continues(text: str, end: int) -> bool:
    """Whether a unit match after ``end`` is only the start of a longer word ("Ftn")."""
    m = _vocab().units_after.match(text, end)
    return bool(
        m and m.end() < len(text) and text[m.end()].isalnum() and text[m.end() - 1].isalnum()
    )


def _ends_with_word(text: str, pos: int) -> bool:
    """Whether a phone or label word ends exactly at ``pos`` ("Hotline0800 ...")."""
    return any(h.end == min(pos, 40) for h in _vocab().hits(text[max(0, pos - 40) : pos]))


def _glued(text: str, start: int, end: int) -> bool:
    """Digits that are part of a word, identifier, URL or file name, not free-standing."""
    token_start = text.rfind(" ", 0, start) + 1
    token_end = text.find(" ", end)
    token = text[token_start : token_end if token_end >= 0 else len(text)]
    if _URLISH.search(token):
        return True
    before = text[start - 1] if start > 0 else " "
    if before.isdigit() and text[start] == "+":
        before = " "  # "…4567+49 30…": inline fragments joined without a space
    if before in _GLUE_BEFORE or before.isdigit():
        return True
    if before.isalpha() and not _ends_with_word(text, start):
        return True
    if before == "/" and any(c.isalpha() for c in text[token_start:start]):
        return True
    after = text[end] if end < len(text) else " "
    if after in _GLUE_BEFORE or after.isdigit() or _FILE_TAIL.match(text, end):
        return True
    return after.isalpha() and not any(h.start == 0 for h in _vocab().hits(text[end : end + 30]))


def _rejected(text: str, start: int, end: int, decoys: list[tuple[int, int]], whole: bool) -> bool:
    """Guards shared by candidate runs and matches.

    For a run (``whole``), a decoy must cover all its digits: a run may hold a date and
    a phone number side by side. A match is rejected as soon as a decoy touches it.
    """
    if whole:
        digits = [m.start() for m in _DIGIT.finditer(text, start, end)]
        if digits and all(any(a <= d < b for a, b in decoys) for d in digits):
            return True
    elif any(a < end and start < b for a, b in decoys):
        return True
    lead = start
    while lead > 0 and text[lead - 1] in "+(":
        lead -= 1
    if _glued(text, lead, end) or _after_id_keyword(text, lead):
        return True
    if not _is_amount(text, lead, end):
        return False
    # "0900 5 555 123 (1,99 €/Min.)": the price is only the run's tail; the matches
    # inside the run are judged on their own spans, so the run must not be dropped.
    return not (whole and _PRICE_BREAK.search(text, start, end))


# --- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """One matcher hit in a window: offsets into the window and the parsed number."""

    start: int
    end: int
    number: PhoneNumber


@lru_cache(maxsize=4096)
def _match(text: str, region: str) -> tuple[_Found, ...]:
    """Run libphonenumber's matcher on a small window; hostile text yields nothing."""
    try:
        matcher = PhoneNumberMatcher(text, region, leniency=Leniency.VALID, max_tries=MAX_TRIES)
        return tuple(_Found(m.start, m.end, m.number) for m in matcher)
    except Exception:  # noqa: BLE001 - libphonenumber must not take the page down
        return ()


def _normalized(text: str, international: bool) -> str:
    """Same-length rewrites the matcher needs: "0175/234" and, with no region, "00" for "+"."""
    text = _SLASH.sub(lambda m: m.group(1) + " ", text)
    if international:
        text = _IDD_00.sub(" +", text)
    return text


def _matches(text: str, region: str | None) -> list[_Found]:
    """Matches in ``text``: as written first, then with slash groups and "00" rewritten."""
    found = list(_match(text, region or UNKNOWN_REGION))
    normalized = _normalized(text, region is None)
    if normalized != text:
        for extra in _match(normalized, region or UNKNOWN_REGION):
            if extra.start > 0 and text[extra.start - 1 : extra.start + 1] == "00":
                extra = replace(extra, start=extra.start - 1)  # the raw text says "00", not "+"
            if not any(f.start < extra.end and extra.start < f.end for f in found):
                found.append(extra)
    return sorted(found, key=lambda f: f.start)


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _number_type(number: PhoneNumber) -> str:
    try:
        return _TYPE_NAMES.get(phonenumbers.number_type(number), "UNKNOWN")
    except Exception:  # noqa: BLE001
        return "UNKNOWN"


def _parse_valid(raw: str, regions: list[str]) -> tuple[PhoneNumber, str] | None:
    """Parse one number, trying ``regions`` in turn; only valid numbers count."""
    candidate = _normalized(raw[:MAX_VALUE_CHARS], True).replace("(0)", "   ")
    for region in regions or [UNKNOWN_REGION]:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        except Exception:  # noqa: BLE001 - hostile input
            return None
        if phonenumbers.is_valid_number(number):
            return number, region
    return None


# --- building records ---------------------------------------------------------------------------


def _point(
    page: ParsedPage,
    number: PhoneNumber,
    raw: str,
    method: str,
    label: str | None,
    context: str,
    confidence: float,
) -> ContactPoint:
    kind_name = _number_type(number)
    details: dict[str, Any] = {"number_type": kind_name}
    if label:
        details["label_source"] = "page"
    elif kind_name == "MOBILE":
        label = "mobile"
        details["label_source"] = "number-type"
    return ContactPoint(
        kind="phone",
        value=_e164(number),
        raw=raw.strip(),
        label=label,
        method=method,
        page_url=page.url,
        context=clip_context(context),
        confidence=round(min(1.0, max(0.0, confidence)), 2),
        details=details,
    )


def _around(text: str, start: int, end: int) -> str:
    return text[max(0, start - CONTEXT_SIDE) : end + CONTEXT_SIDE]


# --- sources ---------------------------------------------------------------------------------------


def _from_text(page: ParsedPage, region: str | None) -> Iterator[ContactPoint]:
    """Numbers in visible text, one block at a time (never across blocks)."""
    blocks = _Blocks(page.blocks)
    trunk = _written_trunk(region) if region is not None else None
    for index, plan in enumerate(blocks.plans()):
        if not plan or page.blocks[index].region == THIRD_PARTY:  # an agency's, host's number
            continue
        text = blocks.texts[index]
        decoys: list[tuple[int, int]] | None = None  # computed only when a run needs them
        previous: _Hint | None = None
        for start, end, lead, limit, seg_start, too_long, named_here in plan:
            if too_long:
                previous = None
                continue
            window = text[lead:end]
            # a label word may name the run: words before it, a parenthesis after it, the
            # number before it, or (``named_above``) a heading-like block above
            named = named_here or (previous is not None and previous.named)
            if trunk and text[start] != trunk[0] and not _international(window):
                # without the written trunk prefix a local number is plausible at best when
                # a label may name it (``_plausible``)
                if not (named or blocks.named_above(index)):
                    previous = None
                    continue
                named = True
            plausible = _plausible(window, region)
            if plausible is False or (
                plausible is None and not (named or blocks.named_above(index))
            ):
                previous = None
                continue
            if plausible:  # the guards first: most runs that fail them are dates
                if decoys is None:
                    decoys = [m.span() for m in _DECOYS.finditer(text)]
                if _rejected(text, start, end, decoys, whole=True):
                    previous = None
                    continue
            hint = previous = _hint_for(blocks, index, seg_start, lead, end, limit, previous)
            if not plausible:
                if not hint.named:
                    continue
                if decoys is None:
                    decoys = [m.span() for m in _DECOYS.finditer(text)]
                if _rejected(text, start, end, decoys, whole=True):
                    previous = None
                    continue
            covered = lead
            for found, guessed in _window_matches(_masked(window, lead, decoys), region, hint):
                a, b = lead + found.start, lead + found.end
                if _DIGIT.search(text, covered, a):  # an inner slice of a longer figure
                    continue
                if a > covered:
                    hint = _hint_for(blocks, index, seg_start, a, b, limit, previous)
                if not _acceptable(text, a, b, found.number, hint, decoys):
                    continue
                seg_start = covered = b
                yield _text_point(page, text, a, b, found.number, hint, guessed)


def _masked(window: str, offset: int, decoys: list[tuple[int, int]]) -> str:
    """Blank out decoys inside a window, same length: "06 1 234 5678 2024-05-10"."""
    for a, b in decoys:
        a, b = max(a - offset, 0), min(b - offset, len(window))
        if a < b:
            window = window[:a] + " " * (b - a) + window[b:]
    return window


def _lead(text: str, start: int) -> int:
    """Start of a run including an opening "+" or "(" right before its first digit."""
    lead = start
    while lead > 0 and text[lead - 1] in "+(" and start - lead < 3:
        lead -= 1
    return lead


def _international(window: str) -> bool:
    return window.lstrip("(").startswith(("+", "00"))


def _plausible(window: str, region: str | None) -> bool | None:
    """Cheap checks that spare the matcher most digit runs of a digit-heavy page.

    True: worth matching. None: worth matching only if a label word names it. False: no
    label can make it a number of ``region`` (its digits do not fit the national pattern).
    Without a label word, a local number must be written in groups or start with a trunk
    "0" (bare digit strings are order numbers and ids), and start with the trunk prefix
    where the region always writes one. With no region, only international numbers count.
    """
    if _international(window):
        return True
    if region is None:
        return None
    digits = "".join(_DIGIT.findall(window))
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
    trunk = meta.national_prefix if meta is not None else None
    if not trunk or not meta.number_format:
        return None
    written = [
        bool(f.national_prefix_formatting_rule)
        and trunk in f.national_prefix_formatting_rule
        and not f.national_prefix_optional_when_formatting
        for f in meta.number_format
    ]
    return trunk if sum(written) * 2 >= len(written) else None


@lru_cache(maxsize=256)
def _national_shape(region: str) -> tuple[re.Pattern[str], re.Pattern[str] | None, int] | None:
    """The region's national number pattern, trunk prefix and longest length (metadata)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    desc = meta.general_desc if meta is not None else None
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
    hint: _Hint,
    decoys: list[tuple[int, int]],
) -> bool:
    """Guards on one match: shape, decoys, and numbers that only a label makes believable."""
    raw = text[start:end]
    if len(_DIGIT.findall(raw)) < MIN_DIGITS:
        return False
    if not hint.named and number.country_code_source == _WITHOUT_PLUS:
        return False  # "364 438 9131" read as +36 44 389 131
    return not _rejected(text, start, end, decoys, whole=False)


_WITHOUT_PLUS = phonenumbers.CountryCodeSource.FROM_NUMBER_WITHOUT_PLUS_SIGN


def _window_matches(window: str, region: str | None, hint: _Hint) -> list[tuple[_Found, bool]]:
    """Matches in one window; with no region, local numbers only next to a label word.

    The region of such a number comes from the language of the label word; when its
    languages point to several regions, all must read the digits as the same number.
    """
    if region is not None or _international(window):
        return [(f, False) for f in _matches(window, region)]
    by_value: dict[str, _Found] = {}
    for guess in _regions_of(hint.langs):
        for f in _matches(window, guess):
            by_value.setdefault(_e164(f.number), f)
    if len(by_value) != 1:
        return []
    return [(next(iter(by_value.values())), True)]


def _text_point(
    page: ParsedPage,
    text: str,
    start: int,
    end: int,
    number: PhoneNumber,
    hint: _Hint,
    guessed: bool,
) -> ContactPoint:
    raw = text[start:end]
    confidence = conf.TEXT_BASE
    confidence += conf.TEXT_NAMED if hint.named else 0.0
    confidence += conf.TEXT_INTERNATIONAL if raw.lstrip("(").startswith(("+", "00")) else 0.0
    confidence += conf.TEXT_GROUPED if _GROUPED.search(raw) else 0.0
    confidence -= conf.GUESSED_REGION_PENALTY if guessed else 0.0
    return _point(page, number, raw, "text", hint.label, _around(text, start, end), confidence)


def _tel_number(link: Link) -> str | None:
    """The number part of a tel:/callto: href, percent-decoded; None for other links."""
    href = link.raw_href.strip()
    scheme, sep, rest = href.partition(":")
    if not sep or scheme.strip().lower() not in ("tel", "callto"):
        return None
    rest = _TEL_PARAMS.sub("", unquote(rest)).lstrip("/").strip()
    return rest if len(_DIGIT.findall(rest)) >= MIN_DIGITS else None


def _link_block(blocks: _Blocks, link: Link) -> tuple[int, int, int] | None:
    """Where the link's text sits in the page's blocks: (block, start, end)."""
    needle = link.text.strip()
    if len(needle) < 3:
        return None
    for index, text in enumerate(blocks.texts):
        pos = text.find(needle)
        if pos >= 0:
            return index, pos, pos + len(needle)
    return None


def _from_links(page: ParsedPage, region: str | None) -> Iterator[ContactPoint]:
    """tel: and callto: links: the page's own statement that this is a phone number."""
    vocab = _vocab()
    blocks: _Blocks | None = None
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
        blocks = blocks or _Blocks(page.blocks)
        hint = _hint_from(vocab.hits(f"{link.text} {link.title}"), 0)
        context = link.text or link.title
        where = _link_block(blocks, link)
        if where is not None:
            index, start, end = where
            text = blocks.texts[index]
            context = _around(text, start, end)
            if not hint.label:
                seg_start = max((e for _, e in blocks.runs(index) if e <= start), default=0)
                near = _hint_for(blocks, index, seg_start, start, end, len(text), None)
                hint = _Hint(near.label, hint.named or near.named, hint.langs | near.langs)
        guessed = region is None and not _international(number_text)
        regions = _regions_of(hint.langs) if guessed else [region] if region else []
        parsed = _parse_valid(number_text, regions) if regions or not guessed else None
        if parsed is None:
            continue
        if guessed and len(_readings(number_text, regions)) > 1:
            continue  # the label's languages point to regions that read it differently
        confidence = CONFIDENCE["tel-link"] - (conf.GUESSED_REGION_PENALTY if guessed else 0.0)
        yield _point(page, parsed[0], link.raw_href, "tel-link", hint.label, context, confidence)


def _readings(raw: str, regions: list[str]) -> set[str]:
    """The E.164 values ``raw`` is valid as, one region at a time."""
    return {_e164(p[0]) for r in regions if (p := _parse_valid(raw, [r])) is not None}


# --- structured data ----------------------------------------------------------------------------

_PHONE_KEYS = {"telephone": None, "faxnumber": "fax"}


def _key(name: str) -> str:
    """Bare property name of "telephone", "schema:telephone", "http://schema.org/telephone"."""
    return re.split(r"[/#:]", name)[-1].lower()


def _strings(value: Any) -> list[str]:
    """Text values of a property that may be a string, a list or an {"@value": ...}."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        inner = value.get("@value", value.get("value"))
        return [inner] if isinstance(inner, str) else []
    if isinstance(value, list | tuple):
        return [s for v in value[:20] for s in _strings(v)]
    return []


def _props(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """JSON-LD keeps properties on the node, extruct microdata under "properties"."""
    inner = node.get("properties")
    return inner if isinstance(inner, Mapping) else node


def _country(node: Mapping[str, Any]) -> str | None:
    """A two-letter ``addressCountry`` of the node's address, when it names a region."""
    props = _props(node)
    address = props.get("address")
    if isinstance(address, list) and address:
        address = address[0]
    if not isinstance(address, Mapping):
        return None
    country = _props(address).get("addressCountry")
    if isinstance(country, Mapping):
        country = _props(country).get("name")
    if isinstance(country, str) and country.strip().upper() in phonenumbers.SUPPORTED_REGIONS:
        return country.strip().upper()
    return None


def _walk(root: Any) -> Iterator[tuple[str, str, Mapping[str, Any], str | None]]:
    """(property, value, node, country) for every phone property, however deeply nested."""
    stack: list[tuple[Any, int, str | None]] = [(root, 0, None)]
    visited = 0
    while stack and visited < MAX_STRUCT_NODES:
        node, depth, country = stack.pop()
        visited += 1
        if depth > MAX_STRUCT_DEPTH:
            continue
        if isinstance(node, list | tuple):
            stack.extend((child, depth + 1, country) for child in reversed(node[:500]))
            continue
        if not isinstance(node, Mapping):
            continue
        country = _country(node) or country
        props = _props(node)
        children = []
        for name, value in props.items():
            key = _key(str(name))
            if key in _PHONE_KEYS:
                for text in _strings(value):
                    yield str(name), text, node, country
            elif isinstance(value, Mapping | list | tuple):
                children.append(value)
        stack.extend((child, depth + 1, country) for child in reversed(children))


def _struct_label(name: str, props: Mapping[str, Any], node_type: str) -> str | None:
    """faxNumber is a fax; a telephone takes its label from ``contactType``."""
    fixed = _PHONE_KEYS[_key(name)]
    if fixed:
        return fixed
    words = " ".join(_strings(props.get("contactType")))
    if "contactpoint" in node_type.lower():
        words += " " + " ".join(_strings(props.get("name")))
    return _pick_label(_vocab().hits(words), len(words)) if words.strip() else None


def _from_structured(page: ParsedPage, region: str | None) -> Iterator[ContactPoint]:
    """schema.org ``telephone`` / ``faxNumber`` in JSON-LD and microdata."""
    try:
        structured = page.structured
    except Exception:  # noqa: BLE001 - hostile JSON-LD must not cost the links and the text
        return
    for method in ("json-ld", "microdata"):
        items = structured.get(method) or []
        for name, value, node, country in _walk(items):
            regions = [r for r in (country, region) if r]
            regions = list(dict.fromkeys(regions))
            parsed = _parse_valid(value, regions)
            if parsed is None:
                continue
            node_type = " ".join(_strings(node.get("@type")) + _strings(node.get("type")))
            node_type = " ".join(t.rsplit("/", 1)[-1] for t in node_type.split())
            label = _struct_label(name, _props(node), node_type)
            context = f"{node_type or method} {name}: {value}"
            yield _point(page, parsed[0], value, method, label, context, CONFIDENCE[method])


# --- entry point ---------------------------------------------------------------------------------

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
    found.extend(_from_links(page, region))
    found.extend(_from_structured(page, region))
    found.extend(_from_text(page, region))
    return _dedupe(found)
