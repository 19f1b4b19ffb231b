"""Collecting sightings: the page's text as one string with block offsets, and the best sighting per address."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from operator import add
from typing import Any

from auditor.extract.emails.rules import METHOD_RANK, email_rules
from auditor.extract.page import ParsedPage
from auditor.models import Method
from auditor.text import fold_width


@dataclass
class Found:
    value: str
    raw: str
    method: Method
    context: str
    confidence: float
    label: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    methods: set[str] = field(default_factory=set)


# What ``\s`` matches in a str pattern (tests check the list against the engine).
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000"
)


_HINT_BEFORE = frozenset(WHITESPACE + "[({<")


@cache
def _hint_words() -> tuple[tuple[str, tuple[tuple[str, re.Pattern[str]], ...]], ...]:
    """The at-words in groups, each with a pattern for it followed by a space or closing
    bracket, and the longest part all words of the group share.

    ``page_hint`` spelled out: "@", or a space or opening bracket, an at-word and a space
    or closing bracket. Each pattern starts with its word, so the engine skips to the
    word's occurrences; the character before is checked at the few that remain. A page
    without a group's shared part has none of its words: one search rules them all out.
    """
    after = "[" + "".join(re.escape(c) for c in WHITESPACE + "])}>") + "]"
    groups: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for w in email_rules().at_policy:  # grouped by their first three letters
        groups.setdefault(w[:3], []).append((w, re.compile(re.escape(w) + after)))
    return tuple((_common_part([w for w, _p in words]), tuple(words)) for words in groups.values())


def _common_part(words: list[str]) -> str:
    """The longest string in every one of ``words`` (the word itself for a group of one)."""
    first = words[0]
    parts = (first[i : i + n] for n in range(len(first), 0, -1) for i in range(len(first) - n + 1))
    return next(p for p in parts if all(p in w for w in words))


class PageText:
    """The page's blocks lower-cased and joined once, for whole-page searches.

    Thousands of blocks make a regex call or a ``lower()`` per block cost more
    than all the real work; one string and a bisect over block ends do not.
    """

    def __init__(self, page: ParsedPage) -> None:
        self.blocks = page.blocks
        texts = [b.text for b in self.blocks]
        # "sales＠firma.jp" has an "@". fold_width maps character for character and leaves
        # "\n" alone, so the joined text folds as its blocks do, in one C-level pass.
        joined = fold_width("\n".join(texts))
        self.lowered = joined.lower()
        if len(self.lowered) != len(joined):  # "İ" lower-cases to two characters
            texts = [fold_width(t).lower() for t in texts]
            self.lowered = "\n".join(texts)
        # each block's end offset, its newline included: running sums of len(t) + 1
        self.ends = list(map(add, accumulate(map(len, texts)), range(1, len(texts) + 1)))

    def block_at(self, offset: int) -> int:
        return bisect_right(self.ends, offset)

    def hinted(self) -> Iterator[int]:
        """Indexes of blocks with "@" or a spaced or bracketed at-word.

        Where ``_rules().page_hint.finditer`` starts its matches, found from the "@" and
        the at-words themselves: the regex begins with a class of whitespace and brackets,
        which the engine tries at every space of the page's prose.
        """
        last = -1
        end = 0
        low = self.lowered
        hits: list[tuple[int, int]] = []
        at = low.find("@")
        while at >= 0:
            hits.append((at, 1))
            at = low.find("@", at + 1)
        for head, words in _hint_words():
            if head not in low:
                continue
            for word, pattern in words:
                if word != head and word not in low:
                    continue
                # a word cannot overlap itself across the space after it: finditer sees all
                for m in pattern.finditer(low):
                    start = m.start() - 1
                    if start >= 0 and low[start] in _HINT_BEFORE:
                        hits.append((start, m.end() - start))
        hits.sort()
        for start, size in hits:
            if start < end:
                continue  # finditer's matches do not overlap
            end = start + size
            i = self.block_at(start)
            if i != last and i < len(self.blocks):
                last = i
                yield i

    def find(self, needle: str) -> int | None:
        """Index of the first block containing ``needle`` (case-insensitive)."""
        pos = self.lowered.find(needle.lower()) if needle else -1
        if pos < 0:
            return None
        i = self.block_at(pos)
        return i if i < len(self.blocks) else None


class Collector:
    """One record per address; the best method wins, the others fill gaps."""

    def __init__(self, page: ParsedPage) -> None:
        self.found: dict[str, Found] = {}
        self.text = PageText(page)

    def kept(self, value: str, method: Method) -> Found | None:
        """The record a new sighting of ``value`` by ``method`` would leave in place, if any.

        :meth:`add` keeps that record's label and context when it has them, so a source
        need not work out its own for that sighting.
        """
        old = self.found.get(value)
        if old is not None and METHOD_RANK[method] >= METHOD_RANK[old.method]:
            return old
        return None

    def add(self, item: Found) -> None:
        item.methods.add(item.method)
        old = self.found.get(item.value)
        if old is None:
            self.found[item.value] = item
            return
        best, other = (
            (item, old) if METHOD_RANK[item.method] < METHOD_RANK[old.method] else (old, item)
        )
        best.methods |= other.methods
        best.label = best.label or other.label
        best.context = best.context or other.context
        best.confidence = max(best.confidence, other.confidence)
        for key, val in other.details.items():
            best.details.setdefault(key, val)
        self.found[item.value] = best
