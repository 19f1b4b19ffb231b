"""Messaging's gates: a widget's attribute is asked of the tree only where the markup names it.

The gate must let through every way of writing the attribute's name that the parser
reads as that attribute, so tightening it makes one of these fail.
"""

from __future__ import annotations

import pytest

from auditor.extract import extract_page
from auditor.extract.widget_config import _named

SETTINGS = "'{&quot;telephone&quot;:&quot;34612345678&quot;}'"


@pytest.mark.parametrize("name", ["data-settings", "DATA-SETTINGS", "Data-Settings", "data-setTINGS"])
def test_the_widget_attribute_is_read_in_any_ascii_case(name: str) -> None:
    html = f"<html><body><div class=\"joinchat\" {name}={SETTINGS}></div></body></html>"
    found = [p.value for p in extract_page(html, "https://www.example.es/") if p.kind == "messaging"]
    assert found == ["https://wa.me/34612345678"]


def test_a_page_without_the_attribute_name_is_not_asked() -> None:
    """The gate itself: an attribute with another name never matches the search."""
    named = _named("data-settings")
    assert named.search("<div data-SETTINGS='x'>") is not None
    assert named.search("<div data-setting='x' settings='y'>") is None
    assert _named("settings").search("<div SETTINGS='x'>") is not None  # no '-': the whole name


def _messaging(body: str) -> list[str]:
    html = f"<html><body>{body}</body></html>"
    return [p.value for p in extract_page(html, "https://www.example.es/") if p.kind == "messaging"]


def test_only_the_links_holding_a_platform_word_are_read_in_page_order() -> None:
    body = (
        '<a href="/kontakt">Kontakt</a>'
        '<a href="https://wa.me/36201234567">WhatsApp</a>'
        '<a href="/rolunk">Rólunk</a>'
        '<a href="https://t.me/acme_shop">Telegram</a>'
        '<a href="https://wa.me/36201234567?text=hi">again</a>'
        '<a href="viber://chat?number=%2B36201234568">Viber</a>'
        '<a href="https://api.whatsapp.com/send?phone=36209876543">WhatsApp 2</a>'
    )
    assert _messaging(body) == [
        "https://wa.me/36201234567",
        "https://t.me/acme_shop",
        "viber://chat?number=%2B36201234568",
        "https://wa.me/36209876543",
    ]


def test_a_link_after_one_that_lower_cases_longer_is_still_read() -> None:
    """İ lower-cases to two characters: positions in the lower-cased hrefs shift past the link."""
    body = (
        f'<a href="https://www.example.es/{"İ" * 60}">İstanbul</a>'
        '<a href="https://wa.me/36201234567">WhatsApp</a>'
        + "".join(f'<a href="https://www.example.es/p{i}">{i}</a>' for i in range(5))
    )
    assert _messaging(body) == ["https://wa.me/36201234567"]


def test_a_raw_href_with_a_word_its_resolved_href_lacks_is_read() -> None:
    # written without a scheme: the href resolves against the page, the raw one names the host
    assert _messaging('<a href="wa.me/36201234567">WhatsApp</a>') == ["https://wa.me/36201234567"]


def test_links_far_apart_and_side_by_side_keep_page_order() -> None:
    filler = "".join(f'<a href="/p{i}">{i}</a>' for i in range(6))
    body = (
        '<a href="/">Home</a><a href="https://wa.me/36201111111">A</a>' + filler
        + '<a href="https://wa.me/36202222222">B</a><a href="https://wa.me/36203333333">C</a>'
    )
    assert _messaging(body) == [
        "https://wa.me/36201111111", "https://wa.me/36202222222", "https://wa.me/36203333333"
    ]


def _telegram(body: str) -> list[str]:
    html = f"<html><body>{body}</body></html>"
    return [p.value for p in extract_page(html, "https://t.me/acme_shop") if p.kind == "messaging"]


def test_a_word_only_the_resolved_href_holds_is_read_at_its_own_link() -> None:
    """On a page of the platform's own site a relative link's word is in its href alone, at the
    start of the link's stretch: each occurrence must map back to its own link."""
    body = "".join(f'<a href="/chan_{i:02d}">{i}</a>' for i in range(12))
    assert _telegram(body) == [f"https://t.me/chan_{i:02d}" for i in range(12)]


def test_a_word_at_the_very_start_of_a_link_is_read_at_that_link() -> None:
    assert _messaging('<a href="/">Home</a><a href="tg://resolve?domain=acme_shop">Telegram</a>') == [
        "https://t.me/acme_shop"
    ]


def test_with_a_longer_lower_case_each_link_is_tested_href_and_raw_href() -> None:
    body = f'<a href="/{"İ" * 60}">İ</a><a href="/other_chan">Other</a>'
    assert _telegram(body) == ["https://t.me/other_chan"]
