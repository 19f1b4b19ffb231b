"""The page parser: block boundaries, regions, links, scripts, forms, encodings."""

import pytest

from auditor.extract.page import _CONTROL, _has_control, parse_page
from tests.support.extraction import extract_strictly


def test_inline_fragments_join_but_blocks_do_not() -> None:
    page = parse_page(
        "<p>Hotline: <span>+36 1</span><span> 234 5678</span></p><div>06 1</div><div>234 5678</div>",
        "https://x.hu/",
    )
    texts = [b.text for b in page.blocks]
    assert "Hotline: +36 1 234 5678" in texts
    assert "06 1" in texts and "234 5678" in texts


def test_regions_links_and_scripts() -> None:
    page = parse_page(
        '<header><a href="/kapcsolat">Kapcsolat</a></header><main><p>x</p></main>'
        '<div class="site-footer"><a href="impressum">Impressum</a></div>'
        '<script src="//code.tidio.co/abc.js"></script><script>var a=1;</script>',
        "https://www.x.hu/a/",
    )
    regions = {link.text: (link.href, link.region) for link in page.links}
    assert regions["Kapcsolat"] == ("https://www.x.hu/kapcsolat", "header")
    assert regions["Impressum"] == ("https://www.x.hu/a/impressum", "footer")
    assert page.scripts[0].src == "https://code.tidio.co/abc.js"
    assert page.scripts[1].text == "var a=1;"
    assert "var a" not in page.text


def test_declared_charset_is_honoured() -> None:
    body = '<meta charset="windows-1250"><p>Elérhetőség</p>'.encode("cp1250")
    page = parse_page(body, "https://x.hu/")
    assert "Elérhetőség" in page.text


def test_header_charset_beats_nothing_and_utf8_bom() -> None:
    body = "\ufeff<p>Контакты</p>".encode()
    assert "Контакты" in parse_page(body, "https://x.ru/").text
    body = "<p>Контакты</p>".encode("koi8-r")
    assert "Контакты" in parse_page(body, "https://x.ru/", "text/html; charset=koi8-r").text


@pytest.mark.parametrize(("body", "texts"), [
    (b"", []),
    (b"\x00\x01\x02", []),  # control characters dropped
    (b"<<<>>>", ["<<<>>>"]),  # not markup: text
    (b"\xff\xfe\x00<", ["\u3c00"]),  # a UTF-16 byte order mark is honoured
    ("<p>" * 5000, []),
], ids=["empty", "controls", "angle-brackets", "utf-16-bom", "5000-open-p"])
def test_garbage_parses_to_its_text_and_no_contact_point(body: bytes | str, texts: list[str]) -> None:
    page = parse_page(body, "https://x.hu/")
    assert [b.text for b in page.blocks] == texts
    assert page.links == [] and page.scripts == [] and page.url == "https://x.hu/"
    assert extract_strictly(body, "https://x.hu/", "HU") == []


def test_a_number_after_garbage_is_still_found() -> None:
    body = "<p>" * 5000 + "\x00<<<>>>&#7;<div>Tel.: 06 1 234 5678</div>"
    found = extract_strictly(body, "https://x.hu/", "HU")
    assert [(cp.kind, cp.value, cp.raw) for cp in found] == [("phone", "+3612345678", "06 1 234 5678")]


def test_structured_data_is_lazy_and_tolerant() -> None:
    page = parse_page(
        '<script type="application/ld+json">{"@type":"Organization","telephone":"+36 1 234 5678"}</script>'
        '<script type="application/ld+json">{broken</script>',
        "https://x.hu/",
    )
    items = page.structured["json-ld"]
    assert any(item.get("telephone") == "+36 1 234 5678" for item in items)


def test_control_character_references_do_not_raise() -> None:
    for body in ("&#7", "<p>&#1;x</p>", "<script>&#7;</script><p>a&#8;b</p>", "<p title='&#2;'>t</p>"):
        page = parse_page(body, "https://x.hu/")
        assert "\x07" not in page.text and "\x08" not in page.text


def test_misdeclared_header_charset_falls_back_to_the_page() -> None:
    body = '<meta charset="windows-1250"><p>Ügyfélszolgálat, Těšíme se</p>'.encode("cp1250")
    page = parse_page(body, "https://x.cz/", "text/html; charset=utf-8")
    assert "Ügyfélszolgálat" in page.text and "Těšíme" in page.text


def test_the_control_character_test_agrees_with_the_pattern() -> None:
    for code in range(0x2100):
        text = f"Tel. 06 1{chr(code)}234 5678"
        assert _has_control(text) == bool(_CONTROL.search(text)), hex(code)


def test_control_characters_are_dropped_before_parsing() -> None:
    page = parse_page(b"<p>Tel.\x0706 1 234 5678\x1f</p>", "https://example.hu/")
    assert [b.text for b in page.blocks] == ["Tel.06 1 234 5678"]
