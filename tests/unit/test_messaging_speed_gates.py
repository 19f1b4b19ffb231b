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
