"""The phone extractor's speed gates: each must let through every block that could hold a number."""

from __future__ import annotations

import random
import re
import sys
from urllib.parse import unquote

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from auditor.data import load
from auditor.extract.context import ExtractContext
from auditor.extract.page import Link, TextBlock, parse_page
from auditor.extract.phones import candidates, extract_phones, structured
from auditor.extract.phones import text as text_source
from auditor.extract.phones.candidates import DECOY_RUNS, DIGIT, RUN, SHAPE_RUN, TEL_PARAMS
from auditor.extract.phones.guards import AMOUNT, FREE, GLUED, context_verdict
from auditor.extract.phones.labels import Blocks
from auditor.extract.phones.links import _link_block, _tel_number
from auditor.extract.phones.matching import _normalized, page_scope, parse_valid
from auditor.extract.phones.text import _Decoys, _may_be_plausible, _plausible
from auditor.extract.phones.words import _EndSearch, phone_vocab
from auditor.text import fold_width

URL = "https://example.com/kontakt"


def values(html: str, region: str | None) -> list[str]:
    return [p.value for p in extract_phones(parse_page(html, URL), ExtractContext(region))]


def runs(*texts: str) -> list[tuple[tuple[int, int], ...]]:
    blocks = Blocks([TextBlock(text, "main") for text in texts])
    return [blocks.runs(i) for i in range(len(texts))]


# --- digit runs: one pass over the page's shapes --------------------------------------------


def test_every_bmp_digit_the_regex_sees_is_folded_to_ascii() -> None:
    """``SHAPE_RUN`` reads "0" as the only digit of a shape: that holds only if fold_width
    turns every BMP character ``\\d`` matches into an ASCII digit."""
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


def test_a_page_with_emoji_still_finds_its_numbers() -> None:
    """An emoji is beyond the BMP: the page's shapes are searched with ``RUN``, not ``SHAPE_RUN``."""
    assert values("<p>📞 +36 1 234 5678</p><p>☎ 06 1 234 5679</p>", "HU") == ["+3612345678", "+3612345679"]


def test_a_six_digit_number_is_found() -> None:
    """A number with exactly six digits (a short local number) still reaches the matcher."""
    assert values("<p>Telefon: 712 345</p>", "AD") == ["+376712345"]


def test_page_pass_finds_each_blocks_own_runs() -> None:
    """One pass over the page's distinct shapes joined finds, block by block, what ``RUN``
    finds on each folded block alone: random blocks of digits (ASCII, Arabic-Indic, full-width and
    beyond the BMP), separators, letters and NUL."""
    rng = random.Random(3)
    bold_one = chr(0x1D7CF)
    alphabet = list("0123456789" * 3 + "  -./()\u2013") + ["ab", "Tel", "\x00", "٣", "５", bold_one, "📞"]
    checked = 0
    for _ in range(1500):
        texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(rng.randint(0, 6))]
        blocks = Blocks([TextBlock(text, "main") for text in texts])
        want = [tuple(m.span() for m in RUN.finditer(fold_width(text))) for text in texts]
        assert [blocks.runs(i) for i in range(len(texts))] == want, texts
        assert list(blocks.with_runs) == [i for i, found in enumerate(want) if found]
        checked += sum(map(len, want))
    assert checked > 1000


def test_shape_run_is_run_where_zero_is_the_only_digit() -> None:
    """``SHAPE_RUN`` stands in for ``RUN`` only on pages without characters beyond the BMP."""
    bold = "".join(chr(0x1D7CE + d) for d in range(6))
    assert SHAPE_RUN.search(bold) is None and RUN.search(bold) is not None
    assert runs(f"x {bold} y", "Tel 000 000") == [((2, 8),), ((4, 11),)]


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
    assert [bool(blocks.plan(i)) for i in range(len(texts))] == [True, False, True, False, True, True]


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


# --- one parse and one type test per number and page --------------------------------------------


def _reference(raw: str, region: str) -> str | None:
    """What parse_valid answered before it read validity off the number's type."""
    try:
        number = phonenumbers.parse(_normalized(raw, True).replace("(0)", "   "), region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164) if phonenumbers.is_valid_number(number) else None


def test_valid_is_what_libphonenumber_says() -> None:
    """A type other than UNKNOWN is exactly libphonenumber's validity, over every region's
    example numbers and random digit strings (valid and not) read in several regions."""
    rng = random.Random(7)
    cases: list[tuple[str, str]] = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                national = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
                cases += [(national, region), (national[:-1] + str(rng.randint(0, 9)), region)]
                cases.append((phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL), "ZZ"))
    for _ in range(1500):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 13)))
        cases.append((rng.choice(["", "+", "00", "0"]) + digits, rng.choice(["DE", "HU", "GB", "US", "IT", "RU", "ZZ"])))
    valid = 0
    with page_scope():
        for raw, region in cases:
            parsed = parse_valid(raw, [region])
            got = None if parsed is None else phonenumbers.format_number(parsed[0], PhoneNumberFormat.E164)
            assert got == _reference(raw, region), (raw, region)
            valid += got is not None
    assert 300 < valid < len(cases) - 300  # both answers are well represented


