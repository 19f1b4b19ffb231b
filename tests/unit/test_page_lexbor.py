"""The page model read from Lexbor's tree equals the one read from its lxml copy.

``parse_page`` reads most pages straight from Lexbor's nodes (no lxml copy: several times
cheaper) and gives the others the copy (see ``auditor.extract.page._build_from_lexbor``).
Both readings must yield the same model: every field and every query the extractors ask,
on every corpus and holdout page and on pitfall pages built for the differences.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.extract import page as P

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

PITFALLS = {
    "regions": """<html lang=" de-AT "><body><div class="site-header"><a href="/a">A</a> head</div>
        <main><p>Body <a href="tel:+4312345678" title="Call">call</a></p>
        <div role="navigation"><a href="/n">N</a></div><section id="Footer-Bottom"><p>foot</p>
        <nav><a href="/x">inner nav</a></nav></section></main>
        <svg class="footer-icon"><title>icon</title></svg> after svg
        <a class="menu-link" href="/m">root link</a><span class="topbar">t</span>x</body></html>""",
    "hidden": """<html><head><title> The  title </title><meta http-equiv="Content-Language" content="hu">
        <link rel="Alternate" hreflang="en" href="/en"><base href="https://other.example/base/"></head><body>
        <noscript><a href="https://tawk.to/chat/abc">chat</a></noscript>
        <template><a href="/t">t</a><form action="/tf"></form></template>
        <object><a href="/o">o</a></object><video><a href="/v">v</a></video>
        <a href="rel/x">visible</a><a href=" ">blank</a><a>none</a></body></html>""",
    "forms": """<html><body><form action="send" method="POST" class="f"><label for="e">E-mail</label>
        <input id="e" name="email" type="Email"><label>Msg <textarea name="m"></textarea></label>
        <div class="g-recaptcha" data-sitekey="x"></div><select name="s"><option>1</option></select></form>
        tail text<!-- c --> more<p>next</p><form></form>end</body></html>""",
    "contacts": """<html><body><i class="icon-Phone"></i><span class="x">no</span>
        <a href=" TEL:+36 1 234 5678" aria-label="Hívjon">06 1 234 5678</a><button href="mailto:a@b.hu">m</button>
        <img src="/img/mail.png" alt="info@firma.hu"><meta itemprop="telephone" content="+3612345678">
        <meta itemprop="email" content><div data-phone="+36 30 123 4567" title="Mobil">x</div>
        <span data-email="x@y.hu" class="mail">y</span>
        <span data-user="info" data-domain="firma.hu">z</span>
        <joomla-hidden-mail first="aW5mbw==" last="ZmlybWEuaHU=">j</joomla-hidden-mail>
        <span data-cfemail="abcdef">[email protected]</span><iframe data-src="https://c.example/w"></iframe></body></html>""",
    "bare-contacts": """<html><body><a title="+36 1 234 5678"><i class="fa-phone"></i></a><span title="+36 1 999 9999">s</span>
        <svg><a href="tel:+3612345678" title="Hívás">x</a></svg><button title="Tel +36 30 123 4567"><svg></svg><img alt="mail"></button>
        <a href="callto:+3612345678" title="c">c</a><img src="/i/phone.svg" alt="+36 1 222 3333"><i id="" class="">e</i>
        <a href=" TEL:+3612345678" class="Btn-Phone" title="both">b</a><span class="TELEFON" title="+36 1 444 5555">u</span>
        <span class="Icon-MAIL" title="info@firma.hu">m</span><a href="/tel:x" title="+36 1 777 8888">p</a></body></html>""",
    "control-contacts": """<html><body><span class="pho&#1;ne" title="+36 1 234 5678">c</span>
        <a href="te&#2;l:+3612345678" title="t">t</a><span class="x" title="+36 1 999 9999">x</span></body></html>""",
    "pairs": """<html><body><p><span>E-posta</span><span>name@firma.com.tr</span></p>
        <p><b>info</b><b>@firma.hu</b></p><a href="mailto:x@firma.hu" title="t"><i>Mail</i><!-- a--b --><u>x@firma.hu</u></a>
        <form><label>Posta<i>E</i><b>f@firma.hu</b></label><input name="e" id="e"></form>
        <div class="phone-box"><span class="x">Tel</span><span class="mail-x">k@firma.hu</span></div>
        <svg><a><b>hidden</b><i>h@firma.hu</i></a></svg><span>Hosting</span><span>x@host.hu</span></body></html>""",
    "invisible": """<html><body><p>+49 69 630&#8203;2-309&nbsp;x&shy;y</p><p style="direction: rtl">z</p>
        <p @click="go" :href="x" data-ok="1" class="a&#1;b">ctl</p></body></html>""",
    "odd": """<html><body><foo:bar class="nav-x">custom<a href="/f">f</a></foo:bar><my-el id="header">h</my-el>
        <table><tr><td>cell</td></tr>foster</table><p>unclosed<li>item<option>o</p>
        <script type="application/ld+json">{"@type": "Organization", "telephone": "+3612345678"}</script>
        <script src="/app.js" async defer data-x></script><style>.x{}</style></body></html>""",
    "reversed": """<html><head><style>.rev{unicode-bidi:bidi-override; direction:RTL} .x{color:red}, {}</style></head><body>
        <p>Mail: <span class="a rev">uh.amrif@ofni</span></p><p style="direction: rtl; unicode-bidi: bidi-override">
        <a href="tel:+3612345678" class="phone">8765 432 1 63+</a><i class="rev">x</i></p><span>E-posta</span><span class="rev">
        uh.amrif@eman</span><div class="Rev">not reversed</div><p style="unicode-bidi: bidi-override">ltr</p></body></html>""",
    "third-party": """<html><body><p>Tel: +36 1 234 5678</p><p>Tárhelyszolgáltató: Host Kft., +36 1 999 9999</p></body></html>""",
}


def _fields(page: P.ParsedPage) -> dict[str, Any]:
    return {
        "blocks": page.blocks, "links": page.links, "scripts": page.scripts, "forms": page.forms,
        "form_markups": [form.markup for form in page.forms],  # not a compared field: made on first read
        "cfemails": page.cfemails, "lang": page.lang, "hreflangs": page.hreflangs, "title": page.title,
        "class_values": page.class_values, "id_values": page.id_values,
    }


def _queries(page: P.ParsedPage) -> dict[str, Any]:
    return {
        "attribute_values": [page.attribute_values(n) for n in ("data-rot13", "class", "data-phone", "href")],
        "attribute_pairs": [page.attribute_pairs("data-user", "data-domain"),
                            page.attribute_pairs("first", "last", "joomla-hidden-mail")],
        "contact_attributes": page.contact_attributes(),
        "has_attribute": [page.has_attribute(n) for n in ("data-cfemail", "itemscope", "data-sitekey", "onclick")],
        "has_element": [page.has_element(t) for t in ("iframe", "noscript", "my-el", "svg", "template")],
        "frame_sources": page.frame_sources(),
        "anchor_hrefs": page.anchor_hrefs(),
        "text_around": [page.text_around("data-cfemail", value) for value, _ in page.cfemails],
        "structured": page.structured,
    }


def _both(html: str, url: str) -> tuple[P.ParsedPage | None, P.ParsedPage]:
    return P._build_from_lexbor(html, url), P._build(P._parse_html(html), url, html)


def _pages() -> list[tuple[str, str, str]]:
    out = []
    for folder in ("pages", "holdout"):
        for path in sorted((FIXTURES / folder).glob("*.html")):
            truth = json.loads(path.with_suffix(".json").read_text("utf-8"))
            html = P.decode_body(path.read_bytes())
            out.append((f"{folder}/{path.stem}", html, truth["url"]))
    return out


@pytest.mark.parametrize(("name", "html", "url"), _pages(), ids=lambda v: v if "/" in str(v)[:20] else "")
def test_corpus_page_reads_the_same(name: str, html: str, url: str) -> None:
    fast, copy = _both(html, url)
    if fast is None:
        pytest.skip("read from the copy")
    assert _fields(fast) == _fields(copy)
    assert _queries(fast) == _queries(copy)


def test_most_corpus_pages_take_the_lexbor_reading() -> None:
    pages = _pages()
    fast = sum(P._build_from_lexbor(html, url) is not None for _name, html, url in pages)
    assert fast >= 0.8 * len(pages)


@pytest.mark.parametrize("name", sorted(PITFALLS))
def test_pitfall_page_reads_the_same(name: str) -> None:
    html = PITFALLS[name]
    fast, copy = _both(html, "https://www.firma.hu/kapcsolat")
    page = P.parse_page(html, "https://www.firma.hu/kapcsolat")
    assert _fields(page) == _fields(copy)
    assert _queries(page) == _queries(copy)
    if fast is not None:
        assert _fields(fast) == _fields(copy)


def test_pages_the_lexbor_reading_cannot_model_take_the_copy() -> None:
    url = "https://www.firma.hu/"
    reversed_rule = '<style>p > .rev{unicode-bidi:bidi-override;direction:rtl}</style><p><b class="rev">321</b></p>'
    assert P._build_from_lexbor(reversed_rule, url) is None  # a selector only cssselect reads exactly
    deep = "<div>" * 300 + "x" + "</div>" * 300
    assert P._build_from_lexbor(deep, url) is None
    for name in ("regions", "hidden", "forms", "contacts", "odd", "third-party", "pairs", "reversed"):
        assert P._build_from_lexbor(PITFALLS[name], url) is not None, name


def test_the_lexbor_reading_keeps_regions_and_hidden_links() -> None:
    page = P.parse_page(PITFALLS["regions"], "https://www.firma.hu/")
    regions = {b.text: b.region for b in page.blocks}
    assert regions["A head"] == "header"
    assert regions["N"] == "nav"
    assert regions["foot"] == "footer"
    assert regions["inner nav"] == "footer"  # the outermost region names it
    assert {link.raw_href: link.region for link in page.links}["/m"] == "nav"
    hidden = P.parse_page(PITFALLS["hidden"], "https://www.firma.hu/")
    assert [link.raw_href for link in hidden.links] == ["rel/x"]
    assert hidden.links[0].href == "https://other.example/base/rel/x"
    assert "https://tawk.to/chat/abc" in hidden.anchor_hrefs()
    assert hidden.title == "The title" and hidden.lang == "hu" and hidden.hreflangs == ("en",)


def test_a_lexbor_read_page_still_hands_out_its_lxml_tree() -> None:
    page = P.parse_page(PITFALLS["regions"], "https://www.firma.hu/")
    assert page._lexbor is not None
    assert page.tree is not None and page.tree.tag == "html"  # copied on first use
    assert page.tree is page.tree
    assert [a.get("href") for a in page.tree.iter("a")][:2] == ["/a", "tel:+4312345678"]
