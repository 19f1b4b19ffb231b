"""Phone extraction: formats, decoys, labels, sources, and pages built to break it."""

from __future__ import annotations

import json
import random
import re

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.data import load
from auditor.extract.context import ExtractContext
from auditor.extract.page import parse_page
from auditor.extract.phones import candidates as phones_candidates
from auditor.extract.phones import extract_phones
from auditor.extract.phones.matching import _match
from auditor.models import CONTEXT_MAX, ContactPoint

URL = "https://example.com/kontakt"


def phones(html: str, region: str | None = None, url: str = URL) -> list[ContactPoint]:
    return extract_phones(parse_page(html, url), ExtractContext(region))


def values(html: str, region: str | None = None) -> list[str]:
    return [p.value for p in phones(html, region)]


def by_value(html: str, region: str | None = None) -> dict[str, ContactPoint]:
    return {p.value: p for p in phones(html, region)}


# --- formats -----------------------------------------------------------------------------------

ACCEPTED = [
    # text, region, E.164
    ("0175/2342345", "DE", "+491752342345"),  # slash grouping, missed by the bare matcher
    ("030/1234567", "DE", "+49301234567"),
    ("0175 / 2342345", "DE", "+491752342345"),
    ("+49 (0)175 2342345", "DE", "+491752342345"),
    ("06 1 234 5678", "HU", "+3612345678"),
    ("06-1-234-5678", "HU", "+3612345678"),
    ("(06 1) 234 5678", "HU", "+3612345678"),
    ("+36 (1) 234-5678", "HU", "+3612345678"),
    ("06/30/123-4567", "HU", "+36301234567"),  # two slashes: the bare matcher gives up
    ("06-1/234-5678", "HU", "+3612345678"),
    ("0036 1 234 5678", "HU", "+3612345678"),
    ("+48 22 123 45 67", "PL", "+48221234567"),
    ("(22) 123-45-67", "PL", "+48221234567"),
    ("8 (800) 555-35-35", "RU", "+78005553535"),
    ("+7 495 123-45-67", "RU", "+74951234567"),
    ("8-495-123-45-67", "RU", "+74951234567"),
    ("+7 (4012) 12-34-56", "RU", "+74012123456"),
    ("444 0 444", "TR", "+904440444"),
    ("+90 212 123 45 67", "TR", "+902121234567"),
    ("0 800 123 45 67", "TR", "+908001234567"),
    ("0 (212) 123 45 67", "TR", "+902121234567"),
    ("0800 123 4567", "GB", "+448001234567"),
    ("+44 (0)20 7946 0018", "GB", "+442079460018"),
    ("+420 234 567 890", "CZ", "+420234567890"),
    ("02/2123 4567", "SK", "+421221234567"),
    ("01 23 45 67 89", "FR", "+33123456789"),
    ("01.23.45.67.89", "FR", "+33123456789"),
    ("02.1234.5678", "IT", "+390212345678"),
    ("912 34 56 78", "ES", "+34912345678"),
    ("020-123 4567", "NL", "+31201234567"),
    ("021 123 4567", "RO", "+40211234567"),
    ("(044) 123-45-67", "UA", "+380441234567"),
    ("+380 44 123 45 67", "UA", "+380441234567"),
]


@pytest.mark.parametrize(("text", "region", "e164"), ACCEPTED)
def test_accepted_formats(text: str, region: str, e164: str) -> None:
    found = phones(f"<p>{text}</p>", region)
    assert [p.value for p in found] == [e164]
    assert found[0].raw == text
    assert found[0].method == "text"


INTERNATIONAL = [
    ("+90 212 123 45 67", "+902121234567"),
    ("+36 (1) 234-5678", "+3612345678"),
    ("+420 234 567 890", "+420234567890"),
    ("+7 495 123-45-67", "+74951234567"),
    ("+48 22 123 45 67", "+48221234567"),
    ("0049 30 12345678", "+493012345678"),
    ("00 36 1 234 5678", "+3612345678"),
]


@pytest.mark.parametrize(("text", "e164"), INTERNATIONAL)
def test_international_formats_need_no_region(text: str, e164: str) -> None:
    assert values(f"<p>{text}</p>", None) == [e164]


@pytest.mark.parametrize(("text", "region"), [("0175/234234", "DE"), ("+420 123 456 789", "CZ")])
def test_issue_examples_outside_the_numbering_plan_are_not_numbers(text: str, region: str) -> None:
    """The issue's "0175/234234" is a digit short for a DE mobile and CZ has no 1xx numbers.

    The extractor only reports valid numbers, so the tests above use valid numbers of the
    same shape; these two stay out, as libphonenumber says.
    """
    assert not phonenumbers.is_valid_number(phonenumbers.parse(text.replace("/", ""), region))
    assert values(f"<p>{text}</p>", region) == []


