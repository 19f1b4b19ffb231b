"""Text shown reversed by CSS reads the same from Lexbor's document as from its lxml copy.

The copy (``auditor.extract.tree._read_reversed``) puts the reversed text, read as shown, in
place of the children of an element whose inline style or class (a rule of the page's own
``<style>``) reverses it. ``parse_page`` does the same to Lexbor's document; selectors other
than a single class are left to the copy. Hypothesis draws pages from pieces that matter:
nested reversed elements, labels and addresses, links, forms and regions inside them.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.extract import page as P
from tests.unit.test_page_lexbor import _both, _fields, _queries

URL = "https://www.firma.hu/kapcsolat"

STYLES = ["", "<style>.rev{unicode-bidi:bidi-override;direction:rtl}</style>",
          "<style>.rev, .x { direction : RTL ; unicode-bidi: bidi-override }</style>",
          "<style>.Rev{unicode-bidi:bidi-override}</style>"]
PIECES = [
    "<span class='rev'>", "<span class='a rev'>", "<b class='Rev'>", "<p style='direction:rtl;unicode-bidi:bidi-override'>",
    "<span style='unicode-bidi: bidi-override'>", "</span>", "</b>", "</p>", "<span>E-posta</span>", "<span>",
    "uh.amrif@ofni", "8765 432 1 63+", "<a href='tel:+3612345678' class='phone'>", "</a>", "<div class='footer'>",
    "</div>", "<form action='/x'>", "</form>", "<label>", "</label>", "<input id=e>", "<i class='icon-mail'></i>",
    "<!-- c -->", "<br>", "&#8203;", "&#1;", "x", " ", "<script>var a = 1;</script>",
]

pages = st.tuples(st.sampled_from(STYLES), st.lists(st.sampled_from(PIECES), max_size=40)).map(
    lambda parts: f"<html><head>{parts[0]}</head><body>" + "".join(parts[1]) + "</body></html>"
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=pages)
@example(html="<html><body><span>Mail</span><span style='direction:rtl;unicode-bidi:bidi-override'>uh.a@b</span></body></html>")
def test_reversed_text_read_from_lexbor_is_the_copys(html: str) -> None:
    fast, copy = _both(html, URL)
    if fast is not None:
        assert _fields(fast) == _fields(copy)
        assert _queries(fast) == _queries(copy)
        assert fast.lxml_tree() is not None and P.text_of(fast.lxml_tree()) == P.text_of(copy.tree)


def test_a_class_reversed_by_a_style_rule_reads_as_shown() -> None:
    html = ("<html><head><style>.rev{unicode-bidi:bidi-override;direction:rtl}</style></head>"
            "<body><p>E-mail: <span class='rev'>uh.amrif@ofni</span></p></body></html>")
    page = P._build_from_lexbor(html, URL)
    assert page is not None and page.blocks[0].text == "E-mail: info@firma.hu"


def test_namespaced_attributes_are_not_the_copys_plain_ones() -> None:
    html = "<html><body><svg viewBox='0 0 1 1'><use xlink:href='#i'></use></svg><a href='/x'>x</a></body></html>"
    page = P._build_from_lexbor(html, URL)
    copy = P._build(P._parse_html(html), URL, html)
    assert page is not None
    assert page.attribute_values("href") == copy.attribute_values("href") == ["/x"]
    assert page.has_attribute("viewbox") is copy.has_attribute("viewbox") is False
