"""Patterns real sites use that the blind holdout's twelfth batch showed missed.

These fixes were tuned on the holdout (the ``*-12-*`` pages); the pitfalls below are
written for these tests and are not copies of those pages: a click-to-chat number kept
in framework state, Nuxt 2's state function with its values as arguments, Japanese
service hours, and a quote-request form that answers by email.
"""

from __future__ import annotations

import json
import time

import pytest

from auditor.extract import extract_page
from auditor.extract.forms import classify, extract_forms
from auditor.extract.framework_state import extract_framework_state, state_strings
from auditor.extract.hours import parse_text, render
from auditor.extract.page import parse_page
from auditor.models import ContactPoint
from tests.support.extraction import extract_strictly

URL = "https://www.kliens-bolt.hu/kapcsolat"
SHELL = '<!DOCTYPE html><html><head><title>Kapcsolat</title></head><body><div id="__next"></div>{}</body></html>'


def _found(scripts: str, country: str | None = "HU") -> dict[tuple[str, str], tuple[str | None, str]]:
    points = extract_strictly(SHELL.format(scripts), URL, country)
    return {(cp.kind, cp.value): (cp.label, cp.method) for cp in points}


def _next_data(value: object) -> str:
    return f'<script id="__NEXT_DATA__" type="application/json">{json.dumps(value)}</script>'


# --- a click-to-chat number in framework state -------------------------------------------------


def test_whatsapp_number_object_gives_the_phone_and_the_chat_link() -> None:
    got = _found(_next_data({"props": {"pageProps": {"shop": {
        "whatsapp": {"enabled": True, "number": "36301234567", "text": "Szia! Rendelnék."}}}}}))
    assert got[("phone", "+36301234567")] == ("whatsapp", "framework-state")
    assert got[("messaging", "https://wa.me/36301234567")] == ("whatsapp", "framework-state")


def test_viber_number_key_gives_the_canonical_viber_link() -> None:
    got = _found(_next_data({"footer": {"viberPhone": "+48 600 123 456"}}), "PL")
    assert got[("messaging", "viber://chat?number=%2B48600123456")] == ("viber", "framework-state")
    assert ("phone", "+48600123456") in got


def test_a_national_number_under_a_chat_key_is_read_in_the_page_region() -> None:
    got = _found(_next_data({"contact": {"whatsApp": "06 30 123 4567"}}))
    assert ("phone", "+36301234567") in got
    assert ("messaging", "https://wa.me/36301234567") in got


def test_generic_number_keys_need_a_phone_like_parent() -> None:
    got = _found(_next_data({"order": {"number": "36301234567"}, "invoice": {"no": "+36 30 123 4567"},
                             "whatsapp": {"message": "Rendelés 36301234567", "enabled": True}}))
    assert not got


def test_a_chat_link_is_not_made_from_a_plain_phone_key() -> None:
    got = _found(_next_data({"contact": {"phone": "36301234567", "mobile": "+36 30 123 4567"}}))
    assert not any(kind == "messaging" for kind, _ in got)


# --- Nuxt 2: the state function's arguments ---------------------------------------------------


def _nuxt(body: str, args: str, closing: str = "}}(") -> str:
    return f"<script>window.__NUXT__=(function(a,b,c,d){{return {body}{closing}{args}));</script>"


def test_nuxt2_keys_bound_to_parameters_read_their_arguments() -> None:
    body = '{layout:"default",state:{shop:{title:a,hotline:c,support:{mobile:d},mail:b}}'
    got = _found(_nuxt(body, '"Bolt","info@kliens-bolt.hu","+36 1 555 0100","+36 30 765 4321"'))
    assert got[("phone", "+3615550100")][0] == "hotline"
    assert got[("phone", "+36307654321")][0] == "mobile"
    assert ("email", "info@kliens-bolt.hu") in got


def test_nuxt2_call_written_after_the_function_parenthesis() -> None:
    body = "{data:[{phone:c}]}}"
    got = _found(_nuxt(body, '"",null,"+36 1 555 0101",void 0', closing="})("))
    assert ("phone", "+3615550101") in got


def test_nuxt2_non_string_arguments_bind_nothing() -> None:
    body = '{data:[{phone:c,fax:a}]}'
    got = _found(_nuxt(body, 'true,null,36155501,-1'))
    assert not any(kind == "phone" for kind, _ in got)


def test_a_call_that_does_not_end_the_blob_is_not_the_state_function() -> None:
    # the argument list is followed by more code: parameters are not bound from it
    script = ('<script>window.__NUXT__=(function(a){return {phone:a}}("+36 1 555 0102"), track("x"));'
              "</script>")
    assert ("phone", "+3615550102") not in _found(script)


def test_nuxt2_parameters_are_only_read_where_a_key_names_them() -> None:
    source = '(function(a,b){return {list:[a,b],phone:b}}("+36 1 555 0103","+36 1 555 0104"))'
    keyed = [(path, value) for path, value in state_strings("__NUXT__", source) if path]
    assert keyed == [(("phone",), "+36 1 555 0104")]