# --- decoys ----------------------------------------------------------------------------------------

REGIONS = ["HU", "DE", "PL", "RU", "TR", "FR", "GB", "UA", "CZ", "RO", "IT", "NL", "ES", "US", "LT", "LV", "EE", None]

DECOYS = [
    "07.03.1997",
    "2024.05.10.",
    "2024-05-10",
    "10/05/2024",
    "03/2015 – 03/2016",
    "2019-2024",
    "12.05.2016 - 12.06.2016",
    "08.00-16.00",
    "1 299 Ft",
    "€ 1.234,56",
    "12 345 ₽",
    "1 234 567 Ft",
    "+36 1 234 5678 Ft",
    "1.234.567,00 EUR",
    "HU42 1177 3016 1111 1018 0000 0000",
    "DE89 3704 0044 0532 0130 00",
    "IBAN DE89370400440532013000",
    "HU 11773016-11111018-00000000",
    "12345678-2-42",
    "Adószám: 06123456-2-42",
    "Cg. 01-09-123456",
    "Cg.: 01 09 123456",
    "NIP 123-456-32-18",
    "KRS 0000123456",
    "KRS 221 234 567",
    "VAT DE123456789",
    "VAT: 0612345678",
    "USt-IdNr.: DE 030 1234567",
    "Steuernummer 030/123/45678",
    "ИНН 7707083893",
    "ИНН 495 123 45 67",
    "ОГРН 1027700132195",
    "№ 495 123 45 67",
    "Vergi No: 212 123 45 67",
    "Order no. 0612345678",
    "Rendelésszám: 06 1 234 5678",
    "Kundennummer 030 1234567",
    "90210-1234",
    "00-950 Warszawa",
    "D-10115 Berlin",
    "img_20240510_123456.jpg",
    "DSC_0612345678.JPG",
    "photo_0301234567.jpg",
    "/produkt/12345678",
    "www.example.com/produkt/0301234567",
    "https://x.de/p/030-1234567",
    "2016/679",
    "Regulation (EU) 2016/679",
    "ISBN 978-3-16-148410-0",
    "24.06.–25.06.",
    "Įmonės kodas 304123456",
    "PVM mokėtojo kodas LT100012345678",
    "Reģ. Nr. 40103123456",
    "PVN reģ. Nr. LV40103123456",
    "LV80BANK0000435195001",
    "Līguma Nr. 2612-3456",
    "Registrikood 12345678",
    "KMKR EE101234567",
    "EE38 2200 2210 2014 5685",
]


@pytest.mark.parametrize("text", DECOYS)
def test_decoys_give_nothing_in_any_region(text: str) -> None:
    for region in REGIONS:
        assert values(f"<p>{text}</p>", region) == [], region


# Dates and time ranges whose digits ARE a valid number in the region: only the guard for
# their shape (the pattern named) keeps them out, so each fails its test when that guard goes.
DATE_DECOYS = [
    ("07.03.1997", "DE"),  # 10.05.2024
    ("26. 09. 1995.", "LV"),  # 10.05.2024
    ("24.06.–29.12.", "LV"),  # 24.06.–25.06.
    ("06.11.–24.05.", "DE"),  # 24.06.–25.06.
    ("24/11/2014", "LV"),  # 10/05/2024
    ("23-12-2024", "LV"),  # 10/05/2024
    ("06/04/09", "IT"),  # 10/05/24
    ("04/23/2025", "DE"),  # 05/10/2024
    ("05/16/2019", "IT"),  # 05/10/2024
    ("2014.02.24.", "LV"),  # 2024.05.10.
    ("2011-05-07", "LV"),  # 2024-05-10
    ("2012/03/27", "LV"),  # 2024/05/10
    ("2014-2017", "LV"),  # ranges
    ("07/2016 02/2018", "DE"),  # 03/2015 03/2016
    ("06.2024", "IT"),  # 03/2015
    ("02/2012", "IT"),  # 03/2015
    ("2019/1864", "LV"),  # 2016/679
    ("6117/2012", "LT"),  # 12/2020
    ("6497/2012", "PL"),  # 12/2020
    ("09.30-12.00", "DE"),  # 08.00-16.00
    ("09.00-17.30", "NL"),  # 08.00-16.00
]


