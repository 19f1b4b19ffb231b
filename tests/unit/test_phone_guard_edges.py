"""The phone guards one by one, at their edges: glue, decoy overlap, amounts, id keywords, shapes.

Each guard is called directly on a short text, so a guard that stops working fails here
even when another guard downstream would have caught the same page.
"""

from __future__ import annotations

import phonenumbers
import pytest

from auditor.extract.phones import candidates, guards, labels
from auditor.extract.phones import text as text_source

HU = "HU"


def number(raw: str, region: str = HU) -> phonenumbers.PhoneNumber:
    return phonenumbers.parse(raw, region, keep_raw_input=True)


def span(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


# --------------------------------------------------------------------------- _glued


@pytest.mark.parametrize(
    ("text", "part", "glued"),
    [
        ("Call 06 1 234 5678 now", "06 1 234 5678", False),
        ("a www.x.hu 0612345678", "0612345678", False),  # the web address is another token
        ("Tel 0612345678 www.x.hu end", "0612345678", False),
        ("www.x.hu/0612345678-x y", "0612345678", True),  # inside a URL token
        ("Tel 0612345678-see-www.x.hu", "0612345678", True),
        ("Tel 0612345678-x@", "0612345678", True),
        ("x0612345678", "0612345678", True),  # letters before
        ("x+36 1 234 5678", "+36 1 234 5678", True),
        ("4567+49 30 1234567", "+49 30 1234567", False),  # fragments joined without a space
        ("12340612345678", "0612345678", True),  # digits before
        ("id_0612345678", "0612345678", True),
        ("abc/0612345678", "0612345678", True),  # a path segment
        ("x a/0612345678", "0612345678", True),  # a one-letter path segment after a space
        ("0612345678_x", "0612345678", True),
        ("0612345678 9", "0612345678", False),
        ("061234567891", "0612345678", True),  # digits after
        ("0612345678.pdf", "0612345678", True),  # a file name
        ("0612345678abc", "0612345678", True),  # letters after
        ("0612345678Telefon", "0612345678", False),  # a label word after is not glue
        # the longest label of the data (31 characters) is looked up whole, not cut at 30
        ("0612345678servicio de atención al cliente", "0612345678", False),
        ("0612345678servicio de atención al clientela", "0612345678", True),
        # a label whose words are set apart by runs of whitespace is read as shown, not cut
        ("0612345678servicio  de  atención  al  cliente", "0612345678", False),
        ("0612345678servicio\n de \t atención al cliente", "0612345678", False),
        ("0612345678servicio  de  atención  al  clientela", "0612345678", True),
        # however long the runs: a browser shows each as one space (no raw look-ahead bound)
        ("0612345678toll" + " " * 200 + "free", "0612345678", False),
        ("0612345678toll" + "\n " * 150 + "fre", "0612345678", True),
        ("0612345678servicio de atención al cliente y más palabras después", "0612345678", False),
    ],
)
def test_glued(text: str, part: str, glued: bool) -> None:
    assert guards._glued(text, *span(text, part)) is glued


def test_the_look_ahead_for_a_label_after_the_digits_follows_the_longest_label() -> None:
    longest = guards._longest_word()
    vocab_words = ["servicio de atención al cliente", "Telefon", "Hotline", "☎"]
    assert longest >= max(len(w) for w in vocab_words)
    for word in vocab_words:
        text = "0612345678" + word
        assert not guards._glued(text, 0, 10), word


def test_a_label_word_ending_at_the_digits_is_not_glue_even_far_into_a_block() -> None:
    text = "x" * 50 + " Hotline0612345678"
    start = text.index("0612345678")
    assert guards._ends_with_word(text, start)
    assert not guards._glued(text, start, len(text))
    assert guards._glued("x" * 50 + " Hotlinx0612345678", start, len(text))


# --------------------------------------------------------------------------- rejected


def test_a_run_is_dropped_only_when_decoys_cover_all_its_digits() -> None:
    text = "2024-05-10 123"
    assert guards.rejected(text, 0, 10, [(0, 10)], whole=True)
    assert not guards.rejected(text, 0, 14, [(0, 10)], whole=True)  # a date and more digits
    assert not guards.rejected(text, 0, 10, [(1, 10)], whole=True)  # first digit uncovered
    assert not guards.rejected("123456", 0, 6, [(0, 5)], whole=True)  # last digit uncovered


def test_a_match_is_dropped_as_soon_as_a_decoy_touches_it() -> None:
    text = "12 345678 90"
    assert guards.rejected(text, 3, 9, [(8, 12)], whole=False)
    assert guards.rejected(text, 3, 9, [(0, 4)], whole=False)
    assert not guards.rejected(text, 3, 9, [(0, 3)], whole=False)  # ends where the match starts
    assert not guards.rejected(text, 3, 9, [(9, 12)], whole=False)  # starts where it ends


@pytest.mark.parametrize(
    ("text", "part", "rejected"),
    [
        ("x+36 1 234 5678", "36 1 234 5678", True),  # "+" belongs to the number, "x" glues it
        ("X(06 1 234 5678", "06 1 234 5678", True),
        ("(06 1 234 5678)", "06 1 234 5678", False),
        ("IBAN (0612345678", "0612345678", True),  # the keyword stands before the "("
    ],
)
def test_opening_plus_and_parenthesis_belong_to_the_number(text: str, part: str, rejected: bool) -> None:
    assert guards.rejected(text, *span(text, part), [], whole=False) is rejected


def test_the_opening_signs_are_looked_for_only_before_the_number() -> None:
    # at the start of the text there is nothing before it: the "(" at the end is no opening sign
    assert not guards.rejected("0612345678 IBAN (", 0, 10, [], whole=False)


def test_a_price_tail_drops_a_match_but_not_the_run_holding_it() -> None:
    text = "0900 5 555 123 (1,99 €/Min.)"
    start, end = span(text, "0900 5 555 123 (1,99")
    assert guards.rejected(text, start, end, [], whole=False)
    assert not guards.rejected(text, start, end, [], whole=True)
    price = "1234567 € 5 (2 db)"  # the price break after the run does not save it
    assert guards.rejected(price, 0, 7, [], whole=True)


# --------------------------------------------------------------------------- _acceptable


def test_a_match_needs_six_digits() -> None:
    n = number("+36 1 234 5678")
    hint = labels.Hint(named=True)
    assert text_source._acceptable("Tel 112 233", 4, 11, n, hint, [])
    assert not text_source._acceptable("Tel 112 23", 4, 10, n, hint, [])


def test_a_country_code_without_plus_needs_a_label_word() -> None:
    n = number("36 1 234 5678")
    assert n.country_code_source == phonenumbers.CountryCodeSource.FROM_NUMBER_WITHOUT_PLUS_SIGN
    text = "ref 36 1 234 5678"
    assert not text_source._acceptable(text, 4, len(text), n, labels.Hint(named=False), [])
    assert text_source._acceptable(text, 4, len(text), n, labels.Hint(named=True), [])


def test_a_decoy_touching_part_of_a_match_rejects_it() -> None:
    text = "06 1 234 5678"
    n = number(text)
    assert text_source._acceptable(text, 0, len(text), n, labels.Hint(named=True), [])
    assert not text_source._acceptable(text, 0, len(text), n, labels.Hint(named=True), [(0, 2)])


def test_a_match_is_judged_on_the_verdict_it_is_given() -> None:
    """The text pass hands its remembered verdicts (a run's, reused for the match spanning it):
    the match must be judged on that verdict, whatever the text around it says."""
    text = "Tel 06 1 234 5678"
    n = number(text[4:])
    hint = labels.Hint(named=True)
    assert text_source._acceptable(text, 4, len(text), n, hint, [])
    assert not text_source._acceptable(text, 4, len(text), n, hint, [], lambda *_: guards.GLUED)
    assert not text_source._acceptable(text, 4, len(text), n, hint, [], lambda *_: guards.AMOUNT)
    assert text_source._acceptable("Ár 12 345 678 Ft", 3, 13, n, hint, [], lambda *_: guards.FREE)
    assert guards.rejected(text, 4, len(text), [], whole=True, verdict=lambda *_: guards.GLUED)
    assert not guards.rejected("Ár 12 345 678 Ft", 3, 13, [], whole=True, verdict=lambda *_: guards.FREE)


# --------------------------------------------------------------------------- amounts and ids


@pytest.mark.parametrize(
    ("text", "part", "amount"),
    [
        ("Preis 1234567,50", "1234567", True),  # decimal part
        ("EUR 1234567", "1234567", True),
        ("€1234567", "1234567", True),
        ("1234567 Ft", "1234567", True),
        ("1234567 €ab", "1234567", True),  # a sign is a unit whatever follows it
        ("1234567 руб.abc", "1234567", True),  # so is an abbreviation with its dot
        ("1234567 m²", "1234567", True),
        ("1234567 Ftn", "1234567", False),  # a unit that a word goes on from is no unit
        ("1234567 kmh", "1234567", False),
        ("1234567 Ft.", "1234567", True),
        ("Tel 1234567", "1234567", False),
        ("1234567, 89", "1234567", False),  # a list, not decimals
    ],
)
def test_is_amount(text: str, part: str, amount: bool) -> None:
    assert guards._is_amount(text, *span(text, part)) is amount


@pytest.mark.parametrize(
    ("text", "part", "after"),
    [
        ("IBAN 12345, 06 1 234 5678", "06 1", False),  # digits stand between: not its number
        ("IBAN: 0612345678", "0612345678", True),
        ("IBAN " + "a" * 20 + " 0612345678", "0612345678", True),  # 20 characters between
        ("IBAN " + "a" * 21 + " 0612345678", "0612345678", False),
        ("IBAN" + " " * 44 + "0612345678", "0612345678", True),  # the keyword within 48 characters
        ("IBAN" + " " * 45 + "0612345678", "0612345678", False),
        ("IBAN: see the account below please 06 1 234 5678", "06 1", False),
        ("IBAN Tel 0612345678", "0612345678", False),  # a phone word in between wins
        ("Tel 0612345678", "0612345678", False),
    ],
)
def test_after_id_keyword(text: str, part: str, after: bool) -> None:
    assert guards._after_id_keyword(text, text.index(part)) is after


# --------------------------------------------------------------------------- shapes


def test_fits_region_by_national_pattern_and_length() -> None:
    assert text_source._fits_region("0612345678", HU)
    assert text_source._fits_region("12345678", HU)
    assert not text_source._fits_region("12", HU)
    assert text_source._fits_region("12", "ZZ")  # no metadata: cannot tell, let the matcher decide
    longest = text_source._national_shape(HU)[2]
    assert not text_source._fits_region("9" * longest, HU)
    assert not text_source._fits_region("9" * (longest + 3), HU)
    assert text_source._fits_region("9" * (longest + 4), HU)  # two numbers in one run


def test_plausible() -> None:
    assert text_source._plausible("+36 1 234 5678", None) is True
    assert text_source._plausible("06 1 234 5678", None) is None
    assert text_source._plausible("0612345678", HU) is True  # bare digits with the trunk prefix
    assert text_source._plausible("12 34 56", HU) is False  # cannot be a Hungarian number
    assert text_source._plausible("1 234 5678", HU) is None  # HU always writes its "06"
    assert text_source._plausible("12345678", HU) is None  # bare digits: only a label makes them a number


@pytest.mark.parametrize(
    ("window", "international"),
    [("+36 1 234 5678", True), ("(+36 1) 234 5678", True), ("((0036 1 234", True),
     ("(06 1) 234 5678", False), (" +36 1", False)],
)
def test_international(window: str, international: bool) -> None:
    assert text_source.is_international(window) is international


def test_lead_takes_at_most_three_opening_signs() -> None:
    assert candidates.run_start("ab+(12345", 4) == 2
    assert candidates.run_start("(((+12345", 4) == 1
    assert candidates.run_start("+36 1 (", 1) == 0
    assert candidates.run_start("X0612345678", 1) == 1


def test_masked_blanks_decoys_in_place() -> None:
    assert text_source._masked("2024-05-10 x", 0, [(0, 10)]) == " " * 10 + " x"
    text = "Tel: 06 1 234 5678 2024-05-10 nyitva"
    offset = text.index("06")
    window = text[offset:]
    a, b = span(text, "2024-05-10")
    assert text_source._masked(window, offset, [(a, b)]) == "06 1 234 5678            nyitva"
    assert text_source._masked(window, offset, [(0, 3)]) == window  # before the window
