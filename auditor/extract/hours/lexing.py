"""Lexing one block of text into hours tokens: day words, time ranges, closed, pauses, joiners.

The language is the page's when its day words are there, else the one whose day words
the text holds most of.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from auditor.extract.hours.vocabulary import (
    ALNUM_RUN,
    DIGIT,
    GROUP_BITS,
    LIST_CHAR,
    SEP_CHAR,
    Lang,
    Vocab,
)
from auditor.text import fold


class Token(NamedTuple):
    """One lexed token. A NamedTuple, not a dataclass: a block yields dozens and creation is hot."""

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
        n: bool(g[f"m{n}"] and g[f"s{n}"] and g[f"s{n}"].strip() in (":", "h", "u", "時")) for n in "12"
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


def lang_of_words(day_words: list[str], page_lang: str | None, v: Vocab) -> Lang:
    """The language whose day words explain the block best (page language breaks ties).

    ``day_words`` are ``v.any_day``'s findall on the block; each votes for every language
    that has it ("Mo" for en and de, "Pzt" for tr only), a whole word twice as much as a
    short abbreviation.
    """
    scores: dict[str, float] = {}
    for word in day_words:
        key = " ".join(word.lower().rstrip(".").split())
        codes = v.word_langs.get(key)
        if codes is None:  # the languages of the stems it starts with (v.stem_langs), by length
            codes = frozenset().union(*(v.stem_codes.get(key[:n], ()) for n in v.stem_lengths if n <= len(key)))
        weight = 2.0 if len(key) > 3 else 1.0  # "radnim danima" says more than a stray "do"
        for code in codes:
            scores[code] = scores.get(code, 0.0) + weight
    if page_lang in scores:
        scores[page_lang] += 0.5
    if scores:  # every score is positive: the best is among the languages scored
        best = max(scores, key=lambda code: (scores[code], -v.order.index(code)))
        return v.langs[best]
    return v.langs.get(page_lang or "", v.langs[v.order[0]])


_L_SPACE = re.compile(r"l\s", re.I)  # the time range's "(?<=l)\s+" join, under the lexer's re.I


def groups_in(text: str, folded: str, lang: Lang, v: Vocab, has_day: bool | None = None) -> int:
    """Bits (GROUP_BITS) of the lexer groups that can match somewhere in ``text``.

    Each test is true wherever its group matches (a gate: false rules the group out):
    a time range needs a digit, and its two times joined by a dash, by spaces after an
    "l" (Hungarian "8-tól 16-ig") or by a "time_range" word (its first run); a day word is one ``v.any_day`` finds (it holds every
    language's day alternatives) or, for a language with one that starts with a digit
    ("7 days a week"), a digit; a word list's entry needs its first run (``first_runs``);
    a separator a dash, a list a comma, slash, "&" or "+", or their words.
    ``has_day``: whether ``v.any_day`` finds a day word in ``text``, if known.
    """
    groups = 0
    digit = DIGIT.search(text) is not None
    runs = set(ALNUM_RUN.findall(folded))
    sep = SEP_CHAR.search(text) is not None
    if digit and (
        sep
        or _L_SPACE.search(text)
        or lang.time_range_gate is None
        or not runs.isdisjoint(lang.time_range_gate)
    ):
        groups |= GROUP_BITS["trange"]
    if has_day is None:
        has_day = v.day_words.search(v.any_day, text, folded)
    if has_day or (digit and lang.keyless_days):
        groups |= GROUP_BITS["day"]
    if v.closed_gate is None or not runs.isdisjoint(v.closed_gate):
        groups |= GROUP_BITS["closed"]
    if v.pause_gate is None or not runs.isdisjoint(v.pause_gate):
        groups |= GROUP_BITS["pause"]
    if sep or lang.range_gate is None or not runs.isdisjoint(lang.range_gate):
        groups |= GROUP_BITS["sep"]
    if LIST_CHAR.search(text) or lang.list_gate is None or not runs.isdisjoint(lang.list_gate):
        groups |= GROUP_BITS["list"]
    return groups


def lex(
    text: str,
    block: int,
    lang: Lang,
    v: Vocab,
    folded: str | None = None,
    has_day: bool | None = None,
    quick: bool | None = None,
) -> list[Token]:
    """Tokens of one block: always-open phrases first, then the language lexer.

    Always-open phrases are blanked out before lexing so "0-24" is never also
    read as a time range. The lexer runs without the groups the text cannot match
    (``groups_in``); ``folded`` is ``fold(text, keep_accents=True)``, ``has_day``
    whether ``v.any_day`` finds a day word in it and ``quick`` whether ``v.always_quick``
    does, when the caller knows them.
    """
    tokens: list[Token] = []
    folded = fold(text, keep_accents=True) if folded is None else folded
    lexer: re.Pattern[str] | None = lang.lexer
    # the full phrases (slow with re.I) are searched for where the quick test and the folded
    # phrases (the same search, without re.I) find one
    if quick is None:
        quick = v.search_folded("always_quick", text, folded)
    if quick and v.search_folded("always", text, folded):
        chars = list(text)
        for m in v.always.finditer(text):
            tokens.append(Token("always", m.start(), m.end(), block, m.group(0)))
            chars[m.start() : m.end()] = "\x00" * (m.end() - m.start())
        if tokens:  # blanks make new word boundaries: the gates, read before, would not hold
            text = "".join(chars)
    always = bool(tokens)
    if not always:
        lexer = lang.lexer_for(groups_in(text, folded, lang, v, has_day))
    if lexer is None:
        return tokens
    for m in lexer.finditer(text):
        kind = m.lastgroup or ""  # the group that closed last: the outermost, one of KINDS
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
    if always:  # the lexer's tokens come in order: only always-open ones stand before them
        tokens.sort(key=lambda t: t.start)
    return tokens


_CURRENCY = frozenset("€$£₺₽₴")


def _currency_before(text: str, start: int) -> bool:
    return not _CURRENCY.isdisjoint(text[max(0, start - 3) : start])