@pytest.mark.parametrize(("text", "region"), DATE_DECOYS)
def test_dates_whose_digits_are_valid_numbers_are_still_dates(text: str, region: str) -> None:
    number = phonenumbers.parse(re.sub(r"\D", "", text), region)
    assert phonenumbers.is_valid_number(number), "not a valid number: this decoy would test no guard"
    assert values(f"<p>{text}</p>", region) == []
    assert values(f"<p>Stand: {text}</p>", region) == []


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("03/2015 – 03/2016", "DE"),
        ("Cg. 01-09-123456", "FR"),
        ("KRS 221 234 567", "PL"),
        ("ИНН 495 123 45 67", "RU"),
        ("Order no. 0612345678", "HU"),
        ("Rendelésszám: 06 1 234 5678", "HU"),
        ("photo_0301234567.jpg", "DE"),
        ("https://x.de/p/030-1234567", "DE"),
        ("+36 1 234 5678 Ft", "HU"),
        ("Vergi No: 212 123 45 67", "TR"),
    ],
)
def test_decoys_that_fool_the_bare_matcher(text: str, region: str) -> None:
    """These pass libphonenumber at VALID: only the extractor's own guards stop them."""
    bare = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    assert list(bare)
    assert values(f"<p>{text}</p>", region) == []


def test_a_phone_beside_decoys_in_one_block_is_kept() -> None:
    html = (
        "<p>Tel.: 06 1 234 5678 · Adószám: 12345678-2-42 · Cg. 01-09-123456 · "
        "IBAN HU42 1177 3016 1111 1018 0000 0000 · 2024.05.10.</p>"
        "<p>Tel 06 1 234 5679 2024-05-10</p>"
    )
    assert values(html, "HU") == ["+3612345678", "+3612345679"]


def test_bare_digit_strings_need_a_label() -> None:
    assert values("<p>Termék 123456789</p>", "PL") == []
    assert values("<p>Telefon: 123456789</p>", "PL") == ["+48123456789"]


# --- labels -----------------------------------------------------------------------------------------

