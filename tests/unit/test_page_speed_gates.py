"""The page model's shortcuts (issue 12, part 4) give what the long way gives.

Each shortcut skips work on input that cannot change the answer; each test here holds
an input the shortcut must still let through (or must still answer the long way), so
that making it stricter or looser than it is fails.
"""

from __future__ import annotations

import random
from urllib.parse import urljoin

import pytest

from auditor.extract import page as P
from auditor.extract import tree as T

URL = "https://www.firma.hu/rolunk/kapcsolat"


def _copy(html: str) -> P.ParsedPage:
    return P._build(P._parse_html(html), URL, html)


# --- links: hrefs urljoin keeps as they are --------------------------------------------------


@pytest.mark.parametrize("href", [
    "tel:+3612345678", "TEL:+36 1 234 5678", "mailto:info@firma.hu", "MailTo:x@y.hu?subject=a b",
    "javascript:void(0)", "viber://chat?number=%2B36", "callto://+3612345678", "skype:firma?call",
    "tel://[::1", "data:text/html,<p>", "svn+ssh://host/x",
])
def test_an_href_urljoin_does_not_resolve_is_kept_as_urljoin_keeps_it(href: str) -> None:
    assert P._Joiner(URL)(href) == P._safe_urljoin(URL, href) == href


@pytest.mark.parametrize("href", [
    "http:kapcsolat", "https:../a", "HTTPS:x", "ftp:y", "file:z", "ws:w", "kapcsolat", "../a",
    "te\tl:+3612", "?q=1", "#top", "./x", "//cdn.example/y",
])
def test_an_href_with_a_scheme_urljoin_resolves_is_resolved(href: str) -> None:
    # the shortcut must let these through to urljoin (http:x against an http base is relative)
    for base in (URL, "http://www.firma.hu/a/b", "ftp://files.firma.hu/a/", "file:///srv/a/b"):
        assert P._Joiner(base)(href) == urljoin(base, href)


_BASES = [
    URL, "http://www.firma.hu", "https://www.firma.hu/a/b?q=1#f", "http://www.firma.hu/a;p/b", "https://[::1]:8080/a/",
    "ftp://files.firma.hu/a/", "file:///srv/a/b", "mailto:info@firma.hu", "data:text/plain,x", "HTTPS://WWW.Firma.hu/A",
]
_ACTIONS = [
    "https://www.firma.hu/kuld", "https://other.example/x?a=1#b", "http://www.firma.hu/k", "https://x.hu/?", "https://x.hu/#",
    "https://x.hu/a?#", "https://x.hu/a;p", "https://x.hu/a?b;c", "https://", "https:///path", "https://?q", "https://#f",
    "https://[::1", "https://x.hu/a\tb", "https://x.hu\n/a", "HTTPS://x.hu/a", "https:x", "http://x.hu:80/a/../b",
    "/kapcsolat", "/kapcsolat#wpcf7-f1-o1", "/a?b=1", "/a?", "/a#", "/a?#x", "/", "/./a", "/a/../b", "/a/.", "/a;b",
    "//cdn.example/x", "/a\tb", "/a b", "/ä/ö?ü=1#ß", "kuld.php", "?a=1", "#top", "", " /x", "mailto:a@b.hu",
]


@pytest.mark.parametrize("base", _BASES)
def test_a_forms_action_is_joined_exactly_as_urljoin_joins_it(base: str) -> None:
    join = P._Joiner(base)
    for action in _ACTIONS:
        assert join.exact(action) == P._safe_urljoin(base, action), action


def test_the_exact_join_takes_its_shortcuts() -> None:
    join = P._Joiner("https://www.firma.hu/a/b")
    # the answers urljoin gives without resolving anything: what the shortcuts must let through
    assert join.exact("/kapcsolat#wpcf7-f1-o1") == "https://www.firma.hu/kapcsolat#wpcf7-f1-o1"
    assert join.exact("http://other.example/a?#") == "http://other.example/a?#"  # another scheme: kept
    assert join.exact("https://x.hu/a?#") == "https://x.hu/a"  # urljoin drops the empty query and fragment


def test_relative_scheme_href_is_joined_against_a_base_of_the_same_scheme() -> None:
    assert P._Joiner("http://www.firma.hu/a/b")("http:kapcsolat") == "http://www.firma.hu/a/kapcsolat"


# --- text: the control-character check skipped on scrubbed pages ------------------------------


def test_a_control_character_from_a_reference_still_sends_the_page_to_the_copy() -> None:
    html = "<html><body><p>Tel: +36 1 234&#1; 5678</p><a href='tel:+3612345678'>x</a></body></html>"
    assert P._build_from_lexbor(html, URL, scrubbed=True) is None  # the reference is looked for
    page = P.parse_page(html, URL)
    assert page.blocks == _copy(html).blocks
    assert "\x01" not in page.text


def test_a_raw_control_character_is_looked_for_unless_the_caller_scrubbed_it() -> None:
    html = "<html><body><p>a\x07b</p></body></html>"
    assert P._build_from_lexbor(html, URL) is None
    assert P.parse_page(html, URL).text == "ab"  # parse_page removed it, then skipped the search


