"""The form extractor's gates: each skips work only where the full search finds nothing.

The captcha gate decides whether a contact form's markup is made and searched for captcha
markers. Each case here is a form whose markup holds a marker that the page's source does
not spell out plainly, so tightening the gate makes one of them fail.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.extract.forms import (
    GATE_MAX_HTML,
    KeywordIndex,
    Keywords,
    Signals,
    _captcha_cores,
    _lowered,
    _markup_may_hold_captcha,
    extract_forms,
    rules,
)
from auditor.extract.page import parse_page

URL = "https://www.example.hu/kapcsolat/"
FORM = """<form action="/kapcsolat/" method="post">
  <label>E-mail <input type="email" name="your-email"></label>
  <label>Üzenet <textarea name="your-message"></textarea></label>
  {extra}
</form>"""


def _captcha(extra: str, after: str = "") -> bool:
    page = parse_page(f"<html><head></head><body>{FORM.format(extra=extra)}{after}</body></html>", URL)
    (point,) = extract_forms(page)
    return bool(point.details["has_captcha"])


@pytest.mark.parametrize(
    ("extra", "after"),
    [
        ('<div class="g-recaptcha"></div>', ""),
        ('<div class="cf-TURNSTILE"></div>', ""),  # the markup's case folds
        ('<div data-sitekey="x"></div>', ""),
        ("<p>Captcha</p>", ""),  # text
        ("<!--captcha-->", ""),  # a comment
        ("<g-recaptcha></g-recaptcha>", ""),  # a tag name
        ("", "captcha"),  # the form's tail, serialised with it
        ("", "capt<!--a--b-->cha"),  # the tail, joined across a comment the copy drops
        ('<a href="\u00ecaptcha">x</a>', ""),  # serialised %C3%ACaptcha: the escape spells "c"
        ('<a href="\u00edata-sitekey">x</a>', ""),  # %C3%AData-sitekey: the escape spells "d"
        ('<a href="\u00ccf-turnstile">x</a>', ""),  # %C3%8Cf-turnstile: the escape spells "c"
        ("<p>capt</i>cha</p>", ""),  # the parser joins text the source keeps apart
        ("<p>capt<!--a--b-->cha</p>", ""),  # a comment the copy drops joins text
        ("<p>capt\u200bcha</p>", ""),  # an invisible character the copy drops
        ("<p>capt&#8203;cha</p>", ""),  # the same through a reference
        ("<p>capt&zwj;cha</p>", ""),
        ('<div class="ca&#112;tcha"></div>', ""),  # a reference spelling a letter
        ('<div class="CA&#x50;TCHA"></div>', ""),  # a capital
        ('<div class="capt&#1;cha"></div>', ""),  # a control character the copy drops
        ('<div data-site\u212aey="x"></div>', ""),  # the Kelvin sign lower-cases to "k"
    ],
)
def test_a_marker_the_source_does_not_spell_out_is_found(extra: str, after: str) -> None:
    assert _captcha(extra, after) is True


def test_cores_are_the_markers_after_their_leading_hex_digits() -> None:
    assert _captcha_cores(["g-recaptcha", "Captcha", "cf-turnstile", "data-sitekey", "x"]) == [
        "ptcha", "-turnstile", "ta-sitekey", "x"]


def test_lowered_deletes_what_the_copy_deletes() -> None:
    assert _lowered("Capt\x01ch\ufffeA") == b"captcha"
    assert _lowered("\u212a") == b"k"


def test_a_page_without_a_marker_makes_no_markup() -> None:
    page = parse_page(f"<html><body>{FORM.format(extra='<p>Send</p>')}</body></html>", URL)
    (point,) = extract_forms(page)
    assert point.details["has_captcha"] is False
    assert "markup" not in page.forms[0].__dict__  # never serialised


def test_a_page_with_a_captcha_script_makes_no_markup() -> None:
    body = FORM.format(extra="")
    page = parse_page(f'<html><head><script src="https://www.google.com/recaptcha/api.js"></script></head>'
                      f"<body>{body}</body></html>", URL)
    (point,) = extract_forms(page)
    assert point.details["has_captcha"] is True
    assert "markup" not in page.forms[0].__dict__


def test_forms_the_document_does_not_show_open_the_gate() -> None:
    page = parse_page(f"<html><body>{FORM.format(extra='<p>Send</p>')}</body></html>", URL)
    assert _markup_may_hold_captcha(page) is False
    assert _markup_may_hold_captcha(replace(page, forms=[*page.forms, *page.forms])) is True


def test_a_page_modelled_from_the_lxml_copy_opens_the_gate() -> None:
    page = parse_page(f"<html><body>{FORM.format(extra='<p>Send</p>')}</body></html>", URL)
    assert _markup_may_hold_captcha(replace(page, _lexbor=None)) is True


@pytest.mark.parametrize(
    ("fields", "captcha"),
    [
        ('<input name="captcha_code">', True),
        ('<input name="x" id="g-recaptcha-response">', True),
        ('<input name="a"><input name="b" id="frc-captcha-solution">', True),
        ('<input name="capt"><input name="cha">', False),  # fields are searched apart
        ('<input name="ΑΣ"><input name="captchaΣ">', True),
        ('<input name="recaptch"><input id="a">', False),
    ],
)
def test_captcha_fields_are_found_in_any_field_and_only_within_one(fields: str, captcha: bool) -> None:
    assert _captcha(fields) is captcha


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("telmaiphonsgx _-@:İΣ")), max_size=30))
def test_a_sets_number_in_a_texts_hits_is_its_search(text: str) -> None:
    """classify asks ``keywords.id in signals.hits(text)``: the same as ``keywords.search(text)``."""
    signals = Signals(rules().index)
    for name in ("message", "not_message", "email", "phone", "newsletter", "comment", "cart", "lookup", "request",
                 "captcha_fields"):
        keywords = getattr(rules(), name)
        assert (keywords.id in signals.hits(text)) is keywords.search(text), (name, text)


def test_a_set_without_literals_is_searched_by_its_regex_and_numbered_too() -> None:
    plain, searched = Keywords(["callback"]), Keywords(["quote"])
    searched.literals = None  # as for a set whose regex the literals cannot rebuild
    index = KeywordIndex([plain, searched])
    assert (plain.id, searched.id) == (0, 1) and index.searched == [searched]
    signals = Signals(index)
    assert signals.hits("Request a QUOTE") == {1}
    assert signals.hits("callback, quote") == {0, 1}
    assert searched.search("a quote", signals) is True and searched.search("none", signals) is False


def test_a_large_page_is_not_walked_for_its_forms_and_still_finds_its_captcha() -> None:
    filler = "<p>x</p>" * (GATE_MAX_HTML // 8)
    page = parse_page(f"<html><body>{filler}{FORM.format(extra='<p>Send</p>')}</body></html>", URL)
    assert _markup_may_hold_captcha(page) is True  # not asked: the markup decides
    (point,) = extract_forms(page)
    assert point.details["has_captcha"] is False
    assert _captcha('<div class="g-recaptcha"></div>', filler) is True