LABELS = [
    # language, html, region, {E.164: label}
    (
        "en",
        "<p>Hotline: 0800 123 4567</p><p>Sales: 020 7946 0018</p>",
        "GB",
        {"+448001234567": "hotline", "+442079460018": "sales"},
    ),
    (
        "en",
        "<p>Technical support: +44 20 7946 0019</p><p>Billing: +44 20 7946 0017</p>",
        "GB",
        {"+442079460019": "support", "+442079460017": "billing"},
    ),
    (
        "de",
        "<p>Kundenservice: 030 1234567, Telefax: 030 1234568</p>",
        "DE",
        {"+49301234567": "customer-service", "+49301234568": "fax"},
    ),
    (
        "de",
        "<p>Vertrieb: 030 1234569</p><p>Handy: 0171 2345678</p>",
        "DE",
        {"+49301234569": "sales", "+491712345678": "mobile"},
    ),
    (
        "fr",
        "<p>Service client : 01 23 45 67 89</p><p>Télécopie : 01 23 45 67 88</p>",
        "FR",
        {"+33123456789": "customer-service", "+33123456788": "fax"},
    ),
    (
        "es",
        "<p>Atención al cliente: 912 34 56 78</p><p>Ventas: 912 34 56 79</p>",
        "ES",
        {"+34912345678": "customer-service", "+34912345679": "sales"},
    ),
    (
        "it",
        "<p>Servizio clienti: 02 1234 5678</p><p>Reclami: 02 1234 5679</p>",
        "IT",
        {"+390212345678": "customer-service", "+390212345679": "complaints"},
    ),
    (
        "nl",
        "<p>Klantenservice: 020-123 4567</p><p>Verkoop: 020-123 4568</p>",
        "NL",
        {"+31201234567": "customer-service", "+31201234568": "sales"},
    ),
    (
        "hu",
        "<p>Ügyfélszolgálat: 06 1 234 5678</p><p>Infovonal: 06 80 123 456</p>"
        "<p>Zöld szám: 06 80 123 457</p><p>Értékesítés: +36 1 234 5679</p>"
        "<p>Technikai támogatás: +36 1 234 5670</p>",
        "HU",
        {
            "+3612345678": "customer-service",
            "+3680123456": "hotline",
            "+3680123457": "hotline",
            "+3612345679": "sales",
            "+3612345670": "support",
        },
    ),
    (
        "pl",
        "<p>Biuro obsługi klienta: 22 123 45 67</p><p>Infolinia: 801 123 456</p>"
        "<p>Faks: 22 123 45 68</p><p>Wsparcie: 22 123 45 69</p>",
        "PL",
        {
            "+48221234567": "customer-service",
            "+48801123456": "hotline",
            "+48221234568": "fax",
            "+48221234569": "support",
        },
    ),
    (
        "cs",
        "<p>Zákaznická linka: +420 234 567 890</p><p>Prodej: +420 234 567 891</p>",
        "CZ",
        {"+420234567890": "customer-service", "+420234567891": "sales"},
    ),
    ("sk", "<p>Technická podpora: 02/2123 4567</p>", "SK", {"+421221234567": "support"}),
    (
        "ro",
        "<p>Vânzări: 021 123 4567</p><p>Recepţie: 021 123 4568</p>",
        "RO",
        {"+40211234567": "sales", "+40211234568": "reception"},
    ),
    (
        "tr",
        "<p>Müşteri hizmetleri: 444 0 444</p><p>Çağrı merkezi: 0850 123 45 67</p>"
        "<p>Faks: 0212 123 45 67</p><p>Satış: 0212 123 45 68</p><p>Destek: 0212 123 45 69</p>",
        "TR",
        {
            "+904440444": "customer-service",
            "+908501234567": "customer-service",
            "+902121234567": "fax",
            "+902121234568": "sales",
            "+902121234569": "support",
        },
    ),
    (
        "ru",
        "<p>Горячая линия: 8 (800) 555-35-35</p><p>Факс: +7 495 123-45-67</p>"
        "<p>Служба поддержки: +7 495 123-45-68</p><p>Отдел продаж: +7 495 123-45-69</p>",
        "RU",
        {
            "+78005553535": "hotline",
            "+74951234567": "fax",
            "+74951234568": "support",
            "+74951234569": "sales",
        },
    ),
    (
        "uk",
        "<p>Гаряча лінія: 0 800 50 50 50</p><p>Техпідтримка: (044) 123-45-67</p>",
        "UA",
        {"+380800505050": "hotline", "+380441234567": "support"},
    ),
    (
        "lt",
        "<p>Klientų aptarnavimas: 8 5 212 3456</p><p>Pardavimų skyrius: +370 5 212 3457</p>"
        "<p>Faksas: 8 5 212 3458</p><p>Mob. +370 612 34567</p>",
        "LT",
        {"+37052123456": "customer-service", "+37052123457": "sales", "+37052123458": "fax", "+37061234567": "mobile"},
    ),
    (
        "lv",
        "<p>Klientu apkalpošana: +371 67 123 456</p><p>Tehniskais atbalsts: 67 123 457</p>"
        "<p>Fakss: 67 123 458</p>",
        "LV",
        {"+37167123456": "customer-service", "+37167123457": "support", "+37167123458": "fax"},
    ),
    (
        "et",
        "<p>Klienditeenindus: +372 612 3456</p><p>Müük: 612 3457</p><p>Mob. 5123 4567</p>",
        "EE",
        {"+3726123456": "customer-service", "+3726123457": "sales", "+37251234567": "mobile"},
    ),
]


@pytest.mark.parametrize(("lang", "html", "region", "expected"), LABELS, ids=[c[0] for c in LABELS])
def test_labels_in_many_languages(lang: str, html: str, region: str, expected: dict) -> None:
    found = by_value(html, region)
    assert {v: p.label for v, p in found.items()} == expected


def test_label_languages_cover_the_issue() -> None:
    covered = {case[0] for case in LABELS}
    assert {
        "en",
        "de",
        "fr",
        "es",
        "it",
        "nl",
        "hu",
        "pl",
        "cs",
        "sk",
        "ro",
        "tr",
        "ru",
        "uk",
    } <= covered


def test_fax_is_labelled_fax_and_never_hotline() -> None:
    assert by_value("<p>Fax-Hotline: 06 1 234 5678</p>", "HU")["+3612345678"].label == "fax"
    assert by_value("<p>Tel./Fax: 06 1 234 5678</p>", "HU")["+3612345678"].label == "fax"
    assert by_value("<p>06 1 234 5679 (fax)</p>", "HU")["+3612345679"].label == "fax"
    html = "<p>Hotline: 06 1 234 5678</p><p>Fax: 06 1 234 5678</p>"
    assert [(p.value, p.label) for p in phones(html, "HU")] == [("+3612345678", "fax")]


def test_tel_and_fax_on_one_line_keep_their_own_labels() -> None:
    found = by_value("<p>Tel: 06 1 234 5678 Fax: 06 1 234 5679</p>", "HU")
    assert found["+3612345678"].label is None
    assert found["+3612345679"].label == "fax"