# --- the walk: a lone text child read in place --------------------------------------------------


def test_lone_text_children_keep_block_and_region_marks() -> None:
    html = """<html><body><p>one</p><p>two</p><div><span>in</span>line</div><footer>foot</footer>
        <nav><a href="/n">menu</a></nav><script>var x = 1;</script><h2>head</h2>end</body></html>"""
    page = P.parse_page(html, URL)
    assert page.blocks == _copy(html).blocks
    assert [(b.text, b.region) for b in page.blocks] == [
        ("one", "main"), ("two", "main"), ("inline", "main"), ("foot", "footer"), ("menu", "nav"),
        ("head", "main"), ("end", "main"),
    ]
    assert [(link.text, link.region) for link in page.links] == [("menu", "nav")]


def test_label_and_address_in_lone_text_children_are_still_paired() -> None:
    html = "<html><body><p><span>E-posta</span><span>name@firma.com.tr</span></p></body></html>"
    page = P._build_from_lexbor(html, URL)
    assert page is not None and page.blocks == _copy(html).blocks  # the copy separates them, and so does the walk
    assert "E-posta name@firma.com.tr" in P.parse_page(html, URL).text


# --- regions: each ancestor climbed once ----------------------------------------------------------


def test_outermost_regions_among_siblings_and_nested_ones() -> None:
    html = """<html><body><div><div class="site-footer"><p>f1</p><nav><p>inner</p></nav></div>
        <div id="bottom-bar"><p>f2</p></div><p>mid</p><div class="menu"><p>m</p></div></div>
        <header><div class="footer-like"><p>h</p></div></header><main><p>body</p></main></body></html>"""
    page = P.parse_page(html, URL)
    assert page.blocks == _copy(html).blocks
    assert {b.text: b.region for b in page.blocks} == {
        "f1": "footer", "inner": "footer", "f2": "footer", "mid": "main", "m": "nav", "h": "header", "body": "main",
    }


def test_a_region_below_another_one_climbed_through_is_not_outermost() -> None:
    # the <nav> is climbed first (tags before classes): the wrapper it passes is below the
    # footer, so the menu beside it is inside the footer too
    html = """<html><body><div class="site-footer"><div class="wrap"><nav><a href="/a">a</a></nav>
        <div class="menu"><a href="/b">b</a></div></div></div><div class="menu"><a href="/c">c</a></div></body></html>"""
    page = P.parse_page(html, URL)
    assert page.links == _copy(html).links
    assert [(link.text, link.region) for link in page.links] == [("a", "footer"), ("b", "footer"), ("c", "nav")]


# --- forms: labels searched only where a form has one; markup made on first read -----------------


FORMS = """<html><body><form action="/send#top" method="post"><label for="e"> E-mail </label>
    <input id="e" name="email"><label>Name <input name="n"></label><div><label><span>Tel
    <input name="t" type="TEL"></span></label></div><textarea id="m" name="m"></textarea>
    <svg><label>svg label <input name="s"></label></svg></form>after<form><input id="x" name="q"></form>
    <form action="?a"><select name="c"><option>1</option></select></form></body></html>"""


def test_labels_are_found_by_id_and_around_fields() -> None:
    page = P.parse_page(FORMS, URL)
    assert page.forms == _copy(FORMS).forms
    assert [f.markup for f in page.forms] == [f.markup for f in _copy(FORMS).forms]
    first = page.forms[0]
    assert [(f.name, f.label) for f in first.fields] == [
        ("email", "E-mail"), ("n", "Name"), ("t", "Tel"), ("m", ""), ("s", "svg label"),
    ]
    assert first.fields[2].type == "tel" and first.fields[3].type == "textarea"
    assert page.forms[1].fields[0].label == ""  # no label in that form
    assert [form.action for form in page.forms] == [
        "https://www.firma.hu/send#top", URL, "https://www.firma.hu/rolunk/kapcsolat?a",
    ]


def test_form_markup_is_made_on_first_read_and_equals_the_copy() -> None:
    page = P.parse_page(FORMS, URL)
    form = page.forms[0]
    assert "markup" not in form.__dict__  # not serialised with the model
    copy = _copy(FORMS).forms[0]
    assert form.markup == copy.markup and form.markup.startswith('<form action="/send#top"')
    assert form.markup.endswith("after")  # the copy's tail, as lxml writes it
    assert form.__dict__["markup"] == copy.markup  # kept once made
    assert P.Form("a", "get", (), "t", source="<form>").markup == "<form>"  # given markup is kept


def test_pages_read_from_the_copy_copy_the_same_document() -> None:
    html = ("<html><head><style>p .rev{direction:rtl;unicode-bidi:bidi-override}</style></head>"
            "<body><p>Tel: +36 1 234 5678</p><p><span class=rev>321</span></p></body></html>")
    assert P._build_from_lexbor(html, URL) is None  # a reversing rule cssselect alone matches exactly
    page = P.parse_page(html, URL)
    copy = _copy(html)
    assert page.blocks == copy.blocks
    assert page.blocks[1].text == "123"


