"""Guards: runs that are plainly something else (an id after its keyword, an amount, digits glued to a word)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from auditor.extract.phones.candidates import (
    DECIMAL_TAIL,
    DIGIT,
    FILE_TAIL,
    GLUE_BEFORE,
    URLISH,
)
from auditor.extract.phones.words import phone_vocab

_LAST_DIGIT = re.compile(r"\d(?=\D*\Z)")  # the last digit: one search in C, not a Python loop


def _after_id_keyword(text: str, start: int) -> bool:
    """True when ``text[start:]`` follows a word like IBAN, NIP, Cg., ИНН, Order no."""
    window = text[max(0, start - 48) : start]
    last = _LAST_DIGIT.search(window)
    last_digit = last.end() if last else 0
    tail = window[last_digit:]  # a keyword with digits between it and the number is not its
    if not any(c.isalpha() or c == "№" for c in tail):
        return False
    vocab = phone_vocab()
    hits = vocab.ids.find(tail)
    if not hits:
        return False
    gap = tail[hits[-1].end :]
    return len(gap.strip()) <= 20 and not vocab.hits(gap)


_PRICE_BREAK = re.compile(r"\d\s*(?:\(|\s[–—-]\s|,\s)\s*\d")


def _is_amount(text: str, start: int, end: int) -> bool:
    """A currency sign or unit touching the digits, or a decimal part after them."""
    vocab = phone_vocab()
    # A unit ending in a letter or digit must end a word ("Ftn" is no "Ft"): its keyword
    # pattern says so, so a match here is never the start of a longer word.
    if vocab.units_after.match(text, end):
        return True
    if DECIMAL_TAIL.match(text, end):
        return True
    return bool(vocab.units_before.search(text[max(0, start - 8) : start]))


def _ends_with_word(text: str, pos: int) -> bool:
    """Whether a phone or label word ends exactly at ``pos`` ("Hotline0800 ...")."""
    return any(h.end == min(pos, 40) for h in phone_vocab().hits(text[max(0, pos - 40) : pos]))


@lru_cache(maxsize=1)
def _longest_word() -> int:
    """Characters in the longest phone or label keyword of the data file (as written).

    A label glued after the digits ("…5678servicio de atención al cliente") is looked up in
    a window one character longer: a shorter one cuts the label, so it no longer matches,
    and one exactly as long makes a word end where the window does ("…al clientela").
    """
    words = phone_vocab().words
    sizes = [e.size for entries in words.exact.values() for e in entries]
    sizes += [e.size for entries in words.stems.values() for _, e in entries]
    sizes += [e.size for _, e in words.inside]
    sizes += [len(symbol) for symbol in words.symbol_words]
    return max(sizes, default=0)


def _glued(text: str, start: int, end: int) -> bool:
    """Digits that are part of a word, identifier, URL or file name, not free-standing."""
    token_start = text.rfind(" ", 0, start) + 1
    token_end = text.find(" ", end)
    token = text[token_start : token_end if token_end >= 0 else len(text)]
    if URLISH.search(token):
        return True
    before = text[start - 1] if start > 0 else " "
    if before.isdigit() and text[start] == "+":
        before = " "  # "…4567+49 30…": inline fragments joined without a space
    if before in GLUE_BEFORE or before.isdigit():
        return True
    if before.isalpha() and not _ends_with_word(text, start):
        return True
    if before == "/" and any(c.isalpha() for c in text[token_start:start]):
        return True
    after = text[end] if end < len(text) else " "
    if after in GLUE_BEFORE or after.isdigit() or FILE_TAIL.match(text, end):
        return True
    return after.isalpha() and not _label_follows(text, end)


_NON_SPACE = re.compile(r"\S+")


def _label_follows(text: str, end: int) -> bool:
    """Whether a phone or label word starts at ``end``; whitespace runs count as one space, as shown."""
    size = _longest_word() + 1
    words: list[str] = []
    for word in _NON_SPACE.finditer(text, end):  # the words as shown, until the window is full
        words.append(word.group())
        if len(" ".join(words)) > size:
            break
    window = " ".join(words)[:size]
    return any(h.start == 0 for h in phone_vocab().hits(window))


FREE, GLUED, AMOUNT = 0, 1, 2  # what the text around a number says (``context_verdict``)


def context_verdict(text: str, lead: int, end: int) -> int:
    """The guards that read only the text around ``text[lead:end]``, decoys aside: GLUED to a
    word, URL or identifier keyword, an AMOUNT, or FREE. A run and the match that spans it
    ask the same: ``rejected`` takes a remembering ``verdict`` from the text pass."""
    if _glued(text, lead, end) or _after_id_keyword(text, lead):
        return GLUED
    return AMOUNT if _is_amount(text, lead, end) else FREE


def rejected(
    text: str,
    start: int,
    end: int,
    decoys: list[tuple[int, int]],
    whole: bool,
    verdict: Callable[[str, int, int], int] = context_verdict,
) -> bool:
    """Guards shared by candidate runs and matches.

    For a run (``whole``), a decoy must cover all its digits: a run may hold a date and
    a phone number side by side. A match is rejected as soon as a decoy touches it.
    """
    if whole:
        if decoys:  # (without decoys no digit is covered: most runs)
            digits = [m.start() for m in DIGIT.finditer(text, start, end)]
            if digits and all(any(a <= d < b for a, b in decoys) for d in digits):
                return True
    elif any(a < end and start < b for a, b in decoys):
        return True
    lead = start
    while lead > 0 and text[lead - 1] in "+(":
        lead -= 1
    kind = verdict(text, lead, end)
    if kind != AMOUNT:
        return kind == GLUED
    # "0900 5 555 123 (1,99 €/Min.)": the price is only the run's tail; the matches
    # inside the run are judged on their own spans, so the run must not be dropped.
    return not (whole and _PRICE_BREAK.search(text, start, end))
