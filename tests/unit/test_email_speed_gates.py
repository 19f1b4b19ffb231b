"""The email extractor's shortcuts give what the full code gives.

Each shortcut (a fast path past email-validator, a gate that skips text or markup) is
checked against the full code on the cases where it could go wrong: make one stricter or
looser than it may be and a test here fails.
"""

from __future__ import annotations

import html
import re
from types import SimpleNamespace
from typing import cast

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from auditor.data import load
from auditor.extract.emails import cloaking, extract_emails, scan, sources
from auditor.extract.emails.collect import PageText
from auditor.extract.emails.gate import _plain, _validate
from auditor.extract.emails.labels import label_from_text
from auditor.extract.emails.rules import _keyword_pattern, email_rules, keyword_trie
from auditor.extract.emails.sources import _may_cloak_in_markup
from auditor.extract.page import ParsedPage, parse_page
from auditor.extract.sections import third_party_words
from auditor.extract.tree import DEEP_SCAN_TAGS
from auditor.text import fold, fold_width


def _full(address: str) -> tuple[str, str] | None:
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower(), (result.ascii_domain or "").lower()


def _fast(address: str) -> tuple[str, str] | None:
    found = _plain(address)
    return None if found is None else (found[0].lower(), found[1].lower())


EDGES = [
    "info@firma.hu",
    "INFO@FIRMA.HU",
    "Sales.Team+web@Sub.Firma.co.uk",
    "a/b=c?d!e#f$g%h&i'j*k^l`m{n|o}p~q_r-s@x.com",
    "a@x.c-m",
    "a@1x.com",
    "a@x.1com",
    "a@x.123",
    "a@x.com1",
    "a@x",
    "a@-x.com",
    "a@x-.com",
    "a@x..com",
    "a@.x.com",
    "a@x.com.",
    "a@x.-com",
    "a@x.com-",
    "a@ab--cd.com",
    "a@xn--bcher-kva.de",
    "a@xn--x.de",
    "a@x_y.com",
    "a@x.local",
    "a@mail.test",
    "a@x.onion",
    "a@x.localhost",
    "a@x.arpa",
    "a@x.invalid",
    "a@testx.com",
    ".a@x.com",
    "a.@x.com",
    "a..b@x.com",
    '"a b"@x.com',
    "a b@x.com",
    "a<b@x.com",
    "<a@x.com>",
    "Name <a@x.com>",
    "a@[1.2.3.4]",
    "a@1.2.3.4",
    "a@x.com ",
    "a@x.com\n",
    "info@firma.hu\u00e9",
    "inf\u00f6@firma.hu",
    "info@b\u00fccher.de",
    "@x.com",
    "a@",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a@x." + "c" * 63,
    "a@x." + "c" * 64,
    "a@" + ".".join(["b" * 61] * 4) + ".com",
    "a@" + ".".join(["b" * 62] * 4) + ".co",
    "a" * 64 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com",
    "a" * 60 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com",
    "a" * 70 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com",
]


@pytest.mark.parametrize("address", EDGES)
def test_plain_path_agrees_with_email_validator(address: str) -> None:
    fast = _fast(address)
    if fast is not None:
        assert fast == _full(address)


@pytest.mark.parametrize(
    "address", ["info@firma.hu", "INFO@FIRMA.HU", "a.b+c@sub.x-y.co.uk", "a@x.c-m", "a@1x.com"]
)
def test_plain_path_takes_common_addresses(address: str) -> None:
    """Common addresses skip email-validator's IDNA work (the point of the fast path)."""
    assert _fast(address) == _full(address) is not None



@settings(max_examples=600, deadline=None)
@given(
    st.text(alphabet="aZ0.-_+'\"<> é", max_size=12),
    st.text(alphabet="aZ09.-_é", max_size=16),
    st.sampled_from(["com", "hu", "c0", "9", "test", "local", "xn--kva", "c-m", ""]),
)
def test_plain_path_agrees_on_generated_addresses(local: str, host: str, tld: str) -> None:
    address = f"{local}@{host}.{tld}" if tld else f"{local}@{host}"
    fast = _fast(address)
    if fast is not None:
        assert fast == _full(address)