def test_a_number_after_a_labelled_one_shares_its_label() -> None:
    found = by_value("<p>Ügyfélszolgálat: 06 1 234 5678, 06 1 234 5677</p>", "HU")
    assert found["+3612345677"].label == "customer-service"


def test_mobile_only_when_the_page_gives_no_better_label() -> None:
    plain = by_value("<p>+36 30 123 4567</p>", "HU")["+36301234567"]
    assert plain.label == "mobile"
    assert plain.details["number_type"] == "MOBILE"
    assert plain.details["label_source"] == "number-type"
    named = by_value("<p>Értékesítés: +36 30 123 4567</p>", "HU")["+36301234567"]
    assert named.label == "sales"
    assert by_value("<p>WhatsApp: +36 30 123 4567</p>", "HU")["+36301234567"].label == "whatsapp"


def test_a_heading_block_labels_the_numbers_below_it() -> None:
    html = (
        "<h3>Sales</h3><p>+44 20 7946 0018</p>"
        "<dl><dt>Fax</dt><dd>020 7946 0019</dd><dt>Hotline</dt><dd>0800 123 4567</dd></dl>"
    )
    found = by_value(html, "GB")
    assert {v: p.label for v, p in found.items()} == {
        "+442079460018": "sales",
        "+442079460019": "fax",
        "+448001234567": "hotline",
    }


def test_label_glued_to_the_digits_by_inline_markup() -> None:
    html = "<p><span>Hotline</span><span>0800 123 4567</span></p>"
    assert by_value(html, "DE")["+498001234567"].label == "hotline"


def test_label_data_is_consistent() -> None:
    data = load("phone_labels.toml")
    labels = set(data["labels"])
    assert labels >= {
        "hotline",
        "customer-service",
        "sales",
        "support",
        "fax",
        "mobile",
        "office",
        "billing",
        "complaints",
        "reception",
        "whatsapp",
    }
    owner: dict[str, str] = {}
    for label, by_lang in data["labels"].items():
        for keywords in by_lang.values():
            for keyword in keywords:
                assert owner.setdefault(keyword.lower(), label) == label, keyword
    assert data["guards"]["id_keywords"] and data["guards"]["amount_units"]


# --- sources ------------------------------------------------------------------------------------------


def test_tel_link_with_percent_encoding() -> None:
    html = '<p>Hotline: <a href="tel:+36%201%20234%205678">06 1 234 5678</a></p>'
    links = [p for p in phones(html, "HU") if p.method == "tel-link"]
    assert len(links) == 1
    link = links[0]
    assert (link.value, link.label, link.raw) == (
        "+3612345678",
        "hotline",
        "tel:+36%201%20234%205678",
    )
    assert link.page_url == URL
    assert "Hotline" in link.context


@pytest.mark.parametrize(
    ("href", "region", "e164"),
    [
        ("tel:06-1-234-5678", "HU", "+3612345678"),
        ("TEL:+3612345678", None, "+3612345678"),
        ("tel://+36-1-234-5678;ext=12", None, "+3612345678"),
        ("callto:+49%2030%201234567", None, "+49301234567"),
        ("callto://+4930%201234567", None, "+49301234567"),
        ("tel:+36%20(0)1%20234%205678", None, "+3612345678"),
    ],
)
def test_tel_and_callto_links(href: str, region: str | None, e164: str) -> None:
    found = [p for p in phones(f'<a href="{href}" title="Support">call</a>', region)]
    assert [(p.value, p.method, p.label) for p in found] == [(e164, "tel-link", "support")]


@pytest.mark.parametrize("href", ["tel:", "tel:%", "tel:123", "callto:skype.name", "tel:+1111111"])
def test_tel_links_that_are_not_numbers(href: str) -> None:
    assert phones(f'<a href="{href}">x</a>', "HU") == []


def test_tel_link_beats_text_in_confidence() -> None:
    html = '<p>Tel: <a href="tel:+3612345678">+36 1 234 5678</a></p>'
    found = {p.method: p for p in phones(html, "HU")}
    assert set(found) == {"tel-link", "text"}
    assert found["tel-link"].confidence > found["text"].confidence


JSON_LD = {
    "@context": "https://schema.org",
    "@graph": [
        {
            "@type": "Organization",
            "name": "Példa Kft.",
            "telephone": "+36 1 234 5678",
            "faxNumber": "+36 1 234 5679",
            "address": {"@type": "PostalAddress", "addressCountry": "HU"},
            "contactPoint": [
                {
                    "@type": "ContactPoint",
                    "telephone": "06 80 123 456",
                    "contactType": "customer service",
                },
                {"@type": "ContactPoint", "telephone": ["+36 30 123 4567"], "contactType": "sales"},
            ],
        },
        {"@type": "LocalBusiness", "telephone": {"@value": "+49 30 1234567"}},
    ],
}