def test_hostile_nuxt2_blobs_stay_bounded() -> None:
    many_calls = "(function(a){return {phone:a}" + "}(" * 200_000 + ")"
    many_keys = "(function(a){return {" + "k:a," * 200_000 + '}}("+36 1 555 0105"))'
    unclosed = '(function(a){return {phone:a}}("' + "x" * 500_000
    for source in (many_calls, many_keys, unclosed):
        page = parse_page(SHELL.format(f"<script>window.__NUXT__={source}</script>"), URL)
        started = time.perf_counter()
        extract_framework_state(page)
        assert time.perf_counter() - started < 2.0


# --- a quote request answered by email -----------------------------------------------------------

FORM_URL = "https://www.kurierdienst-nord.de/kontakt"


def _forms(form: str) -> list[ContactPoint]:
    return extract_forms(parse_page(f"<html><body>{form}</body></html>", FORM_URL))


def test_webflow_quote_form_with_email_and_no_message_is_a_contact_form() -> None:
    form = (
        '<form id="wf-form-Angebot" name="wf-form-Angebot" data-name="Angebot" method="post"'
        ' action="https://www.kurierdienst-nord.de/api/angebot" class="w-form">'
        '<label for="n">Name</label><input name="Name" id="n" type="text">'
        '<label for="m">E-Mail</label><input name="Mail" id="m" type="email">'
        '<label for="p">Abholort (PLZ)</label><input name="PLZ" id="p" type="text">'
        '<input type="submit" value="Angebot anfordern"></form>'
    )
    points = _forms(form)
    assert [p.value for p in points] == ["https://www.kurierdienst-nord.de/api/angebot"]
    assert points[0].details["kind"] == "request"
    assert points[0].details["reply_channels"] == ["email"]


def test_quote_named_only_in_data_name_counts() -> None:
    form = ('<form data-name="Request a quote" method="post" action="/send">'
            '<input type="email" name="email"><input name="pallets" type="number"></form>')
    assert classify(parse_page(f"<html><body>{form}</body></html>", FORM_URL).forms[0]).reason == "request"


def test_email_only_forms_without_a_request_marker_stay_out() -> None:
    for form in (
        '<form action="/nl" method="post"><input name="name"><input type="email" name="mail"></form>',
        '<form action="/order" method="post"><input type="email" name="email"><input name="qty"></form>',
        # a quote-named newsletter or login is still what it is
        '<form class="quote-of-the-day newsletter" action="/subscribe"><input type="email" name="e"></form>',
        '<form id="quote-login" action="/login"><input type="email" name="e"><input type="password" name="p"></form>',
    ):
        assert _forms(form) == [], form


# --- Japanese service hours ---------------------------------------------------------------------


def _hours(*blocks: str) -> list[str]:
    return [r[0] for s in parse_text(list(blocks), "ja") if (r := render(s)) is not None]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("電話受付：平日 10:00～17:00", ["Mo-Fr 10:00-17:00"]),  # full-width tilde
        ("平日 １０：００〜１７：００", ["Mo-Fr 10:00-17:00"]),  # full-width digits, wave dash
        ("月曜日～金曜日 8:30-17:30 土曜日 9:00-12:00", ["Mo-Fr 08:30-17:30; Sa 09:00-12:00"]),
        ("月～金 9:00〜19:00", ["Mo-Fr 09:00-19:00"]),
        ("土日祝 11:00～16:00", ["Sa,Su 11:00-16:00"]),
        ("年中無休 10:00～21:00", ["Mo-Su 10:00-21:00"]),
        ("平日：9:00～17:00　土曜日：9:00～12:00", ["Mo-Fr 09:00-17:00; Sa 09:00-12:00"]),  # label colon, no space
        ("営業時間：10:00～19:00", ["10:00-19:00"]),  # an hours word, no day word
        ("24時間365日 故障受付", ["24/7"]),
        ("年中無休・24時間対応", ["24/7"]),
    ],
)
def test_japanese_hours(text: str, want: list[str]) -> None:
    assert _hours(text) == want


def test_japanese_exclusions_after_the_hours_do_not_add_days() -> None:
    assert _hours("営業時間：平日 9:30～18:30（土日祝・年末年始を除く）") == ["Mo-Fr 09:30-18:30"]


@pytest.mark.parametrize(
    "text",
    [
        "2024年12月1日～12月31日",  # a date range: 月 and 日 follow digits, no day word
        "お問い合わせフォームは24時間受付しております",  # a form accepting messages, not a staffed line
        "価格 9,800円～19,800円",
        "第2024時間目",
    ],
)
def test_japanese_non_hours(text: str) -> None:
    assert _hours(text) == []


def test_japanese_hours_on_a_page_keep_the_raw_text_as_shown() -> None:
    body = ('<html lang="ja"><body><p>サポートダイヤル <a href="tel:0120123456">0120-123-456</a></p>'
            "<p>受付時間：平日 ９：００～１７：００</p></body></html>")
    hours = [cp for cp in extract_page(body, "https://www.example.co.jp/support/") if cp.kind == "hours"]
    assert [(cp.value, cp.raw) for cp in hours] == [("Mo-Fr 09:00-17:00", "平日 ９：００～１７：００")]