# --- markup gate of the cloaking decoders: every name they query, in any case ----------

URL = "https://kovacsbt.hu/kapcsolat"


def _found(body: str) -> dict[str, str]:
    page = parse_page(f"<html><body>{body}</body></html>", URL)
    return {p.value: p.details.get("obfuscation", "") for p in extract_emails(page)}


_TOKEN = cloaking._typo3_shift("mailto:office@kovacsbt.hu", -2)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<a DATA-ROT13="vasb@xbinpfog.uh" href="#">x</a>', {"info@kovacsbt.hu": "rot13"}),
        ('<a Data-Rot13="vasb@xbinpfog.uh" href="#">x</a>', {"info@kovacsbt.hu": "rot13"}),
        (
            f'<a href="#" DATA-MAILTO-TOKEN="{_TOKEN}" data-mailto-vector="-2">Mail</a>',
            {"office@kovacsbt.hu": "typo3"},
        ),
        (
            '<a DATA-USER="kapcsolat" Data-Domain="kovacsbt.hu" href="#">x</a>',
            {"kapcsolat@kovacsbt.hu": "data-attributes"},
        ),
        (
            '<a data-NAME="iroda" DATA-DOMAIN="kovacsbt.hu" href="#">x</a>',
            {"iroda@kovacsbt.hu": "data-attributes"},
        ),
        (
            '<JOOMLA-HIDDEN-MAIL FIRST="aW5mbw==" LAST="a292YWNzYnQuaHU=">x</JOOMLA-HIDDEN-MAIL>',
            {"info@kovacsbt.hu": "joomla"},
        ),
    ],
)
def test_markup_gate_lets_every_queried_name_through(body: str, expected: dict[str, str]) -> None:
    page = parse_page(f"<html><body>{body}</body></html>", URL)
    assert _may_cloak_in_markup(page)
    assert _found(body) == expected


def test_markup_gate_closes_on_pages_without_those_names() -> None:
    page = parse_page('<html><body><a data-id="1" href="/x">x</a></body></html>', URL)
    assert not _may_cloak_in_markup(page)


def test_markup_gate_opens_on_sources_deep_enough_to_be_flattened() -> None:
    page = parse_page("<html><body>" + "<b>" * DEEP_SCAN_TAGS + "</body></html>", URL)
    assert _may_cloak_in_markup(page)


# --- keyword gate of label_from_text: one union scan before seven ----------------------


def _keywords() -> list[str]:
    return [w for entry in load("emails.toml")["labels"].values() for w in entry.get("keywords", [])]


def test_label_gate_lets_every_keyword_through() -> None:
    words = _keywords()
    assert words
    for word in words:
        assert label_from_text(f"{word}: ") is not None, word
        assert label_from_text("E-mail: ", f" ({word})") is not None, word


def test_label_gate_answers_none_without_keywords() -> None:
    assert label_from_text("Írjon nekünk: ", " (hétköznap)") is None


# --- the blocks worth scanning: exactly where page_hint.finditer starts its matches ------


def _page_text(texts: list[str]) -> PageText:
    return PageText(cast(ParsedPage, SimpleNamespace(blocks=[SimpleNamespace(text=t) for t in texts])))


def _reference_hinted(text: PageText) -> list[int]:
    out: list[int] = []
    for m in email_rules().page_hint.finditer(text.lowered):
        i = text.block_at(m.start())
        if (not out or out[-1] != i) and i < len(text.blocks):
            out.append(i)
    return out


@pytest.mark.parametrize(
    "texts",
    [
        ["info@firma.hu"],
        ["Írjon: info (at) firma.hu", "nincs itt semmi", "iroda [kukac] firma.hu"],
        ["that data is great", "meet at noon", "x\tAT\u3000y"],
        ["info", "at", "at firma", "at\u00a0"],
        ["eta eta", "et(et)", " małpa ", "zavináč ", "{arroba}", "<SOBAKA>", "собака "],
        ["ends with at", "at the start", "a@", "@", ""],
    ],
)
def test_hinted_blocks_are_page_hints_blocks(texts: list[str]) -> None:
    text = _page_text(texts)
    assert list(text.hinted()) == _reference_hinted(text)