def test_json_ld_telephone_and_fax_number() -> None:
    html = f'<script type="application/ld+json">{json.dumps(JSON_LD)}</script><p>x</p>'
    found = {p.value: p for p in phones(html, None) if p.method == "json-ld"}
    assert {v: p.label for v, p in found.items()} == {
        "+3612345678": None,
        "+3612345679": "fax",
        "+3680123456": "customer-service",  # local format read with the addressCountry
        "+36301234567": "sales",
        "+49301234567": None,
    }
    assert all(p.confidence >= 0.9 for p in found.values())


def test_microdata_telephone() -> None:
    html = (
        '<div itemscope itemtype="https://schema.org/LocalBusiness"><span itemprop="name">Y</span>'
        '<span itemprop="telephone">030 1234567</span>'
        '<span itemprop="faxNumber">030 1234568</span></div>'
    )
    found = {p.value: p for p in phones(html, "DE") if p.method == "microdata"}
    assert {v: p.label for v, p in found.items()} == {"+49301234567": None, "+49301234568": "fax"}
    assert "LocalBusiness" in found["+49301234567"].context


# --- no region ------------------------------------------------------------------------------------


def test_without_a_region_only_international_or_labelled_numbers() -> None:
    assert values("<p>+36 1 234 5678</p>", None) == ["+3612345678"]
    assert values("<p>06 1 234 5678</p>", None) == []
    assert values("<p>Telefonszám: 06 1 234 5678</p>", None) == ["+3612345678"]
    assert values("<p>Phone: 020 7946 0018</p>", None) == []  # English names no country
    labelled = by_value("<p>Ügyfélszolgálat: 06 1 234 5678</p>", None)["+3612345678"]
    assert labelled.label == "customer-service"
    assert (
        labelled.confidence
        < by_value("<p>Ügyfélszolgálat: 06 1 234 5678</p>", "HU")["+3612345678"].confidence
    )


def test_an_unknown_region_code_counts_as_none() -> None:
    assert values("<p>06 1 234 5678</p>", "XX") == []
    assert values("<p>06 1 234 5678</p>", "hu") == ["+3612345678"]


# --- blocks, records, dedupe -----------------------------------------------------------------------


def test_fragments_split_across_blocks_are_not_joined() -> None:
    assert values("<div>06 1</div><div>234 5678</div>", "HU") == []
    assert values("<p>Tel: <span>06 1</span> <span>234 5678</span></p>", "HU") == ["+3612345678"]


def test_record_fields() -> None:
    html = (
        "<p>" + "Lorem ipsum dolor sit amet. " * 20 + "Tel.: +36 1 234 5678 " + "x " * 200 + "</p>"
    )
    (point,) = phones(html, "HU")
    assert point.kind == "phone"
    assert point.page_url == URL
    assert point.raw == "+36 1 234 5678"
    assert "+36 1 234 5678" in point.context
    assert len(point.context) <= CONTEXT_MAX
    assert 0.0 <= point.confidence <= 1.0


def test_dedupe_by_value_and_method_keeps_the_best_label() -> None:
    html = (
        "<p>06 1 234 5678</p><p>Ügyfélszolgálat: 06 1 234 5678</p><p>+36 1 234 5678</p>"
        '<a href="tel:+3612345678">hívjon</a>'
    )
    found = [(p.method, p.value, p.label) for p in phones(html, "HU")]
    assert sorted(found) == [
        ("tel-link", "+3612345678", None),
        ("text", "+3612345678", "customer-service"),
    ]