def test_a_number_repeated_on_a_page_is_found_in_each_source() -> None:
    """The per-page memo answers the second parse of a number: its link, title and text all count."""
    html = (
        '<p><a href="tel:+3612345678" title="Hotline +36 1 234 5678">Hívjon</a></p>'
        '<p><a href="tel:+3612345678">+36 1 234 5678</a></p><p>Fax: +36 1 234 5679</p>'
        '<span class="icon-phone" title="Mobil: +36 30 123 4567"></span>'
    )
    first = extract_phones(parse_page(html, URL), ExtractContext("HU"))
    again = extract_phones(parse_page(html, URL), ExtractContext("HU"))
    assert first == again
    assert {(p.value, p.method) for p in first} == {
        ("+3612345678", "tel-link"), ("+3612345678", "text"), ("+3612345679", "text"), ("+36301234567", "attribute")
    }


# --- the amount guard's unit before a number ------------------------------------------------------


def test_unit_before_test_is_the_regex_search() -> None:
    """The last-character test in front of the unit regex never turns away a text it matches:
    random texts over the units' own characters (any case), spaces and digits."""
    units = phone_vocab().units_before
    assert units.ends is not None
    letters = sorted({c for k in load("phone_labels.toml")["guards"]["amount_units"] for c in k})
    alphabet = letters + [c.upper() for c in letters] + list(" \t\n\u00a0\u2009019aZſK.")
    rng = random.Random(11)
    matched = 0
    for _ in range(30_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
        want = units.pattern.search(text)
        got = units.search(text)
        assert (got and got.span()) == (want and want.span()), repr(text)
        matched += want is not None
    assert matched > 1_000
    for text in ("1 234 Ft", "€ ", "HUF  ", "Kč\n", "руб. ", "50 %", "m²", "Ft   ", "kft", "ft"):
        want, got = units.pattern.search(text), units.search(text)
        assert (got and got.span()) == (want and want.span()), text


def test_stems_turn_the_test_off() -> None:
    """A stem keyword may end in any word character: no last-character test is made."""
    assert _EndSearch(["Ft", "eur*"]).ends is None
    assert _EndSearch(["Ft", "eur*"]).search("12 euros") is not None


# --- the cheap half of the plausibility test ------------------------------------------------------


def test_may_be_plausible_never_turns_away_a_plausible_run() -> None:
    """Where the cheap test says no, ``_plausible`` never says True (a run only a label could
    name is skipped when no label is near)."""
    rng = random.Random(5)
    regions = [None, "DE", "HU", "GB", "TR", "RU", "US", "PL", "FR"]
    turned_away = 0
    for _ in range(6000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 13)))
        window = rng.choice(["", "+", "(", "00", "(0"]) + "".join(
            d + (rng.choice(["", " ", "-", "/", "."]) if rng.random() < 0.3 else "") for d in digits
        ).rstrip(" -/.")
        region = rng.choice(regions)
        if not _may_be_plausible(window, region):
            turned_away += 1
            assert _plausible(window, region) is not True, (window, region)
    assert turned_away > 300
    assert _may_be_plausible("0301234567", "DE") and _may_be_plausible("+4930123456", None)
    assert not _may_be_plausible("301234567", "DE") and not _may_be_plausible("030 1234567", None)


# --- a run and its match judged once on the words around them -----------------------------------


def test_block_verdicts_are_per_span_and_asked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "Ár: 1 234 567 Ft, Tel: 06 1 234 5678, ref/123456789"
    spans = [(4, 13), (23, 37), (43, 52)]
    decoys = _Decoys(text)
    want = [context_verdict(text, a, b) for a, b in spans]
    assert want == [AMOUNT, FREE, GLUED]
    asked: list[tuple[int, int]] = []

    def counting(text: str, lead: int, end: int) -> int:
        asked.append((lead, end))
        return context_verdict(text, lead, end)

    monkeypatch.setattr(text_source, "context_verdict", counting)
    assert [decoys.verdict(text, a, b) for a, b in spans * 2] == want * 2
    assert asked == spans


def test_a_match_spanning_its_run_reuses_the_runs_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[int, int]] = []
    original = context_verdict

    def counting(text: str, lead: int, end: int) -> int:
        asked.append((lead, end))
        return original(text, lead, end)

    monkeypatch.setattr(text_source, "context_verdict", counting)
    assert values("<p>Telefon: 06 1 234 5678</p>", "HU") == ["+3612345678"]
    assert asked == [(9, 22)]  # once for the run, not again for its match