_PIECES = ["at", "AT", "et", "eta", "ät", "kukac", "małpa", "@", " ", "\u00a0", "\t", "(", ")",
           "[", "]", "{", "}", "<", ">", "x", "a", "t", ".", "İ"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join), max_size=5))
def test_hinted_blocks_agree_on_generated_text(texts: list[str]) -> None:
    text = _page_text(texts)
    assert list(text.hinted()) == _reference_hinted(text)


# --- the candidate pattern's possessive atoms match what backtracking ones match ---------

_SCAN_PIECES = ["info", "a", "x1", "_", "-", "+", "'", ".", "@", " ", "(", ")", "[", "]", "at",
                "dot", "pont", "kukac", "hu", "com", "É", "\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_SCAN_PIECES), max_size=16).map("".join))
@example("Írjon: info@firma.hu, a.b'c-d+e@x-y.co.uk vagy info @ x.hu!")
@example("john(dot)smith(at)firma.hu; info [at] firma [dot] hu; info at firma dot hu")
@example("sales_team@sub.firma-net.com.tr-ra")
def test_possessive_atoms_change_no_match(text: str) -> None:
    rules = email_rules()
    for fast in (rules.candidate, rules.strict):
        assert "*+" in fast.pattern
        slow = re.compile(fast.pattern.replace("*+", "*"), fast.flags)
        for pos in range(len(text) + 1):
            a, b = fast.search(text, pos), slow.search(text, pos)
            assert (a and (a.span(), a.groupdict())) == (b and (b.span(), b.groupdict()))


# --- normalize_address's plain path gives the full path's answer --------------------------

_ADDRESS_PIECES = ["info", "Sales", "a", "_", "-", "+", "'", ".", "@", "firma", "hu", "com", "x1",
                   "noreply", "2x", "png", "example", "sentry", "io", "-ra", "Tel"]


def _both(text: str) -> tuple[str | None, str | None]:
    fast = scan.normalize_address(text)
    saved = scan._PLAIN
    scan._PLAIN = re.compile(r"(?!)")
    try:
        slow = scan.normalize_address(text)
    finally:
        scan._PLAIN = saved
    return fast, slow


@pytest.mark.parametrize(
    "text",
    ["info@firma.hu", "Sales.Team+web@Sub.Firma.co.uk", "o'brien@x-y.com", "logo@2x.png",
     "noreply@firma.hu", "name@example.com", "key@o1.ingest.sentry.io", "info@firma.huTel",
     "info@firma.hu-ra", "_a-@x.hu", "a@b.c", "info@firma.hu.", "x@firma.museum",
     "info@firma.hu Tel", "info@firma.hu, b@x.hu", "mailto:info@firma.hu", "a!b@x.hu",
     "a#b@x.hu", "a=b@x.hu"],
)
def test_plain_normalize_agrees_with_the_scan(text: str) -> None:
    fast, slow = _both(text)
    assert fast == slow


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_ADDRESS_PIECES), max_size=10).map("".join))
def test_plain_normalize_agrees_on_generated_text(text: str) -> None:
    fast, slow = _both(text)
    assert fast == slow


# --- scripts that assign nothing are not tokenized ------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        "var a = 'info' + '@' + 'kovacsbt.hu';",
        "a += 'x' + '@y.hu'",
        "document.write('<a href=\"mailto:' + 'iroda' + '&#64;' + 'kovacsbt.hu\">x</a>')",
        "document.writeln('info' + '@' + 'kovacsbt.hu')",
    ],
)
def test_script_gate_lets_assignments_and_writes_through(script: str) -> None:
    assert cloaking._may_assign(script)
    assert [d.text for d in cloaking.from_scripts([script])]


