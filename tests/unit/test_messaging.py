"""Messaging deep links: every spelling normalized to one canonical value."""

from __future__ import annotations

import pytest

from auditor.extract.messaging import classify, extract_messaging
from auditor.extract.page import ParsedPage, parse_page


def _page(body: str, url: str = "https://www.example.hu/kapcsolat") -> ParsedPage:
    return parse_page(f"<html><body>{body}</body></html>", url)


# href -> (platform, canonical value, account)
LINKS: list[tuple[str, str, str, str]] = [
    # WhatsApp
    ("https://wa.me/36201234567", "whatsapp", "https://wa.me/36201234567", "36201234567"),
    ("https://wa.me/36201234567?text=Szia", "whatsapp", "https://wa.me/36201234567", "36201234567"),
    ("https://wa.me/+36-20-123-4567", "whatsapp", "https://wa.me/36201234567", "36201234567"),
    (
        "https://api.whatsapp.com/send?phone=36201234567",
        "whatsapp",
        "https://wa.me/36201234567",
        "36201234567",
    ),
    (
        "https://api.whatsapp.com/send/?phone=%2B36201234567&text&type=phone_number",
        "whatsapp",
        "https://wa.me/36201234567",
        "36201234567",
    ),
    (
        "https://api.whatsapp.com/send?phone=+36 20 123 4567&text=Hello",
        "whatsapp",
        "https://wa.me/36201234567",
        "36201234567",
    ),
    (
        "https://web.whatsapp.com/send?phone=491701234567",
        "whatsapp",
        "https://wa.me/491701234567",
        "491701234567",
    ),
    ("whatsapp://send?phone=+48501234567", "whatsapp", "https://wa.me/48501234567", "48501234567"),
    ("https://wa.link/x7k2pq", "whatsapp", "https://wa.link/x7k2pq", "x7k2pq"),
    (
        "https://wa.me/message/ABCDEFGHIJ1K1",
        "whatsapp",
        "https://wa.me/message/ABCDEFGHIJ1K1",
        "ABCDEFGHIJ1K1",
    ),
    # Telegram
    ("https://t.me/AcmeSupport", "telegram", "https://t.me/acmesupport", "acmesupport"),
    (
        "https://t.me/acme_support_bot?start=site",
        "telegram",
        "https://t.me/acme_support_bot",
        "acme_support_bot",
    ),
    ("https://telegram.me/AcmeSupport", "telegram", "https://t.me/acmesupport", "acmesupport"),
    ("https://t.me/s/AcmeNews", "telegram", "https://t.me/acmenews", "acmenews"),
    ("https://t.me/AcmeNews/123", "telegram", "https://t.me/acmenews", "acmenews"),
    ("tg://resolve?domain=AcmeSupport", "telegram", "https://t.me/acmesupport", "acmesupport"),
    (
        "https://t.me/+AbCdEfGh12345678",
        "telegram",
        "https://t.me/+AbCdEfGh12345678",
        "+AbCdEfGh12345678",
    ),
    (
        "https://t.me/joinchat/AbCdEfGh1234",
        "telegram",
        "https://t.me/joinchat/AbCdEfGh1234",
        "joinchat/AbCdEfGh1234",
    ),
    # Viber
    (
        "viber://chat?number=%2B36201234567",
        "viber",
        "viber://chat?number=%2B36201234567",
        "36201234567",
    ),
    (
        "viber://chat?number=+36201234567",
        "viber",
        "viber://chat?number=%2B36201234567",
        "36201234567",
    ),
    (
        "viber://chat/?number=380501234567",
        "viber",
        "viber://chat?number=%2B380501234567",
        "380501234567",
    ),
    (
        "viber://add?number=36201234567",
        "viber",
        "viber://chat?number=%2B36201234567",
        "36201234567",
    ),
    ("viber://pa?chatURI=acmeshop", "viber", "viber://pa?chatURI=acmeshop", "acmeshop"),
    # Messenger
    ("https://m.me/AcmeHungary", "messenger", "https://m.me/acmehungary", "acmehungary"),
    (
        "https://m.me/AcmeHungary?ref=website",
        "messenger",
        "https://m.me/acmehungary",
        "acmehungary",
    ),
    (
        "https://www.messenger.com/t/AcmeHungary",
        "messenger",
        "https://m.me/acmehungary",
        "acmehungary",
    ),
    # Skype
    ("skype:acme.support?chat", "skype", "skype:acme.support?chat", "acme.support"),
    ("skype:acme.support?call", "skype", "skype:acme.support?call", "acme.support"),
    (
        "skype:live:.cid.1234abcd?chat",
        "skype",
        "skype:live:.cid.1234abcd?chat",
        "live:.cid.1234abcd",
    ),
    ("skype:acme.support", "skype", "skype:acme.support?call", "acme.support"),
    ("SKYPE:acme.support?add", "skype", "skype:acme.support?chat", "acme.support"),
]

