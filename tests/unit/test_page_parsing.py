"""Pitfall pages for the parser: the page model reads what a browser builds.

Each page is small inline HTML a WHATWG parser (every browser's) and libxml2 read
differently, or that hides a contact from naive text matching. Each test asserts the
block text the extractors read and that the phone or email inside is found.
"""

from __future__ import annotations

import pytest

from auditor.extract import extract_page, parse_page

URL = "https://www.firma.de/kontakt"
PHONE = "+49 30 25894410"
PHONE_E164 = "+493025894410"
EMAIL = "info@firma.de"


def blocks(html: str) -> list[str]:
    return [b.text for b in parse_page(html.encode(), URL).blocks]


def found(html: str, url: str = URL, country: str = "DE") -> set[str]:
    return {c.value for c in extract_page(html.encode(), url, country)}


# --- void and obsolete elements: nothing after them is swallowed -----------------------------

@pytest.mark.parametrize("void", ["<embed src=x>", "<param name=a value=b>", "<source src=x>",
                                  "<track src=x>", "<wbr>", "<keygen name=k>"])
def test_void_elements_do_not_swallow_what_follows(void: str) -> None:
    html = f"<html><body>{void}<div>Telefon {PHONE}</div><div>E-Mail {EMAIL}</div></body></html>"
    assert blocks(html) == [f"Telefon {PHONE}", f"E-Mail {EMAIL}"]
    assert {PHONE_E164, EMAIL} <= found(html)


def test_embed_keeps_body_visible() -> None:
    """libxml2 nested the div inside <embed> and the page model dropped the body."""
    html = "<body><embed src=x><div>t</div></body>"
    assert blocks(html) == ["t"]


# --- unclosed elements --------------------------------------------------------------------------

def test_unclosed_p_li_td_option() -> None:
    html = (
        f"<body><p>Telefon {PHONE}<p>E-Mail {EMAIL}"
        "<ul><li>Mo-Fr<li>Sa</ul>"
        "<table><tr><td>Fax<td>+49 30 25894411</table>"
        "<select><option>A<option>B</select></body>"
    )
    assert blocks(html) == [f"Telefon {PHONE}", f"E-Mail {EMAIL}", "Mo-Fr", "Sa", "Fax",
                            "+49 30 25894411", "A", "B"]
    assert {PHONE_E164, EMAIL} <= found(html)


def test_misnested_inline_tags() -> None:
    """The adoption agency: <b><i>..</b>..</i> keeps every piece of text, in order."""
    html = f"<body><p><b>Telefon <i>{PHONE}</b> E-Mail</i> {EMAIL}</p></body>"
    assert blocks(html) == [f"Telefon {PHONE} E-Mail {EMAIL}"]
    assert {PHONE_E164, EMAIL} <= found(html)


def test_end_br_is_a_line_break() -> None:
    """``</br>`` is a ``<br>`` to a browser: the two lines never join."""
    html = f"<body><p>Telefon {PHONE}</br>E-Mail {EMAIL}</p></body>"
    assert blocks(html) == [f"Telefon {PHONE}", f"E-Mail {EMAIL}"]
    assert {PHONE_E164, EMAIL} <= found(html)


def test_text_foster_parented_out_of_a_table() -> None:
    """Text directly in <table> is moved before the table, as browsers show it."""
    html = f"<body><table>Telefon {PHONE}<tr><td>E-Mail {EMAIL}</td></tr></table></body>"
    assert blocks(html) == [f"Telefon {PHONE}", f"E-Mail {EMAIL}"]
    assert {PHONE_E164, EMAIL} <= found(html)


# --- content a visitor never sees, and markup inside comments --------------------------------

def test_template_content_is_not_read() -> None:
    html = f"<body><template><p>Telefon +49 30 25894499</p></template><p>Telefon {PHONE}</p></body>"
    assert blocks(html) == [f"Telefon {PHONE}"]
    assert found(html) == {PHONE_E164}


