"""Chat behaviours that surviving mutants showed no test checked (bench/mutation.py, issue 16).

Which sighting of one provider is reported (a loader URL over a global name, the first
of two equal ones, a strong one over a weak one), what a frame, link or DOM marker point
quotes and how sure it is, links written in capitals, the order of the points, account
ids and widget ids read through markup and ``params`` entries of the provider data, and
the literal a fingerprint cannot match without. Each test names what it pins.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.extract import confidence as conf
from auditor.extract.chat import _compile, _url_token, extract_chat, required_literal
from auditor.extract.context import ExtractContext
from auditor.extract.page import parse_page
from auditor.models import ContactPoint

TAWK_ID = "5f1a2b3c4d5e6f7a8b9c0d1e"
TAWK_SRC = f"https://embed.tawk.to/{TAWK_ID}/1eabcd123"
TAWK_CHAT = f"https://tawk.to/chat/{TAWK_ID}/default"
INTERCOM_SRC = "https://widget.intercom.io/widget/abc123de"


def chat(body: str, fp: Any = None) -> list[ContactPoint]:
    page = parse_page(f"<html><body>{body}</body></html>", "https://www.example.hu/kapcsolat")
    return extract_chat(page, ExtractContext(chat=fp))


def one(body: str, slug: str, fp: Any = None) -> ContactPoint:
    (point,) = [p for p in chat(body, fp) if p.value == slug]
    return point


# --------------------------------------------------------------------------- which sighting


def test_a_loader_url_in_a_later_script_beats_a_global_name_in_an_earlier_one() -> None:
    body = (
        "<script>Tawk_API.onLoad = function () {};</script>"
        f"<script>var s = document.createElement('script'); s.src = '{TAWK_SRC}';</script>"
    )
    point = one(body, "tawk.to")
    assert (point.raw, point.details["evidence"]) == (TAWK_SRC, "inline")


def test_a_global_name_after_a_loader_url_does_not_replace_it() -> None:
    body = f"<script>s.src = '{TAWK_SRC}';</script><script>Tawk_API.onLoad = 1;</script>"
    assert one(body, "tawk.to").raw == TAWK_SRC


def test_a_global_name_alone_is_quoted_as_matched() -> None:
    point = one("<script>Tawk_API.onLoad = function () {};</script>", "tawk.to")
    assert (point.raw, point.confidence) == ("Tawk_API", conf.STRUCTURED)


def test_of_two_equal_sightings_the_first_in_the_page_is_quoted_and_its_account_read() -> None:
    other = "0123456789abcdef01234567"
    body = f'<script src="{TAWK_SRC}"></script><script src="https://embed.tawk.to/{other}/x9"></script>'
    point = one(body, "tawk.to")
    assert (point.raw, point.details["account_id"]) == (TAWK_SRC, f"{TAWK_ID}/1eabcd123")


def test_a_weak_loader_after_the_chat_loader_does_not_make_the_chat_weak() -> None:
    body = (
        '<script src="https://js.usemessages.com/conversations-embed.js"></script>'
        '<script src="https://js.hs-scripts.com/1234567.js"></script>'
    )
    point = one(body, "hubspot")
    assert point.raw == "https://js.usemessages.com/conversations-embed.js"
    assert "weak" not in point.details and point.confidence == conf.MACHINE
    assert point.details["account_id"] == "1234567"  # the weak loader's text still gives it


def test_a_weak_pattern_in_inline_script_is_a_weak_sighting() -> None:
    point = one("<script>var hs = '//js.hs-scripts.com/1234567.js';</script>", "hubspot")
    assert (point.raw, point.details["evidence"]) == ("//js.hs-scripts.com/1234567.js", "inline")
    assert point.details["weak"] is True and point.confidence == conf.HINT


def test_inline_context_quotes_the_script_attributes_before_its_text() -> None:
    point = one("<script id=\"ze-snippet\" data-x='1'>zE('webWidget', 'open');</script>", "zendesk")
    assert point.context == "id=\"ze-snippet\" data-x=\"1\" zE('webWidget', 'open');"


# --------------------------------------------------------------------------- frames, links, markers


def test_a_dom_marker_point_quotes_the_marker_and_is_a_guess() -> None:
    point = one('<div id="tidio-chat"></div>', "tidio")
    assert (point.raw, point.context, point.details["evidence"]) == ('id="tidio-chat"',) * 2 + ("dom",)
    assert "weak" not in point.details and point.confidence == conf.GUESS


def test_a_frame_is_read_with_the_loader_patterns_too() -> None:
    point = one(f'<iframe src="{INTERCOM_SRC}"></iframe>', "intercom")
    assert (point.raw, point.details["evidence"], point.details["account_id"]) == (INTERCOM_SRC, "dom", "abc123de")
    assert "weak" not in point.details and point.confidence == conf.GUESS


def test_a_chat_link_point_quotes_the_href_and_is_a_guess() -> None:
    href = "https://direct.lc.chat/12345678/"
    point = one(f'<a href="{href}">Chat</a>', "livechat")
    assert (point.raw, point.context, point.details["evidence"]) == (href, href, "dom")
    assert "weak" not in point.details and point.confidence == conf.GUESS


def test_a_frame_before_a_link_of_the_same_chat_is_the_one_quoted() -> None:
    link = "https://tawk.to/chat/0123456789abcdef01234567/other"
    body = f'<iframe src="{TAWK_CHAT}"></iframe><a href="{link}">Chat</a>'
    assert one(body, "tawk.to").raw == TAWK_CHAT


@pytest.mark.parametrize(
    "widget",
    [f'<iframe src="{TAWK_CHAT}"></iframe>', f'<a href="{TAWK_CHAT}">Chat</a>', '<div id="tawkchat-container"></div>'],
)
def test_points_come_strongest_evidence_first_then_in_provider_order(widget: str) -> None:
    # tawk.to comes before intercom in the data; its DOM sighting is weaker than a script
    body = f'{widget}<script src="{INTERCOM_SRC}"></script><div id="tidio-chat"></div>'
    assert [(p.value, p.details["evidence"]) for p in chat(body)] == [
        ("intercom", "script-src"), ("tawk.to", "dom"), ("tidio", "dom")]


@pytest.mark.parametrize("tag", ['<a href="{}">Chat</a>', '<iframe src="{}"></iframe>'])
def test_a_chat_link_written_in_capitals_is_found(tag: str) -> None:
    href = "https://Direct.LC.Chat/12345678/"  # host names are case-insensitive
    assert one(tag.format(href), "livechat").raw == href


def test_an_attribute_marker_alone_shows_the_chat() -> None:
    point = one('<div data-reamaze-embed="support"></div>', "reamaze")
    assert (point.raw, point.details["evidence"]) == ("[data-reamaze-embed]", "dom")


def test_a_marker_name_in_text_without_the_attribute_or_element_is_no_chat() -> None:
    assert chat("<p>Set data-reamaze-embed or jv-id on a &lt;jdiv&gt; to embed it.</p>") == []


# --------------------------------------------------------------------------- provider data compiled afresh
# fingerprints() compiles the packaged file once per process: these compile their own data.

ACME: dict[str, Any] = {
    "slug": "acmechat", "name": "Acme Chat",
    "src": [r"widget\.acmechat\.example/loader\.js"],
    "weak": [r"acmechat-tracking\.example/t\.js"],
    "dom": ["#acme-root", "acme-chat"],
    "markup_account": [{"at": "acme-chat[data-acme]", "value": r"\d{6}"}],
    "params": [r"acmeGroup=(?P<group>\d+)", r"acmeButton=(?P<button_ids>\w+)"],
}
BARE = {  # an account in markup on any element
    "slug": "bare", "name": "Bare",
    "src": [r"bare-chat\.example/b\.js"],
    "markup_account": [{"at": "[data-bare-id]", "value": r"B-\d+"}],
}
LOADER = '<script src="https://widget.acmechat.example/loader.js?acmeGroup=7&acmeButton=b1"></script>'


def test_the_account_is_read_from_the_named_element_only() -> None:
    fp = _compile({"provider": [ACME, BARE]})
    body = f'{LOADER}<div data-acme="111111"></div><acme-chat data-acme=" 222222 "></acme-chat>'
    assert one(body, "acmechat", fp).details["account_id"] == "222222"
    assert "account_id" not in one(f'{LOADER}<div data-acme="111111"></div>', "acmechat", fp).details


def test_an_account_in_markup_on_any_element_when_no_tag_is_named() -> None:
    fp = _compile({"provider": [ACME, BARE]})
    body = '<script src="https://bare-chat.example/b.js"></script><span data-bare-id="x"></span><p data-bare-id="B-42"></p>'
    assert one(body, "bare", fp).details["account_id"] == "B-42"


def test_widget_params_come_from_the_params_entries() -> None:
    fp = _compile({"provider": [ACME]})
    assert one(LOADER, "acmechat", fp).details["widget_params"] == {"group": "7", "button_ids": "b1"}


@pytest.mark.parametrize("marker", ['<div id="acme-root"></div>', "<acme-chat></acme-chat>"])
def test_a_dom_marker_confirms_a_weak_loader(marker: str) -> None:
    """Fixed: an element marker was not looked for once the provider was seen at all, so a
    weak loader beside ``<acme-chat>`` stayed weak while one beside ``#acme-root`` did not."""
    fp = _compile({"provider": [ACME]})
    weak = '<script src="https://acmechat-tracking.example/t.js"></script>'
    assert one(weak, "acmechat", fp).details["weak"] is True
    point = one(weak + marker, "acmechat", fp)
    assert ("weak" in point.details, point.details["evidence"], point.confidence) == (False, "dom", conf.GUESS)


def test_a_markup_account_that_is_not_tag_and_attribute_is_refused_by_name() -> None:
    bad = {**BARE, "markup_account": [{"at": "div", "value": "x"}]}
    with pytest.raises(ValueError) as info:
        _compile({"provider": [bad]})
    assert str(info.value) == "markup_account for bare is not tag[attribute]: 'div'"


# --------------------------------------------------------------------------- literals and tokens


@pytest.mark.parametrize(
    ("pattern", "literal"),
    [
        (r"\dXYZ", "XYZ"),  # a capital X after a class is a literal, not a quantifier
        ("abXcd", "abXcd"),
        (r"x{2}bcde{3}fg", "bcd"),  # each {n} ends at its own "}"
        (r"ab{2}cdefg{3}hi", "cdef"),
    ],
)
def test_required_literal_with_capital_x_and_counted_repeats(pattern: str, literal: str) -> None:
    assert required_literal(pattern) == literal


@pytest.mark.parametrize("tail", ["a", "ab", "abc", "abcd"])
def test_url_token_stops_at_the_first_stop_character_whatever_its_distance(tail: str) -> None:
    text = f"s='acme.example/{tail}';"
    start = text.index("acme")
    assert _url_token(text, start, start + 4) == f"acme.example/{tail}"
