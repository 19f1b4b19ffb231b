"""Third parties' entries found in Lexbor's document are the ones found in its lxml copy.

``parse_page`` reads a page with a web agency's, host's or authority's entry from Lexbor's
tree (``auditor.extract.sections.find_lexbor_sections``) as it reads the others; the copy
(``_build``) finds the entries with XPath. Both must give the same blocks, regions and links,
whatever the markup around the entries (hypothesis draws pages from pieces that matter: text
runs merged across comments the copy drops, skipped parents, headings and their siblings).
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.extract import page as P
from tests.unit.test_page_lexbor import _both, _fields

URL = "https://www.pixelwerk-agentur.de/impressum"

PIECES = [
    "<p>", "</p>", "<div>", "</div>", "<div class='footer'>", "<section>", "</section>", "<h2>", "</h2>",
    "<dl><dt>", "</dt><dd>", "</dd></dl>", "<ul><li>", "</li><li>", "</li></ul>", "<span>", "</span>",
    "<b>", "</b>", "<br>", "<footer>", "</footer>", "<nav>", "</nav>", "<table><tr><td>", "</td></tr></table>",
    "<script>Hosting: x</script>", "<svg><title>Hosting:</title></svg>", "<noscript>Webdesign: n</noscript>",
    "<!-- a--b -->", "<!-- ok -->", "<!--x-->", "<template><p>Hosting: t</p></template>",
    "Hosting:", "Hosting", "Webdesign: Agentur X", "Webdesign &amp; Umsetzung", "Tárhelyszolgáltató:",
    "Hosting packages", "Hosting-Support:", "Pixelwerk Agentur", "Tel. +49 30 1234567", "info@host.de",
    "<a href='https://host.example/'>Host GmbH</a>", "<a href='tel:+49301234567'>call</a>", "&nbsp;",
    "\u200b", "&#8203;", "  \n ", "Hosting\u00a0–\u00a0Provider", "Fotos: Studio Z", "Design by Studio",
]

pages = st.lists(st.sampled_from(PIECES), max_size=40).map(lambda parts: "<html><body>" + "".join(parts) + "</body></html>")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=pages)
@example(html="<html><body><p>Tel. 1</p><p>Host<!-- a--b -->ing: Host GmbH</p><h2>Hosting</h2><p>Host GmbH</p></body></html>")
@example(html="<html><body><dl><dt>Hosting</dt><dd>H</dd><dt>Design</dt><dd>D</dd></dl><div><b>Webdesign</b></div></body></html>")
def test_entries_read_from_lexbor_are_the_copys(html: str) -> None:
    fast, copy = _both(html, URL)
    if fast is not None:
        assert _fields(fast) == _fields(copy)


def test_a_page_with_an_entry_is_read_from_lexbor() -> None:
    html = "<html><body><p>Tel: +36 1 234 5678</p><p>Tárhelyszolgáltató: Host Kft., +36 1 999 9999</p></body></html>"
    page = P._build_from_lexbor(html, "https://www.firma.hu/")
    assert page is not None
    assert [b.region for b in page.blocks] == ["main", P.THIRD_PARTY]


def test_a_region_inside_an_entry_stays_the_entrys() -> None:
    # a heading with no sibling after it: the entry is the box around it, the footer-like box included
    html = ("<html><body><p>Tel: 1</p><div><div class='footer'><a href='/h'>Host</a> x</div><h3>Hosting</h3></div>"
            "<footer><a href='/f'>F</a></footer></body></html>")
    page = P._build_from_lexbor(html, "https://www.firma.hu/")
    copy = P._build(P._parse_html(html), "https://www.firma.hu/", html)
    assert page is not None and page.links == copy.links
    assert {link.raw_href: link.region for link in page.links} == {"/h": P.THIRD_PARTY, "/f": "footer"}
