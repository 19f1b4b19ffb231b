"""Extraction never raises, whatever a hostile or broken page holds, and what it finds is
well formed: a known kind, a normalized value, raw text that is on the page (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.extract import chat, emails, forms, hours, messaging, parse_page, phones
from auditor.extract.context import ExtractContext
from auditor.extract.region import infer_region
from auditor.harvest.inputs import parse_csv_text, parse_jsonl_text
from tests.support.extraction import assert_well_formed, extract_strictly

URL = "https://www.example-firm.hu/kapcsolat"

FRAGMENTS = [
    "<p>", "</p>", "<div class='footer'>", "</div>", "<a href='tel:+36 1 234 5678'>", "<a href='mailto:",
    "</a>", "<script>", "</script>", "<script type='application/ld+json'>{\"telephone\":", "}",
    "<form action='/x'><textarea name=message>", "</form>", "<span data-cfemail='", "'>", "[at]", "(dot)",
    "06 1 234 5678", "+48 22 123 45 67", "8 (800) 555-35-35", "2024.05.10.", "Mo-Fr 8-17", "24/7",
    "https://wa.me/", "viber://chat?number=%2B", "&#7;", "&#x0;", "\x00", "\ufeff", "<!--", "-->", "<svg onload=x>",
    "<template>", "</template>", "<base href='javascript:x'>", "<a href='//[::1'>", "<a href='http://[bad'>",
    "embed.tawk.to/", "%E2%82", "\U0001f600", "<", ">", "\"", "'", "&", ";",
]

html_like = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40)), max_size=60).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=html_like, country=st.sampled_from([None, "HU", "DE", "PL", "TR", "RU", "GB", "XX"]))
# hours read across two blocks (a day letter, then a textarea's text): raw quotes both pieces
@example(body="C<form action='/x'><textarea name=message></p>24/7", country=None)
def test_extract_page_never_raises(body: str, country: str | None) -> None:
    # Each extractor directly: extract_contacts() guards them, which would hide a raise.
    page = parse_page(body, URL)
    found = phones.extract_phones(page, ExtractContext(infer_region(page, country))) + emails.extract_emails(page) + chat.extract_chat(page)
    found += messaging.extract_messaging(page) + forms.extract_forms(page)
    found += hours.extract_hours(page, ExtractContext(found=tuple(found)))
    assert_well_formed(found, body, URL)
    # And through extract_page, whose guard must have had nothing to catch.
    assert sorted(map(repr, extract_strictly(body, URL, country))) == sorted(map(repr, found))


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=2000))
def test_extract_page_on_arbitrary_bytes(body: bytes) -> None:
    extract_strictly(body, "https://www.example.de/", "DE")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=500))
def test_company_list_parsers_never_raise(text: str) -> None:
    for result in (parse_csv_text("name,website\n" + text), parse_jsonl_text(text)):
        for error in result.errors:
            assert error.row >= 1 and error.tag and error.message
