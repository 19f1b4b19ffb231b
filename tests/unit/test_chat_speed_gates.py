"""The chat extractor's gates: each skips work only where the full search finds nothing.

A gate that is too strict loses a widget; each case here is a page a gate must let
through (a frame or link literal written in a way the markup does not spell out
plainly), so tightening a gate makes one of them fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from auditor.extract.chat import (
    _compile,
    _dangerous_refs,
    _Markup,
    _refs_matter,
    extract_chat,
    fingerprints,
    literal_groups,
)
from auditor.extract.chat_external import example
from auditor.extract.context import ExtractContext
from auditor.extract.page import parse_page

TAWK_ID = "5f1a2b3c4d5e6f7a8b9c0d1e"
TAWK_LINK = f"https://tawk.to/chat/{TAWK_ID}/default"


def chat_values(html: str) -> list[str]:
    return [p.value for p in extract_chat(parse_page(html, "https://firma.example/"))]


def test_a_frame_opened_in_capitals_is_read() -> None:
    html = f"<html><body><IFrame SRC='{TAWK_LINK}'></IFrame></body></html>"
    assert chat_values(html) == ["tawk.to"]


@pytest.mark.parametrize(
    "href",
    [
        TAWK_LINK,
        TAWK_LINK.upper().replace(TAWK_ID.upper(), TAWK_ID),  # the markup's case folds
        f"https://tawk&#46;to/chat/{TAWK_ID}/default",  # a numeric reference to a literal's "."
        f"https://tawk&#x2E;to/chat/{TAWK_ID}/default",
        f"https://tawk&#0000046;to/chat/{TAWK_ID}/default",  # leading zeros
        f"https://tawk&period;to/chat/{TAWK_ID}/default",  # a named one
        f"https://tawk&#116;o/chat/{TAWK_ID}/default".replace("tawk&#116;o", "taw&#107;.to"),  # a letter
        f"https://tawk&#1;.to/chat/{TAWK_ID}/default",  # a control character the model drops
        f"https&colon;//tawk.to/chat/{TAWK_ID}/default",  # the "://" an href must hold
        f"https:&sol;/tawk.to/chat/{TAWK_ID}/default",
        f"https://taw\u212a.to/chat/{TAWK_ID}/default",  # the Kelvin sign lower-cases to "k"
    ],
)
def test_a_link_literal_the_markup_does_not_spell_out_is_read(href: str) -> None:
    assert chat_values(f'<html><body><a href="{href}">Chat</a></body></html>') == ["tawk.to"]


@pytest.mark.parametrize(
    "anchor",
    [
        f"<a href={TAWK_LINK}>Chat</a>",  # unquoted
        f"<a href = '{TAWK_LINK}'>Chat</a>",  # spaced, single-quoted
        f"<A\nHREF=\"{TAWK_LINK}\">Chat</A>",
        # an "href=" inside another value whose quote is the real href's opening quote:
        # the value read there must not swallow the real one
        f"<a data-x='href=\"' href=\"{TAWK_LINK}\">Chat</a>",
        f"<noscript><a href=\"{TAWK_LINK}\">Chat</a></noscript>",
        # read out of <noscript>, an invisible character is dropped
        f"<noscript><a href=\"https://tawk\u200b.to/chat/{TAWK_ID}/default\">Chat</a></noscript>",
    ],
)
def test_every_way_of_writing_an_href_is_read(anchor: str) -> None:
    assert chat_values(f"<html><body>{anchor}</body></html>") == ["tawk.to"]


def test_an_element_marker_written_in_capitals_is_read() -> None:
    assert chat_values("<html><body><JDIV class='x'></JDIV></body></html>") == ["jivochat"]
    assert chat_values("<html><body><div JV-ID='1'></div></body></html>") == ["jivochat"]


def test_a_widget_id_prefix_is_read_among_other_ids() -> None:
    html = "<html><body><div id='main'></div><div id='comm100-button-42'></div></body></html>"
    assert chat_values(html) == ["comm100"]


def _script_page(script: str) -> Any:
    return parse_page(f"<html><head><script>{script}</script></head></html>", "https://firma.example/")


def test_a_literal_with_a_space_is_sought_after_the_stubs_are_cut() -> None:
    """Cutting a stub leaves a space, which may make a literal that holds one."""
    fp = _compile({"provider": [{"slug": "acme", "name": "Acme", "inline": [r"acme; go"]}]})
    assert fp.scan_needles.spaced
    found = extract_chat(_script_page("acme;window.$crisp=[];go"), ExtractContext(None, (), fp))
    assert [p.value for p in found] == ["acme"]


def test_a_stub_alone_is_no_chat_and_a_stub_beside_a_snippet_is() -> None:
    stub = 'window.$crisp=[];window.CRISP_WEBSITE_ID="";'
    assert extract_chat(_script_page(stub)) == []
    real = 'window.$crisp=[];window.CRISP_WEBSITE_ID="0f1e2d3c-aaaa-bbbb-cccc-123456789abc";'
    assert [p.value for p in extract_chat(_script_page(real))] == ["crisp"]


def test_a_case_sensitive_literal_outside_ascii_is_still_sought() -> None:
    fp = _compile({"provider": [{"slug": "sigma", "name": "Sigma", "inline": [r"ΣIGMA_CHAT"]}]})
    assert fp.scan_needles.unfolded
    found = extract_chat(_script_page("var x = ΣIGMA_CHAT;"), ExtractContext(None, (), fp))
    assert [p.value for p in found] == ["sigma"]
    assert extract_chat(_script_page("var x = σigma_chat;"), ExtractContext(None, (), fp)) == []


def test_a_lone_surrogate_in_the_markup_does_not_stop_the_gates() -> None:
    html = f"<html><body>\ud800<iframe src='{TAWK_LINK}'></iframe></body></html>"
    assert chat_values(html) == ["tawk.to"]


# --- the gates' other side: where they close, so that the work is skipped ----------------

FP = fingerprints()


def _markup(body: str) -> _Markup:
    return _Markup(parse_page(f"<html><body>{body}</body></html>", "https://firma.example/"), FP)


def test_the_frame_gate_is_open_only_with_a_frame() -> None:
    assert _markup("<p>Kapcsolat</p>").frames is False
    assert _markup("<IFRAME src='/x'></IFRAME>").frames is True


@pytest.mark.parametrize(
    ("body", "links"),
    [
        ('<a href="https://www.example.hu/kapcsolat?a=1&amp;b=2">Kapcsolat</a>', False),
        ('<a href="https://www.example.hu/">Home &#8211; &copy;</a>', False),
        (f'<a href="{TAWK_LINK}">Chat</a>', True),
        (f'<a href="/chat?u={TAWK_LINK}">Chat</a>', True),  # a literal after "://" in the value
        ('<a href="/tawk.to/chat/x">relative</a>', False),  # no "://": not read as a chat link
        ('<a href="https://x.example/">x</a><noscript><img src="/p.gif"></noscript>', True),
        ('<a href="https://x.example/&period;">x</a>', True),
    ],
)
def test_the_link_gate_opens_for_a_literal_a_noscript_or_a_reference_only(body: str, links: bool) -> None:
    assert _markup(body).links is links


def test_frames_are_not_asked_of_the_tree_without_a_frame_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    page = parse_page(f"<html><body><a href='{TAWK_LINK}'>Chat</a></body></html>", "https://firma.example/")
    monkeypatch.setattr(type(page), "frame_sources", lambda self: pytest.fail("frames asked"))
    assert [p.value for p in extract_chat(page)] == ["tawk.to"]


@pytest.mark.parametrize(
    ("source", "matters"),
    [
        ("a &amp; b &nbsp; &copy; &hellip; &#8211; &#x2013; &#X2014; &#160; &#33;", False),
        ("&#; &#x; text", False),  # no digits: not a reference
        ("&#123456789;", False),  # nine digits: past U+10FFFF
        ("&#x110000;", False),
        ("&#xD800;", False),
        ("&#32;", False),
        ("&#46;", True),
        ("&#x2e;", True),
        ("&#X2E;", True),
        ("&#00046;", True),
        ("&#84;", True),  # "T", a capital of a literal's letter
        ("&#x130;", True),  # İ lower-cases to "i" and a dot
        ("&#x212a;", True),  # the Kelvin sign lower-cases to "k"
        ("&#31;", True),  # control characters: the model may drop them
        ("&#x1f;", True),
        ("&#127;", True),
        ("&#x80;", True),  # C1 codes: WHATWG maps them through windows-1252
        ("&#x9f;", True),
        ("&period;", True),
        ("&colon;", True),  # the "://" an href needs
        ("&Tab;", True),
        ("&amp; &#8211; &#46;", True),  # harmless ones first
        ("&#; &#46;", True),
        ("&#123456789; &#46;", True),
        ("&#x110000; &#46;", True),
    ],
)
def test_which_references_open_the_link_gate(source: str, matters: bool) -> None:
    assert "!" not in FP.link_chars and " " not in FP.link_chars
    assert _refs_matter(source, FP) is matters


def test_dangerous_references_by_name() -> None:
    dots = _dangerous_refs({"."})
    assert dots.match("&period;") and dots.match("&#") and dots.match("&Tab;") and dots.match("&NewLine;")
    assert not dots.match("&amp;") and not dots.match("&sol;") and not dots.match("&nbsp;")
    assert _dangerous_refs({"i"}).match("&Idot;")  # İ: its lower-case holds "i"
    assert not _dangerous_refs(set()).match("&Idot;")


def test_link_characters_are_those_of_the_link_and_url_literals_and_of_the_scheme_mark() -> None:
    fp = _compile({"provider": [{
        "slug": "acme", "name": "Acme", "src": [r"ab\.cd/"], "inline": [r"XYZW"], "weak": [r"qqrr"],
        "links": [r"ef-gh"],
    }]})
    assert fp.link_chars == frozenset("ab.cd/ef-gh://")
    assert [search.pattern for search in fp.link_groups] == [b"ef\\-gh"]


def test_needles_keep_their_literals_by_kind_and_test_only_non_ascii_exact_ones_alone() -> None:
    fp = _compile({"provider": [{"slug": "acme", "name": "Acme", "src": [r"ab\.cd"], "inline": [r"XyZw"]}]})
    assert fp.scan_needles.folded == frozenset({"ab.cd"})
    assert fp.scan_needles.exact == frozenset({"XyZw"})
    assert fp.scan_needles.unfolded == ()
    assert FP.scan_needles.unfolded == ()  # the packaged table: every literal in the automaton


@pytest.mark.parametrize("xpath", fingerprints().dom_xpaths, ids=lambda x: x[0][1])  # plain ids: mutmut re-reads them
def test_every_packaged_element_or_attribute_marker_is_read(xpath: Any) -> None:
    """The markers' literals are looked for by one search per group: each marker still shows."""
    (what, name), index, _marker, _literal = xpath
    element = f"<{name}></{name}>" if what == "element" else f"<div {name.upper()}='x'></div>"
    slug = fingerprints().providers[index].slug
    assert slug in chat_values(f"<html><body>{element}</body></html>")


