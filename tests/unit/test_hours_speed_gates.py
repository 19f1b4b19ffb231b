"""The hours extractor's gates: each cheap test must let through every text its full
counterpart finds something in (a gate made too strict loses hours)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.data import load
from auditor.extract.hours import lexing, vocab
from auditor.extract.hours.vocabulary import ALL_GROUPS, GROUP_BITS, KINDS, Lang
from auditor.text import fold


def _unguarded(lang: Lang) -> re.Pattern[str]:
    """The lexer as one alternation of its parts, with no guard and no group left out."""
    return re.compile("|".join(lang.parts), re.I)


def _full_lexer_matches(text: str, lang: Lang) -> list[tuple[int, int, str]]:
    """What the full lexer (every group, no guard) finds: the reference for the gated one."""
    return [
        (m.start(), m.end(), next(k for k in KINDS if m.start(k) >= 0)) for m in _unguarded(lang).finditer(text)
    ]


def _gated_matches(text: str, lang: Lang) -> list[tuple[int, int, str]]:
    v = vocab()
    lexer = lang.lexer_for(lexing.groups_in(text, fold(text, keep_accents=True), lang, v))
    return [] if lexer is None else [(m.start(), m.end(), m.lastgroup or "") for m in lexer.finditer(text)]


# (language, text, the group its token needs): one case per gate of ``groups_in``
GROUP_CASES = [
    ("en", "9-5", "trange"),
    ("en", "9 to 5pm", "trange"),  # times joined by a time_range word, no dash
    ("fr", "9h à 18h", "trange"),
    ("hu", "8-tól 16-ig", "trange"),  # joined by spaces after an "l"
    ("hu", "8 ÓRÁTÓL 16 ÓRÁIG", "trange"),
    ("en", "9:00 〜 17:00", "trange"),
    ("en", "Mon", "day"),
    ("en", "7 days a week", "day"),  # a day alternative that starts with a digit
    ("fr", "7j/7", "day"),
    ("de", "So geschlossen", "closed"),
    ("et", "P: EI TÖÖTA", "closed"),  # an entry of two words, in capitals
    ("ja", "日曜 定休日", "closed"),
    ("en", "Lunch Break", "pause"),
    ("hu", "ebédszünet", "pause"),
    ("en", "Mon – Fri", "sep"),
    ("en", "Monday through Friday", "sep"),  # a range word, no dash
    ("nl", "ma t/m vr", "sep"),
    ("ro", "Luni PÂNĂ LA Vineri", "sep"),
    ("en", "Mon & Wed", "list"),
    ("en", "Monday and Wednesday", "list"),  # a list word
    ("pl", "pon. ORAZ śr.", "list"),
]


@pytest.mark.parametrize(("code", "text", "kind"), GROUP_CASES)
def test_groups_in_lets_through_every_group_present(code: str, text: str, kind: str) -> None:
    v = vocab()
    lang = v.langs[code]
    assert GROUP_BITS[kind] & lexing.groups_in(text, fold(text, keep_accents=True), lang, v)
    assert kind in {k for _s, _e, k in _full_lexer_matches(text, lang)}
    assert _gated_matches(text, lang) == _full_lexer_matches(text, lang)
    assert kind in {t.kind for t in lexing.lex(text, 0, lang, v)}


def test_groups_in_rules_out_prose() -> None:
    """The gate is worth having: prose without hours words leaves the lexer unrun."""
    v = vocab()
    lang = v.langs["en"]
    text = "Our team answers quickly"
    assert lexing.groups_in(text, fold(text, keep_accents=True), lang, v) == 0
    assert lang.lexer_for(0) is None
    assert lang.lexer_for(ALL_GROUPS) is lang.lexer


def test_day_word_known_to_caller_is_trusted_only_as_given() -> None:
    """parse_text passes the block's day words (has_day); without them lex looks itself."""
    v = vocab()
    lang = v.langs["en"]
    text = "Mon 9-17"
    assert [t.kind for t in lexing.lex(text, 0, lang, v)] == ["day", "trange"]
    assert [t.kind for t in lexing.lex(text, 0, lang, v, fold(text, keep_accents=True), True)] == ["day", "trange"]


def test_always_open_blanks_keep_the_full_lexer() -> None:
    """Blanked always-open phrases make new word boundaries ("24/7Mo"): the gates, read on
    the text before, do not apply, so the full lexer runs."""
    v = vocab()
    lang = v.langs["en"]
    kinds = [t.kind for t in lexing.lex("24/7Mo-Fr", 0, lang, v)]
    assert kinds[0] == "always"
    assert "day" in kinds


def _gate_words() -> list[str]:
    v = vocab()
    words = {w for lang in v.langs.values() for w in lang.words}
    for gate in (v.closed_gate, v.pause_gate, *(g for lang in v.langs.values() for g in (lang.range_gate, lang.list_gate, lang.time_range_gate))):
        words |= gate or set()
    return sorted(words)


