"""The phone extractor's speed gates: each must let through every block that could hold a number."""

from __future__ import annotations

import re
import sys

from auditor.extract.context import ExtractContext
from auditor.extract.page import TextBlock, parse_page
from auditor.extract.phones import extract_phones
from auditor.extract.phones.labels import Blocks
from auditor.extract.phones.text import _Decoys
from auditor.text import fold_width

URL = "https://example.com/kontakt"


def values(html: str, region: str | None) -> list[str]:
    return [p.value for p in extract_phones(parse_page(html, URL), ExtractContext(region))]


def runs(*texts: str) -> list[tuple[tuple[int, int], ...]]:
    blocks = Blocks([TextBlock(text, "main") for text in texts])
    return [blocks.runs(i) for i in range(len(texts))]


# --- the digit-count gate on a block's shape ---------------------------------------------------


def test_every_bmp_digit_the_regex_sees_is_folded_to_ascii() -> None:
    """The gate counts "0"s in a shape: that holds only if fold_width turns every BMP
    character ``\\d`` matches into an ASCII digit."""
    digit = re.compile(r"\d")
    for code in range(0x80, 0x10000):
        char = chr(code)
        if digit.match(char):
            assert fold_width(char) in "0123456789", hex(code)


def test_six_digits_make_a_run() -> None:
    """The shortest run (MIN_DIGITS digits) passes the gate."""
    assert runs("Tel 123456", "Tel 12345", "Tel 1 2 3 4 5 6") == [((4, 10),), (), ((4, 15),)]


def test_digits_beyond_the_bmp_make_a_run() -> None:
    """Decimal digits fold_width keeps (beyond the BMP) count as the regex counts them."""
    bold = "".join(chr(0x1D7CE + d) for d in (1, 2, 3))  # MATHEMATICAL BOLD DIGIT ONE..THREE
    assert runs(f"Tel 123{bold}")[0] == ((4, 10),)
    assert runs(f"Tel 12{bold}")[0] == ()
    assert sys.maxunicode > 0x1D7CE


def test_a_six_digit_number_is_found() -> None:
    """A number with exactly six digits (a short local number) still reaches the matcher."""
    assert values("<p>Telefon: 712 345</p>", "AD") == ["+376712345"]


# --- one width fold for the page ---------------------------------------------------------------


def test_page_fold_equals_each_block_fold() -> None:
    texts = ["０３－６８２３－４４１０", "plain", "٠١١ ٤٨٢ ٧٣٠٥", "NUL\x00inside ０１", ""]
    blocks = Blocks([TextBlock(text, "main") for text in texts])
    assert blocks.texts == [fold_width(text) for text in texts]
    blocks = Blocks([TextBlock(text, "main") for text in texts[:3]])
    assert blocks.texts == [fold_width(text) for text in texts[:3]]


def test_full_width_number_is_found() -> None:
    assert values("<p>電話：０３－６８２３－４４１０</p>", "JP") == ["+81368234410"]


def test_plans_skip_only_blocks_without_a_run() -> None:
    texts = ["Tel 123456", "Tel 12345", "Tel: ١٢٣٤٥٦", "no digits", "Tel 1 2 3 4 5 6", "Tel 12345\U0001d7cf"]
    blocks = Blocks([TextBlock(text, "main") for text in texts])
    assert [bool(plan) for plan in blocks.plans()] == [True, False, True, False, True, True]


# --- decoys near a span ------------------------------------------------------------------------


def test_decoys_near_a_span_are_those_overlapping_it() -> None:
    """Only the decoys overlapping a span are handed to the guards: exactly those, none missed."""
    text = "10.05.2024 06 1 234 5678 2024-05-10 x 11.06.2023, 12.07.2022 +36 1 234 5678 01/02/2021"
    decoys = _Decoys(text)
    assert len(decoys.spans) == 5
    for start in range(len(text) + 1):
        for end in range(start, len(text) + 1):
            brute = [(a, b) for a, b in decoys.spans if a < end and start < b]
            assert decoys.near(start, end) == brute, (start, end)
