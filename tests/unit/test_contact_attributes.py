"""Pitfalls: contact data published only in attributes a visitor sees (method ``attribute``)."""

from __future__ import annotations

from auditor.extract.context import ExtractContext
from auditor.extract.emails import extract_emails
from auditor.extract.page import parse_page
from auditor.extract.phones import extract_phones

URL = "https://kovacsbt.hu/kapcsolat"


def _points(body: str) -> set[tuple[str, str]]:
    page = parse_page(f"<html><body>{body}</body></html>", URL)
    phones = extract_phones(page, ExtractContext(region="HU"))
    return {(p.value, p.method) for p in [*phones, *extract_emails(page)]}


def test_tooltip_on_phone_icon() -> None:
    body = '<p>Hívjon minket <i class="icon-phone" title="+36 1 234 5678"></i></p>'
    assert _points(body) == {("+3612345678", "attribute")}


def test_aria_label_and_data_phone_on_call_button() -> None:
    body = (
        '<button class="btn-call" aria-label="Telefon: 06 30 123 4567">Hívás</button>'
        '<a href="#" data-phone="+36 20 987 6543">Hívjon</a>'
    )
    assert _points(body) == {("+36301234567", "attribute"), ("+36209876543", "attribute")}


def test_itemprop_meta_and_icon_alt() -> None:
    body = (
        '<div class="contact"><meta itemprop="telephone" content="+36 1 555 0199">'
        '<img src="/img/mail-icon.png" alt="iroda@kovacsbt.hu"></div>'
    )
    assert _points(body) == {("+3615550199", "attribute"), ("iroda@kovacsbt.hu", "attribute")}


def test_data_email_on_contact_link() -> None:
    body = '<a class="js-mail" href="#" data-email="ugyfel@kovacsbt.hu">Írjon nekünk</a>'
    assert _points(body) == {("ugyfel@kovacsbt.hu", "attribute")}


def test_tel_link_title_adds_no_second_point() -> None:
    body = '<a href="tel:+3612345678" title="+36 1 234 5678">+36 1 234 5678</a>'
    assert ("+3612345678", "tel-link") in _points(body)
    assert {method for _value, method in _points(body)} <= {"tel-link", "text"}


def test_decoys_yield_nothing() -> None:
    body = (
        # each value would pass as a valid number: only the element filter turns them away
        '<span class="order" title="Rendelésszám 0613456789">Rendelés</span>'
        '<div data-id="0613456789" data-sku="+36301234567">Termék</div>'
        '<button class="datepicker-day" aria-label="+36 20 987 6543">10</button>'
        '<img src="/img/logo.png" alt="Cikkszám 0613456789">'
    )
    assert _points(body) == set()


def test_link_holding_a_phone_icon_is_a_contact_element() -> None:
    # the link goes to a branch page, not tel:, but its phone icon says what its title is for
    body = (
        '<a href="/telephely/gyor" title="Hívja győri telephelyünket: 06 96 555 012">'
        '<img src="/img/icon-phone.svg" alt=""> Győri telephely</a>'
        '<button type="button" aria-label="Ügyelet 06 30 555 0456"><i class="fa fa-phone"></i></button>'
    )
    assert _points(body) == {("+3696555012", "attribute"), ("+36305550456", "attribute")}


def test_link_without_a_contact_icon_is_still_not_read() -> None:
    # the same valid-looking numbers on links whose icons are not contact icons
    body = (
        '<a href="/rendelesek/0696555012" title="Rendelés 06 96 555 012"><img src="/img/box.svg" alt=""></a>'
        '<button aria-label="Cikkszám 06 30 555 0456"><i class="fa fa-cart"></i></button>'
        '<div title="06 96 555 012"><i class="icon-phone"></i></div>'  # not a link or button
    )
    assert _points(body) == set()


def test_both_page_readings_find_the_icon_hosts() -> None:
    from auditor.extract import page as model

    html = (
        '<html><body><a href="/telephely/gyor" title="Hívja: 06 96 555 012">'
        '<img src="/img/icon-phone.svg" alt=""> Győr</a>'
        '<button aria-label="Ügyelet 06 30 555 0456"><i class="fa fa-phone"></i></button></body></html>'
    )
    fast = model._build_from_lexbor(html, URL)
    copy = model._build(model._parse_html(html), URL, html)
    assert fast is not None
    assert fast.contact_attributes() == copy.contact_attributes()
    assert [(a.tag, a.name) for a in copy.contact_attributes()] == [("a", "title"), ("button", "aria-label")]