NOT_MESSAGING = [
    "https://wa.me/?text=Check%20this%20out",
    "https://api.whatsapp.com/send?text=Check%20this",
    "whatsapp://send?text=Hello",
    "https://wa.me/123",  # too short to be a number
    "https://www.whatsapp.com/",
    "https://chat.whatsapp.com/AbCdEfGhIjK",  # a group invite, not the company's line
    "https://t.me/share/url?url=https%3A%2F%2Fexample.hu&text=x",
    "https://t.me/share?url=https://example.hu",
    "https://t.me/",
    "https://t.me/iv?url=https://example.hu&rhash=abc",
    "https://telegram.org/apps",
    "viber://forward?text=Hello",
    "viber://chat?number=",
    "https://m.me/",
    "https://www.messenger.com/",
    "skype:",
    "https://www.skype.com/en/",
    "mailto:info@example.hu",
    "tel:+36201234567",
    "https://www.example.hu/wa.me/36201234567",
    "https://facebook.com/AcmeHungary",
]


@pytest.mark.parametrize(("href", "platform", "value", "account"), LINKS)
def test_link_forms_normalize(href: str, platform: str, value: str, account: str) -> None:
    found = classify(href)
    assert found is not None, href
    assert (found.platform, found.value, found.account) == (platform, value, account)


@pytest.mark.parametrize("href", NOT_MESSAGING)
def test_share_and_other_links_ignored(href: str) -> None:
    assert classify(href) is None


@pytest.mark.parametrize(("href", "platform", "value", "account"), LINKS)
def test_extracted_from_page_links(href: str, platform: str, value: str, account: str) -> None:
    points = extract_messaging(
        _page(f'<footer><a href="{href}" title="Írjon nekünk">Chat</a></footer>')
    )
    assert len(points) == 1
    point = points[0]
    assert point.kind == "messaging" and point.method == "deep-link"
    assert point.label == platform
    assert point.value == value
    assert point.raw == href
    assert point.details["platform"] == platform and point.details["account"] == account
    assert point.details["region"] == "footer"
    assert "Chat" in point.context


def test_same_account_in_two_spellings_is_one_point() -> None:
    body = (
        '<a href="https://wa.me/36201234567">WhatsApp</a>'
        '<a href="https://api.whatsapp.com/send?phone=%2B36201234567">WhatsApp</a>'
        '<a href="https://t.me/Acme">TG</a><a href="tg://resolve?domain=acme">TG</a>'
    )
    values = [p.value for p in extract_messaging(_page(body))]
    assert values == ["https://wa.me/36201234567", "https://t.me/acme"]


def test_protocol_relative_and_relative_links() -> None:
    body = '<a href="//wa.me/36201234567">WA</a><a href="/kapcsolat">Kapcsolat</a>'
    points = extract_messaging(_page(body))
    assert [p.value for p in points] == ["https://wa.me/36201234567"]
    assert "written_without_scheme" not in points[0].details  # a browser opens "//wa.me/..." as it is


def test_scheme_less_href() -> None:
    points = extract_messaging(_page('<a href="wa.me/36201234567">WhatsApp</a><a href="https://t.me/acme">TG</a>'))
    assert [p.value for p in points] == ["https://wa.me/36201234567", "https://t.me/acme"]
    assert points[0].raw == "wa.me/36201234567"
    # the link a visitor clicks opens a page of the site: said, so the report can tell
    assert [p.details.get("written_without_scheme") for p in points] == [True, None]


def test_scheme_less_host_followed_by_its_query() -> None:
    """The host ends at "?" as at "/": a browser opens both spellings on the company's own
    site, but each names the WhatsApp host and publishes the number, so both are read."""
    href = "api.whatsapp.com?phone=%2B36201234567"
    points = extract_messaging(_page(f'<a href="{href}">WhatsApp</a>'))
    assert [(p.value, p.raw) for p in points] == [("https://wa.me/36201234567", href)]


@pytest.mark.parametrize(
    "href",
    [
        "support@wa.me/36201234567",  # a relative path whose first segment only ends in the host
        "wa.me.example.hu/36201234567",  # another host that starts like one
        "kapcsolat/wa.me/36201234567",  # the host further down a relative path
    ],
)
def test_scheme_less_href_not_starting_with_a_messaging_host_is_a_path(href: str) -> None:
    assert classify(href) is None
    assert extract_messaging(_page(f'<a href="{href}">WhatsApp</a>')) == []


def test_page_without_messaging_links() -> None:
    body = "".join(f'<a href="{h}">x</a>' for h in NOT_MESSAGING if not h.startswith("skype:"))
    assert extract_messaging(_page(body + "<p>Call us on WhatsApp: +36 20 123 4567</p>")) == []