def test_script_gate_skips_json_ld() -> None:
    script = '{"@context": "https://schema.org", "@type": "Organization", "email": "a@b.hu"}'
    assert not cloaking._may_assign(script)
    assert list(cloaking._script_strings(script)) == []


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("abc@sentry.io", False),
        ("abc@o12.ingest.sentry.io", False),
        ("abc@x.bugsnag.com", False),
        ("info@notsentry.io", True),
        ("info@sentry.io.hu", True),
        ("info@firma.local", False),
        ("info@localfirma.hu", True),
    ],
)
def test_tracking_and_special_use_domains_by_label(address: str, kept: bool) -> None:
    """A tracker's domain or its subdomains go; a name merely ending in its letters stays."""
    assert (_validate(address) is not None) is kept


def _any_label_pattern(text: str) -> bool:
    return any(pattern.search(text) for _name, pattern in email_rules().label_keywords)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_keywords() + [" ", "x", "-", "a", "1", "é"]), max_size=6).map("".join))
def test_label_trie_matches_where_a_label_pattern_does(text: str) -> None:
    folded = fold(text)
    assert (email_rules().any_label_keyword.search(folded) is not None) == _any_label_pattern(folded)


@pytest.mark.parametrize("text", ["hr", "hr dept", "hrx", "xhr", "dpo:", "sales", "salesteam", "presse"])
def test_label_trie_keeps_short_words_whole(text: str) -> None:
    assert (email_rules().any_label_keyword.search(text) is not None) == _any_label_pattern(text)


def test_label_trie_a_stem_wins_over_a_whole_word_spelled_alike() -> None:
    """"ab" must end a word, "áb́" (four characters, folded to "ab") is a stem: "abc" matches."""
    for words in (["ab", "a\u0301b\u0301"], ["a\u0301b\u0301", "ab"]):
        assert keyword_trie(words).search("abc")
        assert not keyword_trie(words[:1] if words[0] == "ab" else words[1:]).search("abc")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_keywords() + [" ", "x", "-", "1"]), max_size=5).map("".join))
def test_each_label_gate_matches_where_its_pattern_does(text: str) -> None:
    folded = fold(text)
    rules = email_rules()
    for (_name, pattern), gate in zip(rules.label_keywords, rules.label_gates, strict=True):
        assert (gate.search(folded) is not None) == (pattern.search(folded) is not None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(third_party_words()) + [" ", "x", "-"]), max_size=4).map("".join))
def test_third_party_trie_matches_where_the_words_do(text: str) -> None:
    folded = fold(text)
    plain = _keyword_pattern(third_party_words())
    assert (email_rules().third_party.search(folded) is not None) == (plain.search(folded) is not None)


# --- _judge's literal path: a match without spaces or opening brackets is plain -----------


def _scan_both(text: str) -> tuple[list[scan._Hit], list[scan._Hit]]:
    fast = scan.scan_text(text)
    saved = scan._SPACE_OR_OPEN
    scan._SPACE_OR_OPEN = re.compile(r"[\s\S]")  # every match takes the full path
    try:
        slow = scan.scan_text(text)
    finally:
        scan._SPACE_OR_OPEN = saved
    return fast, slow


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_SCAN_PIECES + ["[at]", " pont ", "{dot}", "<", "\u3000"]),
                max_size=16).map("".join))
@example("info@firma.hu, iroda(at)firma.hu, a [dot] b@x.hu, c@x(dot)hu, d @ x.hu, e at x dot hu")
@example("john.smith@firma.co.uk és info@firma.hu pont ma")
def test_literal_judge_path_changes_no_hit(text: str) -> None:
    fast, slow = _scan_both(text)
    assert fast == slow


# --- the page text folds its blocks in one pass: same text, same block ends ----------------


def _reference_page_text(texts: list[str]) -> tuple[str, list[int]]:
    folded = [fold_width(t) for t in texts]
    joined = "\n".join(folded)
    lowered = joined.lower()
    if len(lowered) != len(joined):
        folded = [t.lower() for t in folded]
        lowered = "\n".join(folded)
    ends, total = [], 0
    for t in folded:
        total += len(t) + 1
        ends.append(total)
    return lowered, ends


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "B", "@", "\uff20", "\uff41", "\u0663", "\u0130", " ", "é", "\n"]),
                         max_size=8).map("".join), max_size=6))
