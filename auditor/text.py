"""Text folding: the one ``fold()`` every matcher uses, so words compare alike everywhere.

:func:`fold` has two strengths, because its callers need two:

- ``fold(text)``, the default, makes spellings of one word equal for keyword matching:
  case folded, accents dropped and the letters Unicode does not decompose spelled in
  ASCII ("Obsługa" ~ "obsluga", "Yanıt" ~ "yanit", "Œuvre" ~ "oeuvre"). The result can
  be shorter or longer than ``text``.
- ``fold(text, keep_accents=True)`` folds case only, exactly as ``re.IGNORECASE``
  compares characters, and keeps the text's length (so offsets carry over). Searching
  text folded this way with a pattern from :func:`folded_regex` (the same pattern without
  ``re.I``) lets the regex engine skip ahead by a pattern's first characters, which
  ``re.I`` prevents (about 100 ns a character): 2-5 times faster.

The case-only fold lower-cases (with ``İ`` kept to one character) and maps the
characters ``re.I`` also treats as equal (``ı``/``i``, ``ſ``/``s``, ``ς``/``σ``, ...) to
one of them. One deliberate gap: U+0345 (a combining Greek mark ``re.I`` equates with
``ι``) is left alone, since mapping a mark to a letter would move word boundaries.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

try:  # the engine's own table of extra case equivalences (CPython >= 3.11)
    from re._casefix import _EXTRA_CASES as _EXTRA  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - other interpreters: the common ones by hand
    _EXTRA = {0x69: (0x131,), 0x131: (0x69,), 0x73: (0x17F,), 0x17F: (0x73,), 0x3C2: (0x3C3,), 0x3C3: (0x3C2,)}

__all__ = ["fold", "fold_width", "folded_regex"]

# Letters that NFKD does not split into base + accent, as ASCII spells them.
_LETTER_PAIRS = (("ł", "l"), ("ı", "i"), ("ß", "ss"), ("đ", "d"), ("ø", "o"), ("æ", "ae"), ("œ", "oe"))
# str.translate looks every character up in Python: a replace per letter present runs in C
_HAS_LETTERS = re.compile("[łıßđøæœ]")


def _canon_table() -> dict[int, int]:
    table: dict[int, int] = {}
    for key, extras in _EXTRA.items():
        letters = sorted(c for c in (key, *extras) if chr(c).isalpha())
        for c in letters[1:]:
            table[c] = letters[0]
    return table


# "İ" (U+0130) lower-cases to two characters; re.I compares it with "i": fold replaces it.
_CANON = _canon_table()
_HAS_CANON = re.compile("[" + "".join(map(chr, sorted(_CANON))) + "]")
_ESCAPE = re.compile(r"\\.", re.S)


def _width_table() -> dict[int, int]:
    """Full-width ASCII forms (U+FF01-FF5E) and the ideographic space as ASCII, every decimal
    digit of any script in the BMP (Arabic-Indic, Eastern Arabic-Indic, Devanagari, ...) as 0-9."""
    table = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
    table[0x3000] = 0x20
    for c in range(0x80, 0x10000):  # the Basic Multilingual Plane: a fast class
        value = unicodedata.decimal(chr(c), None)
        if value is not None:
            table[c] = 0x30 + value
    return table


_WIDTH = _width_table()


def _char_class(codes: list[int]) -> str:
    """A regex class of ``codes`` as ranges: a few dozen ranges search fast, hundreds of
    single characters do not."""
    ranges: list[tuple[int, int]] = []
    for c in codes:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1] = (ranges[-1][0], c)
        else:
            ranges.append((c, c))
    return "[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]"


_HAS_WIDTH = re.compile(_char_class(sorted(_WIDTH)))


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@cache
def _combining() -> tuple[re.Pattern[str], frozenset[str]]:
    """Every character with a non-zero canonical combining class (what ``unicodedata.combining``
    tests): those of the BMP as one regex class, removed in C (7 times faster than a Python
    test per character), the rarer ones beyond it as a set. Built on the first accented fold
    (a scan of all of Unicode: ~0.1 s). One class for both is slower: beyond the BMP the
    engine tests ranges one by one at every position."""
    codes = [c for c in range(0x110000) if unicodedata.combining(chr(c))]
    return (re.compile(_char_class([c for c in codes if c < 0x10000])),
            frozenset(chr(c) for c in codes if c >= 0x10000))


def fold_width(text: str) -> str:
    """``text`` with full-width forms and non-ASCII digits as ASCII, same length.

    Browsers show "０３－６８２３－４４１０", "sales＠firma.co.jp" and "٠١١ ٤٨٢ ٧٣٠٥" as a
    number and an address: matchers written for ASCII read them after this fold (NFKC for
    those characters only, one character for one, so offsets into ``text`` carry over and
    the raw text can be cut from the original).
    """
    if text.isascii() or not _HAS_WIDTH.search(text):
        return text
    return text.translate(_WIDTH)


def fold(text: str, *, keep_accents: bool = False) -> str:
    """``text`` folded for matching; ``keep_accents`` folds case only (same length, as ``re.I``)."""
    if keep_accents:
        # str.translate looks up every character in Python, so it runs only when one of
        # its few characters is there (a C-level search finds out).
        if "\u0130" in text:
            text = text.replace("\u0130", "i")
        low = text.lower()
        return low.translate(_CANON) if _HAS_CANON.search(low) else low
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.casefold())
    bmp, astral = _combining()
    text = bmp.sub("", text)
    if _ASTRAL.search(text):
        text = "".join(ch for ch in text if ch not in astral)
    # compatibility characters decompose to capitals ("ℌ" -> "H", "ᴭ" -> "Æ"): fold again
    text = text.casefold()
    if _HAS_LETTERS.search(text):
        for letter, ascii_spelling in _LETTER_PAIRS:
            if letter in text:
                text = text.replace(letter, ascii_spelling)
    return text


def folded_regex(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """``pattern`` without ``re.I``, for text passed through ``fold(text, keep_accents=True)``.

    None when that would change its meaning: an upper-case literal outside escapes or a
    case-sensitive group (``(?-i:...)``).
    """
    source = pattern.pattern
    bare = _ESCAPE.sub("", source)
    if "(?-i" in source or any(c != c.lower() for c in bare):
        return None
    return re.compile(source.translate(_CANON), pattern.flags & ~re.IGNORECASE)
