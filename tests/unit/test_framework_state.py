"""Framework state embedded in the page (__NEXT_DATA__, __NUXT__, __INITIAL_STATE__, __APOLLO_STATE__)
read as data: phones under phone-like keys, emails and messaging links anywhere, labels from keys."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.extract import EXTRACTORS, parse_page
from auditor.extract.context import ExtractContext
from auditor.extract.framework_state import MAX_POINTS, MAX_STATE_CHARS, extract_framework_state
from tests.support.extraction import assert_well_formed, extract_strictly

URL = "https://www.nextfirma.de/kontakt"
SHELL = '<!DOCTYPE html><html><head><title>Kontakt</title></head><body><div id="__next"></div>{}</body></html>'


def found(scripts: str, country: str | None = "DE") -> dict[tuple[str, str], tuple[str | None, str]]:
    points = extract_strictly(SHELL.format(scripts), URL, country)
    return {(cp.kind, cp.value): (cp.label, cp.method) for cp in points}


def next_data(value: object) -> str:
    return f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(value)}</script>'


def test_registered_after_the_markup_extractors() -> None:
    names = [name for name, _ in EXTRACTORS]
    assert "framework-state" in names and names.index("framework-state") > names.index("form")


def test_next_data_gives_phone_email_and_whatsapp_with_labels_from_keys() -> None:
    got = found(next_data({"props": {"pageProps": {"contact": {
        "supportPhone": "030 23125 333", "email": "service@nextfirma.de",
        "whatsapp": "https://wa.me/4915123456789"}}}}))
    assert got[("phone", "+493023125333")] == ("support", "framework-state")
    assert got[("email", "service@nextfirma.de")][1] == "framework-state"
    assert got[("messaging", "https://wa.me/4915123456789")] == ("whatsapp", "framework-state")
    assert ("phone", "+494915123456789") not in got  # the WhatsApp URL is not read as a phone


def test_numbers_under_other_keys_are_not_phones() -> None:
    got = found(next_data({"order": {"id": "4930231253339", "sku": "+49 30 23125 333"}}))
    assert not got


def test_nuxt_function_form_is_read_from_its_literals() -> None:
    got = found("<script>window.__NUXT__=(function(a,b){return {data:[{hotline:\"+36 1 555 0199\","
                " mail:'info@nuxt-ceg.hu'}]}}(1,2));</script>", "HU")
    assert got[("phone", "+3615550199")][0] == "hotline"
    assert ("email", "info@nuxt-ceg.hu") in got


def test_nuxt3_devalue_keys_resolve_through_indexes() -> None:
    data = [{"data": 1}, {"contact": 2}, {"telefon": 3, "url": 4}, "+36 1 555 0198", "https://t.me/nuxtceg"]
    got = found(f'<script type="application/json" id="__NUXT_DATA__">{json.dumps(data)}</script>', "HU")
    assert ("phone", "+3615550198") in got
    assert ("messaging", "https://t.me/nuxtceg") in got


def test_initial_and_apollo_state_json_and_json_parse() -> None:
    got = found('<script>window.__INITIAL_STATE__ = {"shop":{"salesPhone":"+44 20 7946 0123"}};'
                'window.__APOLLO_STATE__ = JSON.parse("{\\"Company:1\\":{\\"email\\":\\"hello@apollo-firm.co.uk\\"}}");'
                "</script>", "GB")
    assert got[("phone", "+442079460123")][0] == "sales"
    assert ("email", "hello@apollo-firm.co.uk") in got


def test_what_the_markup_shows_is_not_repeated() -> None:
    page = parse_page(SHELL.format(next_data({"phone": "030 23125 333"})), URL)
    first = extract_framework_state(page, ExtractContext("DE"))
    assert len(first) == 1
    assert extract_framework_state(page, ExtractContext("DE", found=tuple(first))) == []


def test_bounded_in_size_and_count() -> None:
    many = {f"phone{i}": f"+49 30 23125 {i:03d}" for i in range(300)}
    page = parse_page(SHELL.format(next_data(many)), URL)
    assert len(extract_framework_state(page, ExtractContext("DE"))) == MAX_POINTS
    # A value past the blob's cap is never read.
    padded = next_data({"pad": "x" * MAX_STATE_CHARS, "phone": "030 23125 333"})
    assert ("phone", "+493023125333") not in found(padded)
    # State nested far deeper than the JSON decoder's recursion limit: nothing, no crash.
    deep = "<script>window.__INITIAL_STATE__ = " + '{"phone":' * 5000 + '"1"' + "}" * 5000 + "</script>"
    assert found(deep) == {}


FRAGMENTS = [
    '<script id="__NEXT_DATA__" type="application/json">', "</script>", "<script>window.__NUXT__=",
    "window.__INITIAL_STATE__ = ", "JSON.parse(\"", "\")", "{", "}", "[", "]", '"phone":', "phone:", "'",
    '"', "\\", "\\u00", ",", ":", "+49 30 23125 333", "tel:+4930231253", "info@firma.de", "https://wa.me/",
    "viber://chat?number=%2B", "(function(a){return ", "}(1))", "__NUXT_DATA__", "\x00", "\ufeff", "1e999",
    # Nuxt 2's state function, its parameters bound to the arguments (keys naming a chat app give a link too)
    "(function(a,b,c){return {", "mobile:c", "whatsapp:{number:b}", "viber:a", "}})(", "}}(", '"40723418596"',
    '"+370 612 48730"', "null", "void 0", "))", "function(",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=60).map("".join))
def test_fuzzed_state_never_raises_and_is_well_formed(body: str) -> None:
    html = SHELL.format(body)
    page = parse_page(html, URL)
    points = extract_framework_state(page, ExtractContext("DE"))
    assert_well_formed(points, html, URL)