def test_page_text_folds_as_its_blocks_do(texts: list[str]) -> None:
    text = _page_text(texts)
    assert (text.lowered, text.ends) == _reference_page_text(texts)


# --- entity runs grown by a pattern match give the character loop's runs -------------------


def _reference_entity_runs(source: str) -> list[tuple[int, str]]:
    out, done = [], 0
    for mark in sources._ENTITY_MARK.finditer(source):
        if mark.start() < done:
            continue
        lo = mark.start()
        while lo > 0 and mark.start() - lo < sources._RUN_REACH and source[lo - 1] in sources._RUN_CHARS:
            lo -= 1
        hi = mark.end()
        while hi < len(source) and hi - mark.end() < sources._RUN_REACH and source[hi] in sources._RUN_CHARS:
            hi += 1
        done = hi
        out.append((lo, source[lo:hi]))
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["&#64;", "&#x40;", "&amp;#105;", "info", "a" * 150, " ", "<", "@",
                                 "-", ".", ";", "é", "&commat;", "x" * 299]), max_size=12).map("".join))
def test_entity_runs_match_the_character_loop(source: str) -> None:
    assert list(sources._entity_runs(source)) == _reference_entity_runs(source)


# --- the entity gate: a run it turns away decodes to no "@" ------------------------------


def _decodes_to_at(chunk: str) -> bool:
    """What from_entities asks of a run: an "@" after one decoding, or two when an "&" is left."""
    decoded = html.unescape(chunk)
    if "&" in decoded:
        decoded = html.unescape(decoded)
    return "@" in decoded


_ENTITY_PIECES = ["&#64;", "&#064;", "&#0000064;", "&#640;", "&#x40;", "&#X040", "&#x400;", "&#38;",
                  "&#x26;", "&amp;", "&AMP", "&ampx", "&Amp;", "&commat;", "&commat", "&#35;", "&num;",
                  "&#54;", "&#52;", "&#99;", "&", "#", "64", "6", "4", ";", "x40", "commat", "@", "info",
                  "&#8211;", "&period;", "."]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_ENTITY_PIECES), min_size=1, max_size=8).map("".join))
@example("&&#35;64;")  # a literal "&" and an entity-made "#": "@" only after the second decoding
@example("&&#99;ommat;")
@example("&amp;#64;")
def test_entity_gate_lets_every_run_that_decodes_to_an_at_through(chunk: str) -> None:
    if _decodes_to_at(chunk):
        assert sources._run_may_decode_at(chunk)


def test_entity_gate_turns_away_runs_without_an_at() -> None:
    assert not sources._may_decode_at("Tel&#8211;Fax <b>x&#8211;Info</b>")
    assert not sources._run_may_decode_at("info&#46;firma.hu")
    assert sources._run_may_decode_at("info&#46;firma&#46;hu")  # two: not read further
    assert sources._run_may_decode_at("info&#46;firma@hu")


def test_entity_gate_reads_runs_inside_hidden_markup_too() -> None:
    # the gate runs before scripts are blanked: it may open for them, never close for others
    assert sources._may_decode_at("<script>a&#64;b</script> x")
    page = parse_page(b"<p data-x='info&#64;firma.hu'>x</p><!-- &#8211; -->", "https://firma.hu/")
    assert [p.value for p in extract_emails(page)] == ["info@firma.hu"]


def test_label_gate_still_blanks_other_addresses() -> None:
    # the blanking runs only where an "@" is, the folded full-width one included
    assert label_from_text("Sales: ") == "sales"
    assert label_from_text("sales@firma.hu, ") is None
    assert label_from_text("x ", "(sales)") == "sales"
    assert label_from_text("x ", "(sales@firma.hu)") is None
    assert label_from_text("x ", "(sales\uff20firma.hu)") is None


# --- role stems and label words: the first/last-letters gates answer as the full lookups --


def _reference_role_affix(local: str) -> bool:
    stems = email_rules().role_prefixes
    return any((local.startswith(w) or local.endswith(w)) and len(w) < len(local) for w in stems)