_PIECES = st.sampled_from([*_gate_words(), "Closed", "MON", "9", "17:00", "8.30", "-", "–", " ", ", ", "/", "&", "24/7", "Uhr", "h", "tól", "-ig", " 16", "l ", "L\t", "8 "])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=8), st.sampled_from(sorted(vocab().langs)))
def test_gated_lexer_finds_what_the_full_one_does(pieces: list[str], code: str) -> None:
    text = "".join(pieces)
    lang = vocab().langs[code]
    assert _gated_matches(text, lang) == _full_lexer_matches(text, lang)
    assert [(m.start(), m.end(), m.lastgroup) for m in lang.lexer.finditer(text)] == _full_lexer_matches(text, lang)


@pytest.mark.parametrize("code", sorted(vocab().langs))
def test_lexer_guards_let_every_day_word_and_from_word_through(code: str) -> None:
    """The time-range and day guards (a lookahead for a first character) must hold every
    day word of the language, in its own spelling and in capitals, and every "from" word."""
    v = vocab()
    lang = v.langs[code]
    samples = [w for w in lang.words] + [w.upper() for w in lang.words] + [w.title() for w in lang.words]
    samples += [stem + "x" for stem, _days in lang.stems] + [stem.upper() for stem, _days in lang.stems]
    for word in samples:
        for text in (f"{word} 9-17", f"{word}: 9-17", f"von 9 - {word}"):
            assert [(m.start(), m.end(), m.lastgroup) for m in lang.lexer.finditer(text)] == _full_lexer_matches(text, lang)
    for word in load("hours.toml")["lang"][code].get("from", []):
        for text in (f"{word} 9 - 17", f"{word.upper()} 9-17"):
            found = _full_lexer_matches(text, lang)
            assert found[0][:2] == (0, len(text))  # the "from" word starts the time range
            assert [(m.start(), m.end(), m.lastgroup) for m in lang.lexer.finditer(text)] == found


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("de", "RUND UM DIE UHR erreichbar"),
        ("en", "Support NON-STOP"),
        ("en", "Open 24/7"),
        ("pl", "CAŁODOBOWO"),
        ("ru", "КРУГЛОСУТОЧНО"),
        ("el", "ΌΛΟ ΤΟ 24ΩΡΟ"),
    ],
)
def test_always_open_found_through_the_folded_gate(code: str, text: str) -> None:
    """The full always-open phrases run where their folded form (no re.I) finds one: capitals
    and accents must pass that gate as they pass the re.I search."""
    v = vocab()
    assert v.always.search(text)
    assert v.search_folded("always", text, fold(text, keep_accents=True))
    assert "always" in {t.kind for t in lexing.lex(text, 0, v.langs[code], v)}


@pytest.mark.parametrize(
    "shape",
    ["0-00", "So geschlossen", "ZAMKNIĘTE", "Lunch break", "PRZERWA", "0 days a week", "Mon", "Lorem ipsum", "- , and"],
)
def test_is_lexable_gates_keep_every_lexable_shape(shape: str) -> None:
    """is_lexable searches lexable's alternatives one by one, each behind a gate (a digit,
    a closed or pause word's first run): it must say what the one regex says."""
    tests = vocab().shape
    assert tests.is_lexable(shape) == (tests.lexable.search(shape) is not None)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=6))
def test_is_lexable_is_the_lexable_regex(pieces: list[str]) -> None:
    shape = "".join(pieces).translate(str.maketrans("123456789", "000000000"))
    tests = vocab().shape
    assert tests.is_lexable(shape) == (tests.lexable.search(shape) is not None)


@pytest.mark.parametrize("text", ["Tel. 030 1234-567, Mo-Fr 8-17", "", "no digits", "Tél. ０３ 12³ 45", "12 m² 34", "x²³ 9"])
def test_block_views_digits_as_str_isdigit_says(text: str) -> None:
    """A block's digit positions and digits are those str.isdigit says (full-width, superscript)."""
    from auditor.extract.hours.attach import BlockViews, _digit_offset

    positions = [i for i, ch in enumerate(text) if ch.isdigit()]
    assert BlockViews()[text] == (text.lower(), "".join(text[i] for i in positions))
    assert [_digit_offset(text, n) for n in range(len(positions))] == positions


def test_page_memo_gives_the_seed_test_its_own_answers() -> None:
    """_is_seed with the page's memo (folded text, day words found once) says what it says alone."""
    from auditor.extract.hours import blocks as hour_blocks

    v = vocab()
    blocks = ["Mo-Fr 8-17", "So geschlossen", "Tel. 030 1234-567", "Lorem ipsum", "24/7", "Sa: 9.00–13.00", "Sun closed"]
    texts = hour_blocks._Texts(blocks, v)
    assert [hour_blocks._is_seed(b, v, texts, i) for i, b in enumerate(blocks)] == [
        hour_blocks._is_seed(b, v) for b in blocks
    ]
    assert texts.day_words(0) and not texts.day_words(3)