# --- invisible characters: one replace per character present ------------------------------------


def test_visible_chars_drops_and_spaces_what_the_translation_table_says() -> None:
    chars = "".join(chr(code) for code in T._DROP)
    assert len(chars) == 20
    text = "a" + "b".join(chars) + "c" + chars[::-1] + "\u00a0\u00a0x\u200b\u200by"
    assert T.visible_chars(text) == text.translate(T._DROP)
    assert T.visible_chars("+49 69 630\u200b2-309\u00a0x\u00adz") == "+49 69 6302-309 xz"


def test_only_ascii_text_skips_the_search_for_invisible_characters() -> None:
    # a Latin-1 text (NBSP, soft hyphen) or a lone character is not ASCII: still read
    for ch in (chr(code) for code in T._DROP):
        assert T.visible_chars(ch) == ch.translate(T._DROP)
        assert T.drops_invisible(f"<p>{ch}</p>")
    assert T.visible_chars("caf\u00e9\u00a0x\u00ad") == "caf\u00e9 x"
    ascii_text = "".join(map(chr, range(128)))
    assert T.visible_chars(ascii_text) is ascii_text
    assert T.drops_invisible("<p>a&shy;b</p>") and T.drops_invisible("<p>a&#8203;b</p>")
    assert not T.drops_invisible("<p>a &amp; b</p>") and not T.drops_invisible("<p>caf\u00e9</p>")


def test_a_text_with_enough_tags_to_nest_deep_is_still_flattened() -> None:
    # as many "<" as the scan asks for, in a text hardly longer
    nested = T.MAX_SOURCE_DEPTH + 10
    deep = "<b>" * nested + "<" * (T.DEEP_SCAN_TAGS - nested)
    assert deep.count("<") == T.DEEP_SCAN_TAGS and len(deep) < 1.1 * T.DEEP_SCAN_TAGS
    assert T._flatten_deep(deep).count("<br>") == 10
    assert T._flatten_deep("<div>" * T.MAX_SOURCE_DEPTH * 2) == "<div>" * T.MAX_SOURCE_DEPTH * 2  # too few tags


# --- region marks: found by searches for their characters ---------------------------------------


def test_region_split_is_the_regex_split() -> None:
    rng = random.Random(7)
    alphabet = ["a", " ", "\n", "h", P._REGION_OPEN, P._REGION_CLOSE, P._BLOCK_MARK]
    cases = ["", P._REGION_OPEN, P._REGION_CLOSE, P._REGION_OPEN + "\n", P._REGION_OPEN + P._REGION_CLOSE + "x",
             "a" + P._REGION_OPEN + "fb" + P._REGION_CLOSE + "c" + P._REGION_OPEN]
    cases += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    for text in cases:
        assert P._region_split(text) == P._REGION_SPLIT.split(text), repr(text)


# --- hreflangs: only the links that carry one are read ----------------------------------------------


def test_hreflangs_read_from_lexbor_are_the_copys() -> None:
    html = ("<html><head><link rel=stylesheet href=/a.css><link rel='ALTER&#1;NATE' hreflang=' e&#2;n '>"
            "<link rel=alternate hreflang><link rel=alternate hreflang=' '><link rel=icon hreflang=de>"
            "<link rel='x alternate' hreflang=hu></head><body><p>x</p></body></html>")
    page = P._build_from_lexbor(html, URL)
    assert page is not None
    assert page.hreflangs == _copy(html).hreflangs == ("en", "hu")


def test_attribute_values_of_nodes_without_the_attribute_are_empty() -> None:
    page = P.parse_page("<html><body><p class=' a '>x</p><p>y</p></body></html>", URL)
    assert page._lexbor is not None
    nodes = page._lexbor.document.css("p")
    assert page._lexbor.values(nodes, "class") == [" a ", ""]  # indexing raises for the second: read by get
    assert page._lexbor.values(nodes[:1], "class") == [" a "]


# --- links: the cap is applied only where it can drop one ---------------------------------------


@pytest.mark.parametrize("web", [3, 4, 5, 9])
@pytest.mark.parametrize("other", [0, 4, 5])
def test_links_at_the_cap_are_the_copys(monkeypatch: pytest.MonkeyPatch, web: int, other: int) -> None:
    monkeypatch.setattr(P, "MAX_LINKS", 4)
    html = "<html><body><svg><a href='/hidden'>h</a></svg><a>no href</a><a href=' '>blank</a>"
    html += "".join(f"<a href='/p/{i}' title=' t{i} '>p{i}</a>" for i in range(web))
    html += "".join(f"<a href='tel:+3612345{i:03d}' aria-label='call'>c{i}</a>" for i in range(other)) + "</body></html>"
    page = P._build_from_lexbor(html, URL)
    assert page is not None
    assert page.links == _copy(html).links
    kept_web = [link for link in page.links if link.raw_href.startswith("/p/")]
    assert len(kept_web) == min(web, 4) and len(page.links) == min(web, 4) + min(other, 4)