def _reference_label_from_local(local: str) -> str | None:
    rules = email_rules()
    local = fold(local.split("+", 1)[0])
    tokens = [t for t in (re.sub(r"\d+", "", p) for p in re.split(r"[._+\-]+", local)) if t]
    for key in (local, re.sub(r"\d+", "", local), *tokens):
        if key in rules.label_locals:
            return rules.label_locals[key]
    for word, name in rules.label_prefixes:  # longest first: the first hit is the answer
        if local.startswith(word) or (len(word) >= 6 and local.endswith(word)):
            return name
    return None


def _affix_pieces() -> list[str]:
    rules = email_rules()
    stems = list(rules.role_prefixes)
    words = [w for w, _name in rules.label_prefixes]
    cut = [w[:-1] for w in stems[:5] + words[:5]] + [w[1:] for w in stems[:5] + words[:5]]
    return stems[:12] + words[:12] + cut + ["x", "1", "42", ".", "_", "-", "+", "team", "a", "é"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_affix_pieces()), min_size=1, max_size=4).map("".join))
@example("salesteam")
@example("infobudapest")
@example("szamlazas")
def test_role_and_label_gates_answer_as_the_full_lookups(local: str) -> None:
    from auditor.extract.emails import labels

    folded = fold(local)
    rules = email_rules()
    bare = re.sub(r"\d+", "", folded)
    tokens = [t for t in (re.sub(r"\d+", "", p) for p in re.split(r"[._+\-]+", folded)) if t]
    assert labels._tokens(folded) == tokens
    role = folded in rules.role_words or bare in rules.role_words
    role = role or any(t in rules.role_words for t in tokens) or _reference_role_affix(folded)
    assert labels.is_role(folded) == role
    assert labels._label_from_local(local) == _reference_label_from_local(local)


def test_role_and_label_gates_let_every_stem_and_word_through() -> None:
    from auditor.extract.emails import labels

    rules = email_rules()
    for stem in rules.role_prefixes:
        assert labels.is_role("z" + stem) and labels.is_role(stem + "z")
    for word, name in rules.label_prefixes:
        found = labels._label_from_local("qq" + word) if len(word) >= 6 else name
        assert labels._label_from_local(word + "qq") is not None and found is not None


def test_invisible_characters_are_all_outside_ascii() -> None:
    # clean_text and the mailto reader skip the INVISIBLE pass on ASCII text
    from auditor.extract.emails.rules import INVISIBLE

    assert not any(INVISIBLE.search(chr(c)) for c in range(128))
    assert scan.clean_text("in\u00adfo@fir\u200bma.hu") == "info@firma.hu"
    assert sources._mailto_targets("mailto:in\ufefffo@firma.hu") == [("info@firma.hu", "to")]


def _reference_surname(token: str) -> bool:
    last = email_rules().last_names
    forms = {token[:-1]} if token.endswith("a") else set()
    if token.endswith(("ska", "cka", "dzka")):
        forms.add(token[:-1] + "i")
    if token.endswith("ova"):
        forms.add(token[:-3])
    return token in last or bool(forms & last)


def test_surname_forms_answer_as_the_set_of_forms() -> None:
    from auditor.extract.emails import labels

    names = sorted(email_rules().last_names)[:300]
    tokens = [n + end for n in names for end in ("", "a", "ova", "ska"[1:], "ska", "cka", "dzka", "x")]
    tokens += [n[:-1] + end for n in names if n.endswith("i") for end in ("a", "ska", "cka")]
    tokens += ["kowalska", "novakova", "ivanova", "a", ""]
    for token in tokens:
        assert labels._surname(token) == _reference_surname(token), token


def test_kept_record_is_the_one_add_leaves_in_place() -> None:
    # from_links and from_blocks skip the label and context of a sighting that add() would
    # fold into a better or equal record already holding both
    from auditor.extract.emails.collect import Collector, Found

    out = Collector(cast(ParsedPage, SimpleNamespace(blocks=[])))
    assert out.kept("info@firma.hu", "text") is None
    out.add(Found("info@firma.hu", "raw", "text", "ctx", 0.5, "sales"))
    assert out.kept("info@firma.hu", "text") is out.found["info@firma.hu"]
    assert out.kept("info@firma.hu", "attribute") is out.found["info@firma.hu"]
    assert out.kept("info@firma.hu", "mailto") is None  # a link replaces a text sighting
    out.add(Found("info@firma.hu", "raw2", "text", "", 0.9, None, {"obfuscation": "at-dot"}))
    kept = out.found["info@firma.hu"]
    assert (kept.raw, kept.label, kept.context, kept.confidence) == ("raw", "sales", "ctx", 0.9)
    assert kept.details == {"obfuscation": "at-dot"}