def test_video_and_audio_fallback_is_not_read() -> None:
    # Every current browser replaces the element with its player: the fallback is never shown.
    html = ("<body><video controls><source src='/a.mp4'><p>Ihr Browser kann das nicht: 030 1234567</p>"
            "</video><audio><p>Kein Audio</p></audio><p>Nach dem Video</p></body>")
    text = parse_page(html, URL).text
    assert "Ihr Browser" not in text and "Kein Audio" not in text and "Nach dem Video" in text


def test_noscript_is_raw_text_to_a_visitor_with_scripts() -> None:
    html = f"<body><noscript><p>Telefon +49 30 25894499</p></noscript><p>E-Mail {EMAIL}</p></body>"
    assert blocks(html) == [f"E-Mail {EMAIL}"]
    assert found(html) == {EMAIL}


def test_markup_inside_comments_is_not_read() -> None:
    html = f"<body><!-- <p>Telefon +49 30 25894499</p> --><p>Telefon {PHONE}</p><!-- a -- b --></body>"
    assert blocks(html) == [f"Telefon {PHONE}"]
    assert found(html) == {PHONE_E164}


# --- invisible and format characters ---------------------------------------------------------

INVISIBLE = {
    "zwsp": "\u200b", "zwnj": "\u200c", "zwj": "\u200d", "word-joiner": "\u2060",
    "soft-hyphen": "\u00ad", "bom": "\ufeff", "lrm": "\u200e", "rlm": "\u200f",
    "lre": "\u202a", "rle": "\u202b", "pdf": "\u202c", "lro": "\u202d", "rlo": "\u202e",
    "lri": "\u2066", "rli": "\u2067", "fsi": "\u2068", "pdi": "\u2069",
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_inside_a_number_and_an_address(char: str) -> None:
    html = f"<body><p>Telefon +49 69 630{char}2-309</p><p>E-Mail in{char}fo@fir{char}ma.de</p></body>"
    assert blocks(html) == ["Telefon +49 69 6302-309", f"E-Mail {EMAIL}"]
    assert {"+49696302309", EMAIL} <= found(html)


@pytest.mark.parametrize("ref", ["&#8203;", "&shy;", "&zwj;", "&#x2060;", "&lrm;"])
def test_invisible_characters_written_as_references(ref: str) -> None:
    html = f"<body><p>Telefon +49 69 630{ref}2-309</p></body>"
    assert blocks(html) == ["Telefon +49 69 6302-309"]
    assert "+49696302309" in found(html)


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2007", "&nbsp;"])
def test_nbsp_variants_are_spaces(space: str) -> None:
    html = f"<body><p>Telefon +49{space}30{space}25894410</p></body>"
    assert blocks(html) == [f"Telefon {PHONE}"]
    assert PHONE_E164 in found(html)


def test_css_reversed_text_is_read_as_shown() -> None:
    html = ('<body><p>E-Mail <span style="direction: rtl; unicode-bidi: bidi-override">'
            "ed.amrif@ofni</span></p></body>")
    assert blocks(html) == [f"E-Mail {EMAIL}"]
    assert found(html) == {EMAIL}


def test_text_reversed_by_the_pages_own_style_rule_is_read_as_shown() -> None:
    """The reversal given by a class or an id in a <style> rule, not inline (both declarations in one rule)."""
    html = ("<head><style>.rev{unicode-bidi:bidi-override;direction:rtl;display:inline-block}"
            "p#m, .x { direction : RTL ; unicode-bidi : bidi-override }</style></head>"
            '<body><p>E-Mail <span class="note rev">ed.amrif@ofni</span></p>'
            '<p id="m">ed.amrif@ofni</p><p class="other">ed.amrif@ofni</p></body>')
    assert blocks(html) == [f"E-Mail {EMAIL}", EMAIL, "ed.amrif@ofni"]
    assert found(html) == {EMAIL}


def test_a_reversing_rule_the_page_never_applies_reverses_nothing() -> None:
    """Decoys: a rule with only one of the two declarations, a :hover rule, a rule for another class."""
    html = ("<head><style>.a{direction:rtl}.b{unicode-bidi:bidi-override}.c:hover{direction:rtl;"
            "unicode-bidi:bidi-override}.d{direction:rtl;unicode-bidi:bidi-override}</style></head>"
            f'<body><p class="a">{EMAIL}</p><p class="b">{EMAIL}</p><p class="c">{EMAIL}</p></body>')
    assert blocks(html) == [EMAIL, EMAIL, EMAIL]


def test_rtl_without_override_is_not_reversed() -> None:
    html = f'<body><p>E-Mail <span style="direction: rtl">{EMAIL}</span></p></body>'
    assert blocks(html) == [f"E-Mail {EMAIL}"]


# --- element boundaries ----------------------------------------------------------------------

def test_label_element_then_address_element_never_merge() -> None:
    html = "<body><p><span>E-posta</span><span>satis@firma.com.tr</span></p></body>"
    assert blocks(html) == ["E-posta satis@firma.com.tr"]
    assert found(html, "https://www.firma.com.tr/iletisim", "TR") == {"satis@firma.com.tr"}


def test_pieces_of_one_address_stay_joined() -> None:
    html = "<body><p>E-Mail: <b>info</b><b>@firma.de</b></p></body>"
    assert blocks(html) == [f"E-Mail: {EMAIL}"]
    assert found(html) == {EMAIL}


def test_block_elements_are_boundaries() -> None:
    html = f"<body><div>Telefon</div><div>{PHONE}</div><div>E-Mail</div><div>{EMAIL}</div></body>"
    assert blocks(html) == ["Telefon", PHONE, "E-Mail", EMAIL]
    assert {PHONE_E164, EMAIL} <= found(html)


def test_declared_windows_1251_but_utf8_bytes_is_read_to_the_end() -> None:
    """UTF-8 bytes declared windows-1251: decoded as declared (as a browser does), and the
    byte 0x98 (undefined in windows-1251, inside UTF-8 "И") never stops the reading."""
    html = f'<html><head><meta charset="windows-1251"></head><body><p>Информация</p><p>Telefon {PHONE}</p></body></html>'
    body = html.encode("utf-8")
    page = parse_page(body, URL, "text/html; charset=windows-1251")
    assert [b.text for b in page.blocks][1:] == [f"Telefon {PHONE}"]
    assert PHONE_E164 in {c.value for c in extract_page(body, URL, "DE", "text/html; charset=windows-1251")}


def test_windows_1251_bytes_declared_utf8_are_read_as_windows_1251() -> None:
    html = '<html><head><meta charset="windows-1251"></head><body><p>Телефон 030 25894410</p></body></html>'
    page = parse_page(html.encode("cp1251"), URL, "text/html; charset=utf-8")
    assert [b.text for b in page.blocks] == ["Телефон 030 25894410"]


@pytest.mark.parametrize("tag", ["div", "b", "span"])
def test_deeply_nested_page_is_read_whole(tag: str) -> None:
    """Past the depth cap, elements become siblings (as browsers cap depth): nothing is lost
    and the libxslt text pass never exceeds its recursion limit."""
    html = f"<body>{f'<{tag}>' * 5000}Telefon {PHONE}{f'</{tag}>' * 5000}<p>E-Mail {EMAIL}</p></body>"
    assert blocks(html)[-1] == f"E-Mail {EMAIL}"
    assert {PHONE_E164, EMAIL} <= found(html)


def test_hostile_nesting_is_flattened_before_parsing_and_still_read() -> None:
    # A WHATWG parser slows with the square of the depth: tags past the cap become breaks
    # before it runs (a linear pass), and the text inside stays readable.
    from auditor.extract.tree import DEEP_SCAN_TAGS, MAX_SOURCE_DEPTH, _flatten_deep

    n = max(DEEP_SCAN_TAGS, 3 * MAX_SOURCE_DEPTH)
    html = "<body>" + "<div>" * n + f"<p>Telefon {PHONE}</p>" + "</div>" * n + "</body>"
    flat = _flatten_deep(html)
    assert flat.count("<div>") == MAX_SOURCE_DEPTH - 1  # <body> holds the first level
    assert flat.count("</div>") == MAX_SOURCE_DEPTH - 1
    assert found(html) == {PHONE_E164}
    shallow = "<body>" + "<p>a</p>" * (DEEP_SCAN_TAGS // 2) + "</body>"
    assert _flatten_deep(shallow) is shallow  # many tags, no depth: untouched
