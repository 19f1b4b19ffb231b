"""fold: one folding for every matcher.

Case only (``keep_accents=True``): folded text + a pattern without re.I must match exactly
where re.I does. Full (the default): spellings of one word compare equal.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.text import fold, folded_regex

SAMPLES = [
    "Geschlossen", "GESCHLOSSEN", "KAPALI", "kapalı", "Kapalı", "İÇERİ", "ſtop", "STOP", "Nonstop",
    "ΚΛΕΙΣΤΌ", "κλειστό", "ΣΑΒΒΑΤΟ", "Σάββατος", "ЗАКРЫТО", "закрыто", "Zárva", "ZÁRVA", "zamknięte",
    "ZAMKNIĘTE", "office", "takeoff", "Off", "OFF-season", "µ", "Μ", "ﬅ", "ﬆ", "Kelvin K", "ẞ", "ß",
]
WORDS = ["geschlossen", "kapalı", "kapali", "içeri", "stop", "κλειστό", "σάββατος", "закрыто", "zárva",
         "zamknięte", "off", "μ", "ﬆ", "k", "ß"]


@pytest.mark.parametrize("word", WORDS)
def test_folded_regex_agrees_with_ignorecase(word: str) -> None:
    exact = re.compile(rf"(?<![^\W_])(?:{re.escape(word)})(?![^\W_])", re.I)
    fast = folded_regex(exact)
    assert fast is not None and not fast.flags & re.I
    for text in SAMPLES + [f"x {s} y" for s in SAMPLES]:
        assert bool(exact.search(text)) == bool(fast.search(fold(text, keep_accents=True))), (word, text)


def test_fold_keeps_length_and_boundaries() -> None:
    for text in SAMPLES:
        assert len(fold(text, keep_accents=True)) == len(text)
        assert [c.isalnum() for c in fold(text, keep_accents=True)] == [c.isalnum() for c in text]


def test_patterns_that_cannot_be_folded_are_refused() -> None:
    assert folded_regex(re.compile(r"(?-i:Mo)|tue", re.I)) is None  # case-sensitive group
    assert folded_regex(re.compile(r"Monday", re.I)) is None  # upper-case literal
    assert folded_regex(re.compile(r"\W\S\D+x", re.I)) is not None  # escapes are not literals


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Ügyfélszolgálat", "ugyfelszolgalat"),
        ("Obsługa Klienta", "obsluga klienta"),
        ("Otomatik Yanıt", "otomatik yanit"),
        ("İletişim", "iletisim"),
        ("Straße", "strasse"),
        ("Œuvre Æble Ørsted Đakovo", "oeuvre aeble orsted dakovo"),
        ("ΣΆΒΒΑΤΟΣ", "σαββατοσ"),
        ("PrestaShop™ ℌ", "prestashoptm h"),
        ("Plain ASCII", "plain ascii"),
    ],
)
def test_fold_makes_spellings_of_a_word_equal(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_is_idempotent_on_every_character() -> None:
    """Keywords and page text are folded alike, so folding twice must change nothing."""
    for code in range(0x110000):
        if 0xD800 <= code < 0xE000:
            continue
        once = fold(chr(code))
        assert fold(once) == once, hex(code)


def _fold_by_definition(text: str) -> str:
    """What the full fold means, written plainly: case folded, NFKD, every combining mark dropped,
    folded again, the letters NFKD keeps whole spelled in ASCII."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    pairs = {"ł": "l", "ı": "i", "ß": "ss", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe"}
    return text.casefold().translate(str.maketrans(pairs))


# letters, accents and marks in and beyond the BMP (musical and Adlam combining marks: U+1D165, U+1E944)
_FOLD_ALPHABET = st.characters(codec="utf-8", categories=("L", "M", "N", "P", "Zs"))


@settings(max_examples=2000, deadline=None)
@given(text=st.text(alphabet=st.one_of(_FOLD_ALPHABET, st.sampled_from("łŁıßẞđĐøØæÆœŒ\u0301\U0001d165\U0001e944")),
                    max_size=40))
def test_fold_removes_exactly_the_combining_marks(text: str) -> None:
    assert fold(text) == _fold_by_definition(text)


def test_fold_removes_combining_marks_beyond_the_bmp() -> None:
    assert fold("a\U0001d165b\U0001e944c\u0301") == "abc"
    assert fold("Łódź ŒUVRE ẞ") == "lodz oeuvre ss"