# --- tel: links: the scheme prefilter and the block of a link's text ---------------------------


def _tel_reference(href: str) -> str | None:
    """``_tel_number`` as written before its one-regex prefilter."""
    href = href.strip()
    scheme, sep, rest = href.partition(":")
    if not sep or scheme.strip().lower() not in ("tel", "callto"):
        return None
    rest = TEL_PARAMS.sub("", unquote(rest)).lstrip("/").strip()
    return rest if len(DIGIT.findall(rest)) >= 6 else None


def test_tel_scheme_prefilter_turns_away_only_other_links() -> None:
    rng = random.Random(13)
    spaces = ["", " ", "\t", "\u00a0", "\u2003", "\n", "\x1c", "/"]
    schemes = ["tel", "TEL", "Tel", "callto", "CallTo", "te", "tel l", "mailto", "", "\u212ael", "ſ", "İ", "T\u0307el"]
    rests = ["", ":", "::", "+36", "1234567", "%20", "?x=1", " 06 1 234 5678", "/", "a"]
    accepted = 0
    for _ in range(20_000):
        head = rng.choice(spaces) + rng.choice(schemes) + rng.choice(spaces) + rng.choice([":", "", ": "])
        href = head + "".join(rng.choice(rests) for _ in range(rng.randint(0, 5)))
        want = _tel_reference(href)
        assert _tel_number(Link(href, href, "", "main")) == want, repr(href)
        accepted += want is not None
    assert accepted > 300
    for href in (" \u00a0TEL \t: +36 1 234 5678", "callto:+3612345678", "Tel:+36/1/234-5678;ext=1"):
        assert _tel_number(Link(href, href, "", "main")) == _tel_reference(href) is not None


def test_link_block_is_the_first_block_holding_the_link_text() -> None:
    """Found in the page's joined text: the first block holding it, at its first place there."""
    texts = ["Kontakt", "Hotline: 06 1 234 5678", "Ring 06 1 234 5678 now, 06 1 234 5678", "06 1 234 5678", "x\x00y"]
    for joined in (True, False):
        blocks = Blocks([TextBlock(text, "main") for text in (texts[:4] if joined else texts)])
        assert (blocks.joined is not None) == joined
        for needle, want in [("06 1 234 5678", (1, 9, 22)), ("now, 06", (2, 19, 26)), ("Kontakt", (0, 0, 7)),
                             ("5678 now", (2, 14, 22)), ("absent", None), ("ab", None), ("t\x00H", None)]:
            assert _link_block(blocks, Link("tel:1", "tel:1", needle, "main")) == want, (joined, needle)


def test_decoy_start_finds_what_the_plain_lookahead_found() -> None:
    """The decoy regex's faster start test (one-character test, repeats that never give back)
    finds the same decoys as the lookahead written plainly, over random digit-heavy texts."""
    dash = r"\s*[\-\u2010-\u2015\u2212]\s*"
    plain = re.compile(rf"(?=\d{{1,8}}(?:[./:,\-]|{dash})|[A-Z]{{1,2}}[\d\-])(?:{'|'.join(candidates._DECOY_PATTERNS)})")
    rng = random.Random(17)
    alphabet = list("0123456789" * 2 + "  ..//--::,,") + ["\u2013", "\u2212", "DE", "HU", "D-", "ab", "\n"]
    fragments = ["10.05.2024", "2024-05-10", "08.00 - 16.00", "DE89 3704 0044 0532 0130 00", "12345-6789",
                 "D-10115", "1.234,56", "03/2015", "12345678-1-42", "24.06.–25.06.", "2016/679", "06 1 234 5678"]
    found = 0
    for _ in range(6000):
        text = "".join(rng.choice(alphabet if rng.random() < 0.8 else fragments) for _ in range(rng.randint(0, 30)))
        want = [m.span() for m in plain.finditer(text)]
        assert [m.span() for m in DECOY_RUNS.finditer(text)] == want, repr(text)
        found += len(want)
    assert found > 2000


def test_property_key_is_the_last_segment() -> None:
    """``_key`` cuts after the last "/", "#" or ":" as a split on all three would."""
    rng = random.Random(19)
    for _ in range(3000):
        name = "".join(rng.choice(["/", "#", ":", "schema", "Telephone", "http", ".", "", "ÄB"]) for _ in range(rng.randint(0, 6)))
        assert structured._key(name) == re.split(r"[/#:]", name)[-1].lower(), name
    assert structured._key("http://schema.org/faxNumber") == "faxnumber"