def digit_heavy_page(size: int = 300_000) -> str:
    """Tables of SKUs, prices, dates and links, a few paragraphs of ids, and two phones."""
    rng = random.Random(7)
    parts = ["<html><body><header><p>Ügyfélszolgálat: +36 1 234 5678</p></header><table>"]
    row = 0
    while sum(map(len, parts)) < size:
        row += 1
        sku = rng.randint(10**7, 10**8 - 1)
        day = f"{rng.randint(1, 28):02d}.{rng.randint(1, 12):02d}.20{rng.randint(10, 24)}"
        parts.append(
            f"<tr><td>Product {row}</td><td>SKU {sku}</td><td>{rng.randint(1, 99)} "
            f"{rng.randint(100, 999)} Ft</td><td>{day}</td><td>{rng.randint(1000, 99999)} pcs</td>"
            f"<td><a href='/produkt/{sku}'>/produkt/{sku}</a></td></tr>"
        )
        if row % 20 == 0:
            parts.append(
                f"</table><p>Order no. {rng.randint(10**8, 10**9)} of 2024-05-1{rng.randint(0, 9)}, "
                f"img_{rng.randint(10**7, 10**8)}_{rng.randint(10**5, 10**6)}.jpg, 03/2015 – "
                f"03/2016, 2016/679, € 1.234,56, {rng.randint(100, 999)} 345 ₽.</p><table>"
            )
    parts.append(
        "</table><footer><p>IBAN HU42 1177 3016 1111 1018 0000 0000 · Adószám: 12345678-2-42"
        "</p><p>Fax: 06 1 234 5670</p></footer></body></html>"
    )
    return "".join(parts)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("HU", {"+3612345678", "+3612345670"}),
        ("DE", {"+3612345678", "+49612345670"}),  # "06 1 234 5670" is a valid DE number too
        ("PL", {"+3612345678"}),
        ("RU", {"+3612345678"}),
        (None, {"+3612345678"}),
    ],
)
def test_digit_heavy_300kb_page(region: str | None, expected: set[str]) -> None:
    html = digit_heavy_page()
    assert len(html) >= 300_000
    assert {p.value for p in phones(html, region)} == expected


def test_keywords_hold_no_digits() -> None:
    """Label and id words are looked up in digit shapes (digits written as 0), so no keyword
    may spell a digit: its matches would differ between the text and its shape."""
    data = load("phone_labels.toml")
    keywords = [k for by_lang in [data["phone"], *data["labels"].values()] for ks in by_lang.values()
                for k in ks]  # fmt: skip
    keywords += data["joiners"]["words"] + data["guards"]["id_keywords"]
    assert keywords and not [k for k in keywords if any(c.isdigit() for c in k)]


DECOY_TEXTS = [
    "10.05.2024", "10/05/2024", "05/10/2024", "2024-05-10", "2024.05.10.", "2015-2016",
    "03.2015-04.2016", "03/2015 03/2016", "03/2015", "2016/679", "12/2020", "08.00-16.00",
    "IBAN HU42 1177 3016 1111 1018 0000 0000", "12345678-2-42", "12345678-12345678-12345678",
    "01-09-123456", "12345-6789", "00-950", "D-10115", "CH-8001", "1.234.567,00", "06 1 234 5678",
    "2024 – 2025", "Tel. 06-1-234-5678, 2024.05.10", "x12.05.2024y", "DE-12345x", "12:00 - 13:00",
]  # fmt: skip


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.one_of(
        st.sampled_from(DECOY_TEXTS),
        st.lists(st.sampled_from(DECOY_TEXTS), max_size=4).map(" ".join),
        st.text(alphabet=st.sampled_from(list("0123456789./-:, \u2013ADHUx")), max_size=40),
    )
)
def test_decoy_lookahead_changes_no_match(text: str) -> None:
    plain = re.compile("|".join(phones_candidates._DECOY_PATTERNS))
    assert [m.span() for m in phones_candidates.DECOY_RUNS.finditer(text)] == [
        m.span() for m in plain.finditer(text)
    ]


def product_grid(tiles: int) -> str:
    """Shop tiles: names, prices, dates (some starting with 0, a valid trunk), order numbers."""
    return "".join(
        f"<div><h3>Product {i} model {i * 7 % 1000}</h3><span>{i % 90 + 10} {i % 900 + 100} Ft"
        f"</span><p>Added {i % 28 + 1:02d}.{i % 12 + 1:02d}.2021 · order no. {10**9 + i * 7919}"
        f" · rated {i % 5 + 1}/5 by {i % 900 + 2} buyers</p></div>"
        for i in range(tiles)
    )


@pytest.mark.parametrize(
    ("region", "contact", "expected"),
    [
        ("DE", "<p>Tel.: 030 1234567, Fax: 030 1234568</p>", {("+49301234567", None),
                                                                 ("+49301234568", "fax")}),
        ("IT", "<p>Servizio clienti: 06 1234 5678</p>", {("+390612345678", "customer-service")}),
        ("HU", "<p>Ügyfélszolgálat</p><p>06 1 234 5678</p>", {("+3612345678", "customer-service")}),
        (None, "<p>Hotline: +49 800 1234567</p>", {("+498001234567", "hotline")}),
    ],
)  # fmt: skip
def test_numbers_beside_a_product_grid(region: str | None, contact: str, expected: set) -> None:
    html = f"<html><body>{contact}{product_grid(2000)}</body></html>"
    assert len(html) > 250_000
    page = parse_page(html, URL)
    _match.cache_clear()
    found = {(p.value, p.label) for p in extract_phones(page, ExtractContext(region))}
    # Bounded work, whatever the machine's speed: the grid's thousands of digit runs are
    # turned away before libphonenumber's matcher, which runs on the contact's windows only.
    assert _match.cache_info().misses <= len(expected)
    assert found == expected == {(p.value, p.label) for p in phones(contact, region)}