def test_a_linked_address_keeps_the_label_its_text_gives() -> None:
    body = (b"<p>Sales: <a href='mailto:info@firma.hu'>info@firma.hu</a></p>"
            b"<p>Support: info@firma.hu</p><p>Billing: billing@firma.hu</p>")
    found = {p.value: p for p in extract_emails(parse_page(body, "https://firma.hu/"))}
    assert found["info@firma.hu"].label == "sales"
    assert found["info@firma.hu"].details["methods"] == ["mailto", "text"]
    assert found["billing@firma.hu"].method == "text"


@pytest.mark.parametrize(
    "href",
    [
        "JavaScript:void(location.href='mail'+'to:info'+'@'+'kovacsbt.hu')",
        "  javascript:void(location.href='mail'+'to:info'+'@'+'kovacsbt.hu')",
        "javascript:linkTo_UnCryptMailto('nbjmup+jogpAlpwbdtcu/iv');",
    ],
)
def test_href_gates_let_cloaked_links_through(href: str) -> None:
    # the javascript: and UnCrypt marks are looked for in all hrefs joined, then link by link
    body = f"<p><a href=\"{href}\">E-Mail</a> <a href='/x'>x</a></p>".encode()
    page = parse_page(body, "https://kovacsbt.hu/")
    assert [p.value for p in extract_emails(page)] == ["info@kovacsbt.hu"]


def test_folding_keeps_whitespace_whitespace() -> None:
    # label_from_text reads the text after an address only when its first character
    # (whitespace skipped) is a mark or outside ASCII, before folding it
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    assert all(all(ch.isspace() for ch in fold(c)) for c in spaces)
    assert label_from_text("x ", "\u3000(sales)") == "sales"
    assert label_from_text("x ", "\uff08sales)") == "sales"  # a full-width bracket folds to "("
    assert label_from_text("x ", " sales") is None
    assert label_from_text("x ", "") is None


@pytest.mark.parametrize("word", sorted(email_rules().at_policy))
def test_hinted_blocks_find_every_at_word(word: str) -> None:
    # each word is looked for only where its group's shared part is: none may be missed
    text = _page_text(["nothing here", f"info ({word}) firma.hu", f"info {word.upper()} firma.hu"])
    assert list(text.hinted()) == _reference_hinted(text) == [1, 2]


def _reference_name_like(token: str) -> bool:
    from auditor.extract.emails.labels import _surname

    first = email_rules().first_names
    if token in first or _surname(token):
        return True
    for i in range(1, len(token)):
        head, tail = token[:i], token[i:]
        if (len(head) == 1 or head in first) and _surname(tail):
            return True
        if (len(tail) == 1 or tail in first) and _surname(head):
            return True
    return False


def _name_pieces() -> list[str]:
    rules = email_rules()
    return sorted(rules.first_names)[::9] + sorted(rules.last_names)[::5] + [
        "a", "j", "p", "x", "ova", "ska", "kovacs", "peter", "horvath", "kowalsk", "zz"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_name_pieces()), min_size=1, max_size=3).map("".join))
@example("jkowalski")
@example("peterhorvath")
@example("kovacspeter")
@example("kovacsp")
def test_name_like_tries_the_splits_the_full_loop_tries(token: str) -> None:
    from auditor.extract.emails.labels import _name_like

    assert _name_like(token) == _reference_name_like(token)


def test_name_like_finds_every_first_name_and_surname_pair() -> None:
    from auditor.extract.emails.labels import _name_like

    rules = email_rules()
    last = sorted(rules.last_names)[0]
    for name in rules.first_names:
        assert _name_like(name + last) and _name_like(last + name)
