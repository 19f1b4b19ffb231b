"""Text written in other widths and digit scripts, and the senders of automatic mail.

Browsers show full-width forms ("０３－１２３４－５６７８", "info＠firma.co.jp"), Arabic-Indic
(٠-٩) and Eastern Arabic-Indic (۰-۹) digits as a number or an address that a customer can
use: the extractors read them, keeping ``raw`` as the page writes it. A no-reply address is
where a site's mail comes from, never where a customer reaches it: it is not harvested,
whether it is named in prose or shown in a code sample.
"""

from __future__ import annotations

import pytest

from auditor.extract.context import ExtractContext
from auditor.extract.emails import extract_emails
from auditor.extract.page import parse_page
from auditor.extract.phones import extract_phones
from auditor.models import ContactPoint
from auditor.text import fold_width

URL = "https://www.nordlicht-moebel.de/kontakt"


def phones(body: str, region: str, lang: str) -> dict[str, ContactPoint]:
    html = f'<html lang="{lang}"><body>{body}</body></html>'
    return {p.value: p for p in extract_phones(parse_page(html, URL), ExtractContext(region))}


def emails(body: str) -> dict[str, ContactPoint]:
    return {p.value: p for p in extract_emails(parse_page(f"<html><body>{body}</body></html>", URL))}


# --- the fold --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("ＴＥＬ：０６－１２３４－５６７８", "TEL:06-1234-5678"),
        ("info＠firma．co．jp", "info@firma.co.jp"),
        ("（０３）　１２３４", "(03) 1234"),  # ideographic space
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),  # Arabic-Indic
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),  # Eastern Arabic-Indic (Persian, Urdu)
        ("०१२३४५६७८९", "0123456789"),  # Devanagari
    ],
)
def test_fold_width_reads_other_widths_and_digit_scripts_as_ascii(text: str, folded: str) -> None:
    assert fold_width(text) == folded


@pytest.mark.parametrize(
    "text",
    ["Tel. 06 1 234 5678", "お問い合わせ 営業部", "هاتف المكتب", "Obsługa klienta – ½ ² ①", ""],
)
def test_fold_width_leaves_letters_and_non_decimal_figures_alone(text: str) -> None:
    # superscripts, fractions and circled numbers are not digits a number is dialled with
    assert fold_width(text) == text


def test_fold_width_keeps_offsets() -> None:
    text = "電話：０３－１２３４－５６７８／メール：info＠firma.jp"
    assert len(fold_width(text)) == len(text)


# --- phones ----------------------------------------------------------------------------------


def test_full_width_japanese_number_is_found_and_raw_kept() -> None:
    found = phones("<p>代表電話：０３－５５５０－１２３４<br>ＦＡＸ：０３－５５５０－１２３５</p>", "JP", "ja")
    assert set(found) == {"+81355501234", "+81355501235"}
    assert found["+81355501234"].raw == "０３－５５５０－１２３４"
    assert found["+81355501235"].label == "fax"  # the full-width label word reads too


def test_full_width_international_number() -> None:
    found = phones("<p>海外からのお電話：＋８１ ６ ６１２３ ４５６７</p>", "JP", "ja")
    assert list(found) == ["+81661234567"]


def test_arabic_indic_digits() -> None:
    found = phones("<p>هاتف خدمة العملاء: ٠١١ ٤٦٢ ٣٣٠٩</p>", "SA", "ar")
    assert list(found) == ["+966114623309"]
    assert found["+966114623309"].raw == "٠١١ ٤٦٢ ٣٣٠٩"


def test_eastern_arabic_indic_digits() -> None:
    found = phones("<p>تلفن دفتر مرکزی: ۰۲۱ ۸۸۷۷ ۶۶۵۵</p>", "IR", "fa")
    assert list(found) == ["+982188776655"]


def test_arabic_indic_dates_prices_and_postcodes_stay_decoys() -> None:
    body = (
        "<p>صالح حتى ١٤٤٦/٠٩/٠١ هـ</p><p>السعر: ١٨٥٫٠٠ ر.س</p>"
        "<p>الرياض ١٢٢١٤</p><p>© ٢٠٢٥ جميع الحقوق محفوظة</p>"
    )
    assert phones(body, "SA", "ar") == {}


# --- emails ----------------------------------------------------------------------------------


def test_full_width_at_sign_in_prose() -> None:
    found = emails("<p>お見積りのご相談：eigyo＠yamada-kogyo.co.jp まで</p>")
    assert list(found) == ["eigyo@yamada-kogyo.co.jp"]
    assert found["eigyo@yamada-kogyo.co.jp"].raw == "eigyo＠yamada-kogyo.co.jp"


def test_full_width_address_throughout() -> None:
    assert list(emails("<p>メール：ｉｎｆｏ＠ｙａｍａｄａ．ｃｏ．ｊｐ</p>")) == ["info@yamada.co.jp"]


# --- no-reply senders ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "local", ["noreply", "no-reply", "No_Reply", "no.reply.orders", "do-not-reply", "donotreply", "nepasrepondre"]
)
def test_no_reply_sender_in_prose_is_not_a_contact(local: str) -> None:
    body = (
        "<p>Questions? Write to hello@nordlicht-moebel.de.</p>"
        f"<p>Emails from {local}@nordlicht-moebel.de are sent automatically; please do not answer them.</p>"
    )
    assert list(emails(body)) == ["hello@nordlicht-moebel.de"]


def test_no_reply_sender_in_a_code_sample_is_not_a_contact() -> None:
    body = (
        "<h2>API</h2><pre><code>curl -X POST https://api.nordlicht-moebel.de/v1/orders \\\n"
        '  -d \'{"notify_from": "noreply@nordlicht-moebel.de", "sku": "A-1"}\'</code></pre>'
    )
    assert emails(body) == {}


def test_no_reply_sender_behind_a_mailto_is_not_a_contact() -> None:
    assert emails('<a href="mailto:no-reply@nordlicht-moebel.de">no-reply@nordlicht-moebel.de</a>') == {}


@pytest.mark.parametrize("local", ["norbert", "noreen", "nora.reply", "reply", "replies", "info.noreply"])
def test_names_and_reply_addresses_are_kept(local: str) -> None:
    # only a local part that starts with a no-reply word says "do not write here";
    # "info.noreply" is odd but not a phrase a mailer uses: kept
    assert list(emails(f"<p>Contact: {local}@nordlicht-moebel.de</p>")) == [f"{local}@nordlicht-moebel.de"]