# --- hostile input ------------------------------------------------------------------------------------

HOSTILE = [
    "",
    "0" * 100_000,
    "1 - " * 50_000,
    " ".join(["0612345678"] * 20_000),
    "+" * 10_000 + "3612345678",
    "(((((((((06 1) 234 5678",
    "٠٦ ١ ٢٣٤ ٥٦٧٨ ١٢٣٤٥٦٧٨٩",
    "０６ １ ２３４ ５６７８",
    "\u202e06 1 234 5678\u202c \u200b+36\u200b1 234 5678 \ufeff",
    "Tel: " + "06 1 234 5678, " * 300,
    "tel.: 06 1 234 5678 \U0001f4de\U0001f4de \udcff",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_never_raises(text: str) -> None:
    for region in ("HU", "RU", None):
        found = phones(f"<p>{text}</p><a href='tel:{text[:500]}'>{text[:50]}</a>", region)
        assert all(p.kind == "phone" and p.value.startswith("+") for p in found)


@pytest.mark.parametrize(
    "ld",
    [
        '{"telephone": 123456789}',
        '{"telephone": null, "faxNumber": {"a": [1, 2]}}',
        '[1, 2, "x", null]',
        '{"@graph": "x"}',
        '{"telephone": ["+36 1 234 5678", 5, null, {"@value": "+36 1 234 5679"}]}',
        '{"faxNumber": "' + "9" * 100_000 + '"}',
        '{"@type":"Thing","x":[' * 3000 + '{"telephone": "+36 1 234 5678"}' + "]}" * 3000,
        "{not json",
    ],
    ids=range(8),
)
def test_hostile_structured_data_never_raises(ld: str) -> None:
    html = f'<script type="application/ld+json">{ld}</script><p>Tel.: +36 1 234 5677</p>'
    assert "+3612345677" in values(html, "HU")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(
        alphabet=st.sampled_from(list("0123456789 +-()./:,_#€₽Ft Tel Fax телефон ٣٤\u200b")),
        max_size=300,
    ),
    region=st.sampled_from(["HU", "DE", "RU", "TR", None]),
)
def test_random_text_never_raises(text: str, region: str | None) -> None:
    for point in phones(f"<p>{text}</p>", region):
        assert phonenumbers.is_valid_number(phonenumbers.parse(point.value))


def test_premium_number_followed_by_its_price() -> None:
    """Premium lines are usually published with their price right after them."""
    for text in (
        "<p>Hotline: 0900 5 555 123 (1,99 €/Min.)</p>",
        "<p>Hotline: 0900 5 555 123 – 1,99 € pro Minute</p>",
        "<p>Hotline: 0900 5 555 123, 1,99 €/Min.</p>",
    ):
        found = [c.value for c in extract_phones(parse_page(text, "https://x.de/"), ExtractContext("DE"))]
        assert found == ["+499005555123"], text
    for decoy in ("<p>Preis: 1 299 Ft</p>", "<p>Summe: € 1.234,56</p>", "<p>12 345 ₽ (скидка 5 %)</p>"):
        assert extract_phones(parse_page(decoy, "https://x.de/"), ExtractContext("DE")) == [], decoy


def test_a_title_names_the_number_over_the_line_of_topics_below_it() -> None:
    card = "<h2>{title}</h2><p>Paketid, arved, lepingud ja kasutajaõigused</p><p>Tel. +372 612 3456</p>"
    assert by_value(card.format(title="Klienditeenindus"), "EE")["+3726123456"].label == "customer-service"
    # with no purpose in the title, the topics still name it
    assert by_value(card.format(title="Koodiveski Tartu"), "EE")["+3726123456"].label == "billing"
    long_topics = (
        "<h3>Klientu apkalpošana</h3><p>Esošo pasūtījumu statuss, dokumenti (CMR, pavadzīmes), "
        "rēķinu kopijas</p><p>Tālr.: +371 67 654 323</p>"
    )
    assert by_value(long_topics, "LV")["+37167654323"].label == "customer-service"
