"""Contact forms versus their look-alikes (search, login, newsletter, comments, cart)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.extract.forms import Signals, classify, extract_forms, rules
from auditor.extract.page import ParsedPage, parse_page

URL = "https://www.example.hu/kapcsolat/"


def _page(body: str, head: str = "", url: str = URL) -> ParsedPage:
    return parse_page(f"<html><head>{head}</head><body>{body}</body></html>", url)


CONTACT_FORMS: dict[str, str] = {
    "contact-form-7 (HU)": """
<form action="/kapcsolat/#wpcf7-f12-p34-o1" method="post" class="wpcf7-form init">
  <input type="hidden" name="_wpcf7" value="12">
  <label>Név <input type="text" name="your-name"></label>
  <label>E-mail cím <input type="email" name="your-email"></label>
  <label>Tárgy <input type="text" name="your-subject"></label>
  <label>Üzenet <textarea name="your-message"></textarea></label>
  <input type="submit" value="Küldés">
</form>""",
    "English, labels only": """
<form action="https://www.example.hu/contact/send" method="POST">
  <label for="f1">Your name</label><input id="f1" name="field_1">
  <label for="f2">Email address</label><input id="f2" name="field_2">
  <label for="f3">How can we help?</label><textarea id="f3" name="field_3"></textarea>
  <button type="submit">Send</button>
</form>""",
    "German, phone only": """
<form action="/kontakt" method="post">
  <input name="name" placeholder="Ihr Name">
  <input name="telefon" placeholder="Telefonnummer">
  <input name="nachricht" placeholder="Ihre Nachricht">
  <button>Absenden</button>
</form>""",
    "Polish": """
<form method="post">
  <input name="imie" placeholder="Imię i nazwisko">
  <input name="adres" placeholder="Adres e-mail">
  <textarea name="wiadomosc" placeholder="Treść wiadomości"></textarea>
</form>""",
    "Russian placeholders": """
<form action="/feedback/" method="post">
  <input name="f[1]" placeholder="Ваше имя">
  <input name="f[2]" type="tel" placeholder="Телефон">
  <textarea name="f[3]" placeholder="Сообщение"></textarea>
</form>""",
    "Turkish": """
<form action="/iletisim" method="post">
  <input name="adsoyad" placeholder="Adınız Soyadınız">
  <input name="eposta" placeholder="E-posta adresiniz">
  <input name="mesaj" placeholder="Mesajınız">
</form>""",
    "callback request (EN)": """
<form class="wpcf7-form" action="/callback-request/" method="post">
  <label>Name <input type="text" name="your-name"></label>
  <label>Phone number <input type="tel" name="your-phone"></label>
  <select name="call-time"><option>Morning</option></select>
  <input type="submit" value="Call me back">
</form>""",
    "callback request (RU)": """
<form action="/ajax/callback.php" method="post" name="CALLBACK">
  <input type="text" name="NAME" placeholder="Ваше имя">
  <input type="text" name="PHONE" placeholder="Телефон">
  <button type="submit">Жду звонка</button>
</form>""",
    "Czech with a newsletter checkbox": """
<form action="/kontakty/odeslat" method="post">
  <input name="jmeno"><input type="email" name="email">
  <textarea name="zprava"></textarea>
  <label><input type="checkbox" name="newsletter_optin"> Chci odebírat newsletter</label>
