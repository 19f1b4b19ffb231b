"""The hours extractor's page passes: the seed tests run over a page's blocks joined must
select the blocks the block-by-block tests select (a pass made too strict loses hours, one
made too loose, a match across two blocks, lexes blocks it should not)."""

from __future__ import annotations

from bisect import bisect_right

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.extract.hours import blocks as hour_blocks
from auditor.extract.hours import digit_shapes, vocab
from auditor.text import fold
from tests.unit.test_hours import FRAGMENTS, _reference_candidates, block_lists, day_texts


def _page_candidates(blocks: list[str]) -> set[int] | None:
    v = vocab()
    return hour_blocks._page_candidates(blocks, v, hour_blocks._Texts(blocks, v, fold_all=True))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=block_lists)
def test_page_passes_select_the_blocks_the_block_by_block_tests_select(blocks: list[str]) -> None:
    assert _page_candidates(blocks) == _reference_candidates(blocks)


@pytest.mark.parametrize(
    "blocks",
    [
        ["Lorem ipsum", "Mo 9", "-5 apples", "Lorem"],  # "9" and "-5": a range only across the NUL
        ["Mo 9", "h 24 x", "Lorem"],  # a day block, then an always-open quick test's "h 24"
        ["Öffnungszeiten 24", "/7"],  # "24" and "/7" in two blocks: no 24/7
        ["So", "geschlossen", "Mo-Fr 9:00-17:00"],
        ["nonstop", "Lorem"],
        ["Tel. 030 1234-567", "Mo-Fr", "8:00-17:00", "Sa 9-12"],
        ["ΚΛΕΙΣΤΌΣ", "Σ", "Δευτέρα 9:00-17:00"],  # a final sigma at a block's end
        ["İstanbul ofisi", "Pzt-Cum 09:00-18:00"],
        [],
        [""],
    ],
)
def test_page_passes_on_edge_pages(blocks: list[str]) -> None:
    assert _page_candidates(blocks) == _reference_candidates(blocks)


def test_a_range_across_two_blocks_is_no_range() -> None:
    """The joined blocks' range test must not read "9" NUL "-5" as a range ("[^\\s\\d]" took a NUL)."""
    assert _page_candidates(["Lorem ipsum", "Mo 9", "-5 apples", "Lorem"]) == set()


def test_a_block_holding_a_nul_is_left_to_the_block_by_block_tests() -> None:
    blocks = ["Mo-Fr\x009:00-17:00", "Lorem"]
    v = vocab()
    assert hour_blocks._fold_all(blocks) is None
    assert _page_candidates(blocks) is None
    assert hour_blocks._candidates(blocks, v, digit_shapes(blocks)) == _reference_candidates(blocks)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(st.one_of(st.sampled_from([*FRAGMENTS, "ΟΔΟΣ", "Σ", "İ", "ſ", "ß"]), st.text(max_size=12)), max_size=8))
def test_blocks_folded_together_as_one_by_one(blocks: list[str]) -> None:
    folds = hour_blocks._fold_all(blocks)
    if any("\x00" in b for b in blocks):
        assert folds is None
    elif folds is not None:
        assert folds == [fold(b, keep_accents=True) for b in blocks]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(st.one_of(st.sampled_from([*FRAGMENTS, "rund um die Uhr", "h24", "0-24", "24 óra", "24h"]), day_texts), max_size=8))
def test_quick_always_pass_finds_the_blocks_the_quick_test_finds(blocks: list[str]) -> None:
    """always_quick split into its plain words (Aho-Corasick) and its other alternatives."""
    v = vocab()
    pats = hour_blocks._page_patterns()
    assert pats is not None and v.folded_always_quick is not None
    folds = [fold(b, keep_accents=True) for b in blocks]
    joined = "\x00".join(folds)
    starts = [0]
    for b in blocks:
        starts.append(starts[-1] + len(b) + 1)
    found = {bisect_right(starts, end) - 1 for end, _w in pats.quick_words.iter(joined)}
    for pattern in pats.quick:
        found |= hour_blocks._blocks_of(pattern, joined, starts)
    assert found == {i for i, f in enumerate(folds) if v.folded_always_quick.search(f)}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(day_texts, block_lists.map(" ".join)))
def test_a_text_with_a_day_word_has_a_lexable_shape(text: str) -> None:
    """parse_text lexes a block with a day word without the shape's tests: the shape's day
    test (and so lexable) must pass wherever the text's day test does."""
    v = vocab()
    if not v.any_day.search(text):
        return
    shape = digit_shapes([text])[0]
    assert v.shape.day.search(shape) and v.shape.is_lexable(shape)


def _example_numbers() -> list[str]:
    import phonenumbers

    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                out.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return out


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.sampled_from(_example_numbers()), st.from_regex(r"\+[0-9]{4,18}", fullmatch=True)))
def test_a_phone_targets_national_number_ends_with_its_tail(value: str) -> None:
    """A block's digits without a number's tail are not searched for the number (it is not
    even parsed): the national number must end with the tail wherever one is given."""
    from auditor.extract.hours.attach import _national_digits, _tail

    tail = _tail(value)
    national = _national_digits(value)
    if tail and len(national) >= 6:
        assert national.endswith(tail), (value, national, tail)


def test_a_number_a_prefix_rule_rewrites_has_no_tail() -> None:
    """Argentina's mobile numbers lose their "15" and gain a "9": no tail can be promised."""
    from auditor.extract.hours.attach import _tail

    assert _tail("+5491123456789") == ""
    assert _tail("+493012345678") == "345678"
    assert _tail("030 12345678") == ""


def test_hours_tie_to_a_number_written_otherwise_in_the_same_block() -> None:
    """The digits step (not the raw text) finds the number: its tail is in the block."""
    from auditor.extract.context import ExtractContext
    from auditor.extract.hours import extract_hours
    from auditor.extract.page import parse_page
    from auditor.models import ContactPoint

    url = "https://www.example.eu/contact"
    phone = ContactPoint(kind="phone", value="+493012345678", raw="tel:+493012345678", label=None, method="tel-link", page_url=url)
    other = ContactPoint(kind="phone", value="+493098765432", raw="tel:+493098765432", label=None, method="tel-link", page_url=url)
    page = parse_page("<html><body><p>Hotline 030 / 12 34 56 78: Mo-Fr 9:00-17:00</p></body></html>", url)
    [point] = extract_hours(page, ExtractContext(None, (other, phone), None))
    assert point.details["applies_to"] == "+493012345678"


@pytest.mark.parametrize("text", ["24/7", "Mo-Fr 0-24 h", "nonstop 9-17", "Mo-Fr 9-17", "rund um die Uhr", "Sa 24h"])
def test_lex_given_the_pages_quick_answer_lexes_as_alone(text: str) -> None:
    """parse_text hands lex the page pass's always_quick answer for the block."""
    from auditor.extract.hours import lexing

    v = vocab()
    folded = fold(text, keep_accents=True)
    quick = v.search_folded("always_quick", text, folded)
    for code in ("en", "de"):
        lang = v.langs[code]
        assert lexing.lex(text, 0, lang, v, folded, None, quick) == lexing.lex(text, 0, lang, v)


def test_parse_text_reads_an_always_open_block_of_a_page_pass() -> None:
    from auditor.extract.hours import parse_text
    from auditor.extract.hours.schedules import render

    blocks = ["Service", "Hotline 24/7", "Lorem ipsum", "Mo-Fr 9:00-17:00"]
    values = [r[0] for s in parse_text(blocks, "en") if (r := render(s))]
    assert values == ["24/7", "Mo-Fr 09:00-17:00"]