def test_literal_groups_share_a_first_character_and_find_each_member() -> None:
    groups = literal_groups(["<b-x", "<a-y", "c-z", "<a-y"])
    assert [members for _search, members in groups] == [
        (("<a-y", b"<a-y"), ("<b-x", b"<b-x")), (("c-z", b"c-z"),),
    ]
    markup = _Markup(parse_page("<html><body><b-x></b-x><div c-z></div></body></html>", "https://x.test/"), FP)
    assert markup.literals(groups) == {"<b-x", "c-z"}
    markup = _Markup(parse_page("<html><body><a-y></a-y></body></html>", "https://x.test/"), FP)
    assert markup.literals(groups) == {"<a-y"}
    markup = _Markup(parse_page("<html><body><a-yy></a-yy><p>c-</p></body></html>", "https://x.test/"), FP)
    assert markup.literals(groups) == {"<a-y"}  # a literal inside a longer name still counts
    assert _Markup(parse_page("<html><body><p>a-y c z</p></body></html>", "https://x.test/"), FP).literals(groups) == set()


@pytest.mark.parametrize("pattern", FP.links, ids=[f"{FP.providers[p.index].slug}-{n}" for n, p in enumerate(FP.links)])
def test_every_packaged_link_literal_opens_the_link_gate(pattern: Any) -> None:
    """The link literals are looked for by one search per group: each still opens the gate."""
    made = example(pattern.regex.pattern)
    assert made is not None
    href = made if "://" in made else "https://" + made.lstrip("/")
    markup = _Markup(parse_page(f'<html><body><a href="{href}">Chat</a></body></html>', "https://x.test/"), FP)
    assert markup.links is True
    assert FP.providers[pattern.index].slug in chat_values(f'<html><body><a href="{href}">Chat</a></body></html>')