def test_a_block_cut_at_max_chars_is_lexed_as_cut() -> None:
    """The memo holds whole blocks: a block longer than MAX_BLOCK_CHARS is read cut, as before."""
    from auditor.extract.hours import parse_text
    from auditor.extract.hours.schedules import render
    from auditor.extract.hours.vocabulary import MAX_BLOCK_CHARS

    block = "Mo-Fr 8:00-17:00 " + "x" * MAX_BLOCK_CHARS + " Sa 9:00-12:00"
    values = [r[0] for s in parse_text([block], "en") if (r := render(s))]
    assert values == ["Mo-Fr 08:00-17:00"]


def test_untested_digit_shapes_of_one_block_keep_the_candidates() -> None:
    """A digit shape of one block skips the shape tests (its block goes to _is_seed): the
    candidates are those every shape's tests give."""
    from auditor.extract.hours import blocks as hour_blocks
    from auditor.extract.hours import digit_shapes

    v = vocab()
    blocks = ["Opening hours", "Mo-Fr", "8:00-17:00", "Tel. 030 1234-567", "Sa 9-12", "Sa 8-13", "12 items", "Lorem"]
    from tests.unit.test_hours import _reference_candidates

    shapes = digit_shapes(blocks)
    codes = hour_blocks._shape_codes(shapes, v)
    seeds = {i for i, s in enumerate(shapes) if codes[s] & hour_blocks._MAY_SEED and hour_blocks._is_seed(blocks[i], v)}
    found = hour_blocks._candidates(blocks, v, shapes)
    assert seeds == {2, 4, 5}
    assert found == _reference_candidates(blocks) == {1, 2, 3, 4, 5, 6}


@pytest.mark.parametrize("code", sorted(vocab().langs))
def test_lexer_guards_let_every_listed_word_through(code: str) -> None:
    """Each word list's group (closed, pause, range, list) opens with a lookahead for its
    words' first characters: every word, in capitals too, must still lex as before."""
    data = load("hours.toml")
    spec = data["lang"][code]
    lang = vocab().langs[code]
    words = [*data["closed"], *data["pause"], *spec.get("range", []), *spec.get("list", [])]
    for word in words:
        for text in (f"Mo {word} Fr", f"{word.upper()}: 9-17", f"({word.title()})"):
            found = _full_lexer_matches(text, lang)
            assert [(m.start(), m.end(), m.lastgroup) for m in lang.lexer.finditer(text)] == found
            gated = lexing.groups_in(text, fold(text, keep_accents=True), lang, vocab())
            assert _gated_matches(text, lang) == found, (text, gated)


def test_targets_are_parsed_only_for_a_page_with_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contact points' numbers are parsed when a schedule needs them: a page without
    hours never parses them, a page with hours still ties them to the number."""
    from auditor.extract import hours
    from auditor.extract.context import ExtractContext
    from auditor.extract.hours.attach import Target, targets_of
    from auditor.extract.page import parse_page
    from auditor.models import ContactPoint

    url = "https://www.example.eu/contact"
    phone = ContactPoint(kind="phone", value="+493012345678", raw="030 12345678", label=None, method="text", page_url=url)
    calls: list[int] = []

    def counting(contacts: tuple[ContactPoint, ...]) -> list[Target]:
        calls.append(len(contacts))
        return targets_of(contacts)

    monkeypatch.setattr("auditor.extract.hours.targets_of", counting)
    context = ExtractContext(None, (phone,), None)
    plain = parse_page("<html><body><p>Call 030 12345678</p></body></html>", url)
    assert hours.extract_hours(plain, context) == [] and calls == []
    page = parse_page("<html><body><p>Call 030 12345678, Mo-Fr 9:00-17:00</p></body></html>", url)
    [point] = hours.extract_hours(page, context)
    assert point.details["applies_to"] == "+493012345678" and calls == [1]


@pytest.mark.parametrize(
    "blocks",
    [
        ["Tel. 030 1234", "：平日 ９：００～１８：００", "受付時間：9:00"],  # a label colon right after a digit block
        ["plain", "ascii"],
        ["with\x00nul", "９：００"],
        ["", "０１２"],
    ],
)
def test_blocks_made_ascii_together_as_one_by_one(blocks: list[str]) -> None:
    from auditor.extract.hours import blocks as hour_blocks

    assert hour_blocks._all_as_ascii(blocks) == [hour_blocks._as_ascii(b) for b in blocks]


def test_mask_phones_masks_every_block_holding_the_number() -> None:
    """Numbers in no block are left out before the per-block loop: one that is there is masked
    wherever it is, and one holding "#" is kept in the loop."""
    from auditor.extract.hours import blocks as hour_blocks
    from auditor.models import ContactPoint

    url = "https://www.example.eu/"

    def phone(raw: str) -> ContactPoint:
        return ContactPoint(kind="phone", value="+49301234567", raw=raw, label=None, method="text", page_url=url)

    blocks = ["Call 030 1234567", "Mo-Fr 9-17", "or 030 1234567 #2"]
    masked = hour_blocks.mask_phones(blocks, [phone("030 1234567"), phone("089 7654321")])
    assert masked == ["Call " + "#" * 11, "Mo-Fr 9-17", "or " + "#" * 11 + " #2"]
    assert hour_blocks.mask_phones(["x 12#34567"], [phone("12#34567")]) == ["x ########"]