</form>""",
}

NOT_CONTACT: dict[str, tuple[str, str]] = {
    "search by role": (
        '<form role="search" action="/"><input name="s"><button>Keresés</button></form>',
        "search",
    ),
    "search by type": ('<form action="/kereses"><input type="search" name="q"></form>', "search"),
    "search by name": (
        '<form action="/"><input type="text" name="q" placeholder="Search"></form>',
        "search",
    ),
    "login": (
        '<form action="/login" method="post"><input type="email" name="email"><input type="password" name="pw">'
        "<textarea name='note'></textarea></form>",
        "login",
    ),
    "newsletter (email only)": (
        '<form action="/subscribe" method="post"><input type="email" name="email"><button>OK</button></form>',
        "newsletter",
    ),
    "newsletter (mailchimp)": (
        '<form action="https://acme.us1.list-manage.com/subscribe/post?u=1&id=2" method="post" id="mc-embedded-subscribe-form">'
        '<input type="email" name="EMAIL"><input type="text" name="FNAME"></form>',
        "newsletter",
    ),
    "newsletter (Hungarian text)": (
        '<form action="/" method="post"><p>Iratkozzon fel hírlevelünkre! Hírlevél</p><input name="nev">'
        '<input name="email" type="email"><input name="uzenet_targy"></form>',
        "newsletter",
    ),
    "newsletter (email and name)": (
        '<form action="/nl" method="post"><input name="name"><input type="email" name="mail"><button>Go</button></form>',
        "no-message-field",
    ),
    "wordpress comments": (
        '<form action="https://www.example.hu/wp-comments-post.php" method="post" id="commentform">'
        '<textarea name="comment"></textarea><input name="author"><input name="email" type="email">'
        '<input type="hidden" name="comment_post_ID" value="5"></form>',
        "comment",
    ),
    "product review": (
        '<form action="/review" class="review-form"><textarea name="text"></textarea><input type="email" name="email"></form>',
        "comment",
    ),
    "cart": (
        '<form action="/cart/add" method="post"><input name="quantity" value="1"><textarea name="note"></textarea>'
        '<input type="email" name="email"></form>',
        "cart",
    ),
    "order form with an address box": (
        '<form action="/order" method="post"><input type="email" name="email">'
        '<label>Szállítási cím <textarea name="shipping_address"></textarea></label></form>',
        "no-message-field",
    ),
    "shipment tracking": (
        '<form action="/tracking/" method="get"><input name="ttn" placeholder="Номер ТТН">'
        '<input type="tel" name="phone"></form>',
        "lookup",
    ),
    "message but no way to answer": (
        '<form action="/feedback" method="post"><textarea name="message"></textarea></form>',
        "no-reply-channel",
    ),
}


@pytest.mark.parametrize("name", list(CONTACT_FORMS))
def test_contact_forms_are_found(name: str) -> None:
    points = extract_forms(_page(CONTACT_FORMS[name]))
    assert len(points) == 1, name
    point = points[0]
    assert point.kind == "form" and point.method == "form" and point.label == "contact-form"
    assert point.value.startswith("https://www.example.hu/")
    assert "#" not in point.value
    assert point.details["method"] == "post"
    assert point.details["fields"]
    assert point.details["has_captcha"] is False


@pytest.mark.parametrize("name", list(NOT_CONTACT))
def test_lookalike_forms_are_not_contact_forms(name: str) -> None:
    body, reason = NOT_CONTACT[name]
    page = _page(body)
    assert extract_forms(page) == []
    assert classify(page.forms[0]).reason == reason


def test_value_is_absolute_action_or_page_url() -> None:
    points = extract_forms(_page(CONTACT_FORMS["contact-form-7 (HU)"]))
    assert points[0].value == "https://www.example.hu/kapcsolat/"
    assert points[0].raw == "https://www.example.hu/kapcsolat/#wpcf7-f12-p34-o1"
    assert points[0].details["fields"] == [
        "your-name",
        "your-email",
        "your-subject",
        "your-message",
    ]
    no_action = extract_forms(_page(CONTACT_FORMS["Polish"], url="https://www.example.pl/kontakt"))
    assert no_action[0].value == "https://www.example.pl/kontakt"
    js_action = CONTACT_FORMS["German, phone only"].replace(
        'action="/kontakt"', 'action="javascript:void(0)"'
    )
    assert extract_forms(_page(js_action))[0].value == URL


def test_reply_channels_reported() -> None:
    point = extract_forms(_page(CONTACT_FORMS["German, phone only"]))[0]
    assert point.details["reply_channels"] == ["phone"]
    point = extract_forms(_page(CONTACT_FORMS["Russian placeholders"]))[0]
    assert point.details["reply_channels"] == ["phone"]


@pytest.mark.parametrize(
    ("body", "head"),
    [
        ('<div class="g-recaptcha" data-sitekey="6Lc_abc"></div>', ""),
        ('<div class="h-captcha" data-sitekey="abc"></div>', ""),
        ('<div class="cf-turnstile" data-sitekey="0x4AAA"></div>', ""),
        ('<input type="text" name="captcha_code">', ""),
        ("", '<script src="https://www.google.com/recaptcha/api.js?render=6Lc_abc"></script>'),
    ],
)
def test_captcha_detected(body: str, head: str) -> None:
    form = CONTACT_FORMS["contact-form-7 (HU)"].replace("</form>", f"{body}</form>")
    point = extract_forms(_page(form, head=head))[0]
    assert point.details["has_captcha"] is True


def test_two_forms_with_the_same_action_count_once() -> None:
    form = CONTACT_FORMS["English, labels only"]
    assert len(extract_forms(_page(form + form))) == 1


def test_contact_form_next_to_lookalikes() -> None:
    body = (
        NOT_CONTACT["search by role"][0]
        + CONTACT_FORMS["Turkish"]
        + NOT_CONTACT["newsletter (mailchimp)"][0]
    )
    points = extract_forms(_page(body))
    assert [p.value for p in points] == ["https://www.example.hu/iletisim"]


def test_form_inside_template_is_ignored_without_misaligning_captcha() -> None:
    body = (
        "<template><form action='/x'><textarea name='message'></textarea><input type='email' name='e'></form></template>"
        + CONTACT_FORMS["English, labels only"].replace(
            "</form>", '<div class="g-recaptcha"></div></form>'
        )
    )
    points = extract_forms(_page(body))
    assert [p.value for p in points] == ["https://www.example.hu/contact/send"]
    assert points[0].details["has_captcha"] is True


_KEYWORD_SAMPLES = sorted({
    word for name in ("message", "not_message", "email", "phone", "newsletter", "comment", "cart", "lookup")
    for word in re.findall(r"[^|()\\?<!\[\]^]+", getattr(rules(), name).regex.pattern) if len(word) > 1
})


_KEYWORD_SETS = ("message", "not_message", "email", "phone", "newsletter", "comment", "cart", "lookup", "request",
                 "captcha_fields")


def _keyword_texts(variant: Callable[[str], str], others: str) -> st.SearchStrategy[str]:
    """Texts of keywords (as written, upper-cased, and ``variant``) among ``others`` characters."""
    words = st.sampled_from(_KEYWORD_SAMPLES)
    return st.lists(st.one_of(words, words.map(str.upper), words.map(variant), st.sampled_from(list(others))),
                    max_size=6).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=_keyword_texts(str.title, " _-[]x1İẞΣſK"))
def test_keyword_search_on_folded_text_answers_as_ignorecase(text: str) -> None:
    """The keywords are searched in folded text without re.I: same answers as re.I."""
    for name in _KEYWORD_SETS:
        keywords = getattr(rules(), name)
        assert keywords.search(text) == bool(text and keywords.regex.search(text)), (name, text)


@settings(max_examples=300, deadline=None)
@given(text=_keyword_texts(lambda w: w[1:], " _-x1éİẞΣK٣"))
def test_one_pass_for_every_keyword_set_answers_as_each_regex(text: str) -> None:
    """The keyword index (one automaton, short keywords standing alone) answers as the regexes."""
    signals = Signals(rules().index)
    for name in _KEYWORD_SETS:
        keywords = getattr(rules(), name)
        assert keywords.id is not None, name  # every packaged set is in the index
        assert keywords.search(text, signals) == bool(text and keywords.regex.search(text)), (name, text)


@pytest.mark.parametrize(
    ("text", "found"),
    [("tel", True), ("tel:", True), ("your_tel", True), ("hotel", False), ("atel", False), ("tel2", False),
     ("tel٣", False), ("téléphone", True)],
)
def test_a_short_keyword_counts_only_standing_alone(text: str, found: bool) -> None:
    signals = Signals(rules().index)
    assert rules().phone.search(text, signals) is found
    assert bool(rules().phone.regex.search(text)) is found
