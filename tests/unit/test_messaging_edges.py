"""Messaging links at their edges: near-miss forms, the link scan of a page, and what a point records."""

from __future__ import annotations

import pytest

from auditor.extract import confidence
from auditor.extract.messaging import Deeplink, classify, extract_messaging
from auditor.extract.page import ParsedPage, parse_page

WA = Deeplink("whatsapp", "https://wa.me/36201234567", "36201234567")


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("http://wa.me/36201234567", WA),  # plain http too
        ("https://wa.me/36201234567/extra", WA),  # a number path keeps only the number
        ("https://wa.me/message", None),  # a business-link prefix without its code
        ("https://www.example.hu/?phone=36201234567", None),  # a phone parameter on another host
        ("https://api.whatsapp.com/chat?phone=36201234567", None),  # not a send path
        ("wa.me/36201234567?text=Hi:)/x", WA),  # written without a scheme; ":" after the host
        ("wa.me/message/ABCDEF", Deeplink("whatsapp", "https://wa.me/message/ABCDEF", "ABCDEF")),
        ("https://t.me/+", None),
        ("https://t.me/+A", Deeplink("telegram", "https://t.me/+A", "+A")),
        ("https://t.me/joinchat", None),  # an invite without its code
        ("https://t.me/s", None),  # a preview without its channel
        ("tg://join?invite=AbCdEf12==", Deeplink("telegram", "https://t.me/+AbCdEf12==", "+AbCdEf12==")),
        ("viber:chat?number=%2B36201234567",  # without the slashes
         Deeplink("viber", "viber://chat?number=%2B36201234567", "36201234567")),
        ("viber:", None),
        ("viber://pa", None),  # a public account link without its account
        ("skype:acme?chat&topic=a&b=c", Deeplink("skype", "skype:acme?chat", "acme")),
        ("skype:Xavier.support?chat", Deeplink("skype", "skype:Xavier.support?chat", "Xavier.support")),
    ],
)
def test_near_miss_forms(href: str, expected: Deeplink | None) -> None:
    assert classify(href) == expected


def test_a_link_up_to_2000_characters_is_read() -> None:
    base = "https://wa.me/36201234567?text="
    assert classify(base + "a" * (2000 - len(base))) == WA
    assert classify(base + "a" * (2001 - len(base))) is None


def page(body: str, head: str = "") -> ParsedPage:
    return parse_page(f"<html><head>{head}</head><body>{body}</body></html>", "https://www.example.hu/kapcsolat")


JOINCHAT = """<div class="joinchat" data-settings='{"telephone":"36201234567"}'></div>"""


def test_a_point_records_its_page_confidence_and_the_link_text_and_title() -> None:
    p = page('<a href="/kapcsolat">Kapcsolat</a><a href="https://wa.me/36201234567" title="Írjon">Chat</a>')
    (point,) = extract_messaging(p)
    assert (point.value, point.page_url, point.confidence, point.context) == (
        WA.value, "https://www.example.hu/kapcsolat", confidence.CERTAIN, "Chat Írjon")


def test_a_link_whose_written_href_names_no_platform_is_still_read() -> None:
    (point,) = extract_messaging(page('<a href="36201234567">x</a>', '<base href="https://wa.me/">'))
    assert (point.value, point.raw) == (WA.value, "36201234567")


def test_a_widget_is_read_on_a_page_without_messaging_links() -> None:
    (point,) = extract_messaging(page('<a href="/kapcsolat">x</a>' + JOINCHAT))
    assert (point.value, point.method, point.details["provider"]) == (WA.value, "widget-script", "Joinchat")


def test_a_widget_for_a_linked_account_adds_nothing() -> None:
    points = extract_messaging(page('<a href="https://wa.me/36201234567">WA</a>' + JOINCHAT))
    assert [(p.value, p.method) for p in points] == [(WA.value, "deep-link")]
