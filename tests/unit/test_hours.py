"""Service hours in many languages, from text and schema.org, and what they apply to."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.extract.context import ExtractContext
from auditor.extract.hours import blocks as hour_blocks
from auditor.extract.hours import digit_shapes, extract_hours, lexing, vocab, vocabulary
from auditor.extract.page import ParsedPage, parse_page
from auditor.models import ContactPoint
from auditor.text import fold

URL = "https://www.example.eu/contact"


def _page(body: str, lang: str | None = None, head: str = "") -> ParsedPage:
    attr = f' lang="{lang}"' if lang else ""
    return parse_page(f"<html{attr}><head>{head}</head><body>{body}</body></html>", URL)


def _values(body: str, lang: str | None = None) -> list[str]:
    return [p.value for p in extract_hours(_page(body, lang))]


# (page language, html, expected normalized value)
TEXT_CASES: list[tuple[str, str, str]] = [
    (
        "en",
        "<p>Customer service: Mon-Fri 8:00-17:00, Sat 9:00-13:00, Sun closed</p>",
        "Mo-Fr 08:00-17:00; Sa 09:00-13:00",
    ),
    ("en", "<p>Hours: Monday to Friday, 9am - 5:30pm</p>", "Mo-Fr 09:00-17:30"),
    ("en", "<p>Open Monday - Friday 8-5</p>", "Mo-Fr 08:00-17:00"),
    ("en", "<p>Sa 9-13</p>", "Sa 09:00-13:00"),
    ("en", "<p>Open daily 10:00-22:00</p>", "Mo-Su 10:00-22:00"),
    ("de", "<p>Mo–Fr 08:00–18:00 Uhr</p>", "Mo-Fr 08:00-18:00"),
    (
        "de",
        "<p>Montag bis Freitag von 8 bis 17 Uhr, Samstag 9 bis 12 Uhr</p>",
        "Mo-Fr 08:00-17:00; Sa 09:00-12:00",
    ),
    ("de", "<p>Mo, Mi, Fr: 8.00–12.00 Uhr</p>", "Mo,We,Fr 08:00-12:00"),
    (
        "fr",
        "<p>Horaires : lun.-ven. 9h-18h, sam. 9h30-12h</p>",
        "Mo-Fr 09:00-18:00; Sa 09:30-12:00",
    ),
    ("fr", "<p>Du lundi au vendredi de 9h à 17h</p>", "Mo-Fr 09:00-17:00"),
    ("es", "<p>Horario: L-V de 9:00 a 14:00</p>", "Mo-Fr 09:00-14:00"),
    ("es", "<p>Lunes a viernes 9:00 - 18:00</p>", "Mo-Fr 09:00-18:00"),
    ("it", "<p>Orari: lunedì-venerdì 9:00-18:00</p>", "Mo-Fr 09:00-18:00"),
    ("it", "<p>Dal lunedì al venerdì dalle 9 alle 18</p>", "Mo-Fr 09:00-18:00"),
    ("nl", "<p>Openingstijden: ma t/m vr 9:00 - 17:30</p>", "Mo-Fr 09:00-17:30"),
    ("hu", "<p>Ügyfélszolgálat: H–P: 8–17</p>", "Mo-Fr 08:00-17:00"),
    ("hu", "<p>hétfő–péntek 8:00–16:30</p>", "Mo-Fr 08:00-16:30"),
    ("hu", "<p>Hétfőtől péntekig 8-tól 16-ig</p>", "Mo-Fr 08:00-16:00"),
    ("hu", "<p>H-Cs: 8:00-16:30, P: 8:00-14:00</p>", "Mo-Th 08:00-16:30; Fr 08:00-14:00"),
    ("pl", "<p>Biuro czynne pon.-pt. 8-16</p>", "Mo-Fr 08:00-16:00"),
    ("pl", "<p>Od poniedziałku do piątku w godz. 8:00-16:00</p>", "Mo-Fr 08:00-16:00"),
    ("cs", "<p>Po–Pá 8:00–16:00</p>", "Mo-Fr 08:00-16:00"),
    ("cs", "<p>Pondělí – pátek od 8 do 16 hod.</p>", "Mo-Fr 08:00-16:00"),
    ("sk", "<p>Po – Pi: 8:00 – 16:00</p>", "Mo-Fr 08:00-16:00"),
    ("ro", "<p>Program: Luni - Vineri 09:00 - 17:00</p>", "Mo-Fr 09:00-17:00"),
    ("tr", "<p>Pzt-Cuma 09:00-18:00, Cmt 10:00-14:00</p>", "Mo-Fr 09:00-18:00; Sa 10:00-14:00"),
    ("tr", "<p>Pazartesi - Cuma 09:00 - 18:00</p>", "Mo-Fr 09:00-18:00"),
    (
        "ru",
        "<p>Режим работы: пн-пт 9:00-18:00, сб 10:00-15:00</p>",
        "Mo-Fr 09:00-18:00; Sa 10:00-15:00",
    ),
    ("ru", "<p>С понедельника по пятницу с 9 до 18</p>", "Mo-Fr 09:00-18:00"),
    ("uk", "<p>Графік: пн-пт 9:00-18:00</p>", "Mo-Fr 09:00-18:00"),
    ("sv", "<p>Kundtjänst: mån–fre 08.00–17.00, lör 10.00–14.00</p>", "Mo-Fr 08:00-17:00; Sa 10:00-14:00"),
    ("sv", "<p>Öppettider: vardagar kl. 9–16</p>", "Mo-Fr 09:00-16:00"),
    ("nb", "<p>Kundeservice: mandag–fredag kl. 08.00–16.00</p>", "Mo-Fr 08:00-16:00"),
    ("da", "<p>Telefontid: man.–fre. kl. 9.00–16.00, lørdag lukket</p>", "Mo-Fr 09:00-16:00"),
    ("fi", "<p>Asiakaspalvelu palvelee ma–pe klo 8.00–16.00</p>", "Mo-Fr 08:00-16:00"),
    ("fi", "<p>Avoinna arkisin klo 9–17, la 10–14</p>", "Mo-Fr 09:00-17:00; Sa 10:00-14:00"),
    ("el", "<p>Ωράριο: Δευτέρα - Παρασκευή 09:00 - 17:00</p>", "Mo-Fr 09:00-17:00"),
    ("el", "<p>ΔΕΥΤΕΡΑ – ΠΑΡΑΣΚΕΥΗ 9:00 – 17:00, ΣΑΒΒΑΤΟ 10:00 – 14:00</p>", "Mo-Fr 09:00-17:00; Sa 10:00-14:00"),
    ("bg", "<p>Работно време: понеделник – петък: 9.00 – 18.00 ч.</p>", "Mo-Fr 09:00-18:00"),
    ("bg", "<p>пн-пт 9:00-18:00, съб 10:00-14:00</p>", "Mo-Fr 09:00-18:00; Sa 10:00-14:00"),
    ("pt", "<p>Horário: segunda a sexta, das 9h às 18h</p>", "Mo-Fr 09:00-18:00"),
    ("pt", "<p>Seg. a Sex.: 9:00 - 18:00</p>", "Mo-Fr 09:00-18:00"),
    ("hr", "<p>Radno vrijeme: pon – pet 8:00 – 16:00, sub 8:00 – 13:00</p>", "Mo-Fr 08:00-16:00; Sa 08:00-13:00"),
    ("hr", "<p>Radnim danima od 8 do 16 sati</p>", "Mo-Fr 08:00-16:00"),
    ("sl", "<p>Delovni čas: pon.–pet. 8.00–15.00</p>", "Mo-Fr 08:00-15:00"),
    ("lt", "<p>Darbo laikas: I–V 8:00–17:00, VI 9:00–14:00</p>", "Mo-Fr 08:00-17:00; Sa 09:00-14:00"),
    ("lt", "<p>Pirmadienis–penktadienis 8.00–17.00</p>", "Mo-Fr 08:00-17:00"),
    ("lt", "<p>Pr–Pn 9:00–18:00, Št 10:00–15:00</p>", "Mo-Fr 09:00-18:00; Sa 10:00-15:00"),
    ("lv", "<p>Darba laiks: P.–Pk. 9:00–18:00, S. 10:00–14:00</p>", "Mo-Fr 09:00-18:00; Sa 10:00-14:00"),
    ("lv", "<p>Pirmdiena – Piektdiena 8:30 – 17:00</p>", "Mo-Fr 08:30-17:00"),
    ("lv", "<p>Darba dienās no 9 līdz 18</p>", "Mo-Fr 09:00-18:00"),
    ("et", "<p>Lahtiolekuajad: E–R 9–17, L 10–15</p>", "Mo-Fr 09:00-17:00; Sa 10:00-15:00"),
    ("et", "<p>Esmaspäevast reedeni kell 9.00–17.00</p>", "Mo-Fr 09:00-17:00"),
    ("et", "<p>Tööpäeviti 8:00–16:30</p>", "Mo-Fr 08:00-16:30"),
    # Japanese hours in 時 (o'clock) and 分 (minutes): 9時 is 9:00, 9時30分 is 9:30
    ("ja", "<p>受付時間：月～金 9時～18時</p>", "Mo-Fr 09:00-18:00"),
    ("ja", "<p>営業時間：平日 9時30分～17時30分</p>", "Mo-Fr 09:30-17:30"),
    ("ja", "<p>受付時間 月～金 9時〜18時 土 10時〜15時</p>", "Mo-Fr 09:00-18:00; Sa 10:00-15:00"),
    # particles joined to the words: から/より "from ... to", の, まで
    ("ja", "<p>受付時間：月曜日から金曜日 9:00～18:00</p>", "Mo-Fr 09:00-18:00"),
    ("ja", "<p>受付時間：月曜日～金曜日の9:00～18:00</p>", "Mo-Fr 09:00-18:00"),
    ("ja", "<p>受付時間：月曜日から金曜日の9時から18時まで</p>", "Mo-Fr 09:00-18:00"),
    ("ja", "<p>受付時間：月・水・金 9:00～17:00</p>", "Mo,We,Fr 09:00-17:00"),  # the list dot
]


@pytest.mark.parametrize(("lang", "html", "value"), TEXT_CASES)
def test_text_hours(lang: str, html: str, value: str) -> None:
    points = extract_hours(_page(html, lang))
    assert [p.value for p in points] == [value]
    point = points[0]
    assert point.kind == "hours" and point.method == "text" and point.label is None
    assert point.details["always_open"] is False
    assert point.details["applies_to"] is None
    assert point.raw and point.raw in html


@pytest.mark.parametrize(("lang", "html", "value"), TEXT_CASES)
def test_text_hours_without_page_language(lang: str, html: str, value: str) -> None:
    assert _values(html) == [value]


def test_spans_and_closed_days_in_details() -> None:
    point = extract_hours(
        _page("<p>Mon-Fri 8:00-12:00, 13:00-17:00; Sat 9-13; Sun closed</p>", "en")
    )[0]
    assert point.value == "Mo-Fr 08:00-12:00,13:00-17:00; Sa 09:00-13:00"
    workdays = ["Mo", "Tu", "We", "Th", "Fr"]
    assert point.details["spans"] == [
        {"days": workdays, "open": "08:00", "close": "12:00"},
        {"days": workdays, "open": "13:00", "close": "17:00"},
        {"days": ["Sa"], "open": "09:00", "close": "13:00"},
    ]
    assert point.details["closed"] == ["Su"]


CLOSED_AFTER_RANGE: list[tuple[str, str, str, list[str]]] = [
    ("en", "<p>Opening hours 9:00-18:00 (Saturday, Sunday closed)</p>", "09:00-18:00", ["Sa", "Su"]),
    ("ja", "<p>受付時間 9:00～18:00（土日祝日を除く）</p>", "09:00-18:00", ["Sa", "Su"]),
    ("ja", "<p>受付時間 9:00～17:00（土・日・祝日を除く）</p>", "09:00-17:00", ["Sa", "Su"]),
    ("en", "<p>Hours: 9:00-17:00 Mon-Fri, Sun closed</p>", "Mo-Fr 09:00-17:00", ["Su"]),
    ("en", "<p>Hours: 9:00-17:00 Mon-Fri, Sat-Sun closed</p>", "Mo-Fr 09:00-17:00", ["Sa", "Su"]),
]


@pytest.mark.parametrize(("lang", "html", "value", "closed"), CLOSED_AFTER_RANGE)
def test_days_a_closed_word_follows_are_not_the_ranges(lang: str, html: str, value: str, closed: list[str]) -> None:
    """A range followed by days and a closed word: those days are closed, not open at its
    hours (a schedule that says a company answers on the days it says it is closed)."""
    points = extract_hours(_page(html, lang))
    assert [(p.value, p.details.get("closed")) for p in points] == [(value, closed)]


def test_days_after_a_range_without_a_closed_word_are_its_days() -> None:
    assert _values("<p>Hours: 9:00-17:00 Mon-Fri, Sun</p>", "en") == ["Mo-Fr,Su 09:00-17:00"]


def test_particles_are_read_in_place() -> None:
    particles = vocab().particles
    assert particles is not None
    text = "月曜日から金曜日の9時から18時まで"
    read = particles.read(text)
    assert read == "月曜日~ 金曜日 9時~ 18時  " and len(read) == len(text)
    assert particles.read("Mo-Fr 9:00-18:00 の") == "Mo-Fr 9:00-18:00  "
    assert particles.read("東京都港区") == "東京都港区"  # no hiragana: left as it is
    with pytest.raises(ValueError, match="changes offsets"):
        vocabulary.Particles.of({"script": "[ぁ-ゟ]", "read_as": {"の": "~~"}})


def test_closed_days_are_details_not_hours() -> None:
    assert extract_hours(_page("<p>Sat: closed</p>", "en")) == []
    body = "<p>Mon-Fri 9:00-17:00</p><p>Our team</p><p>Sat, Sun: closed</p>"
    [point] = extract_hours(_page(body, "en"))
    assert point.value == "Mo-Fr 09:00-17:00"
    assert point.details["closed"] == ["Sa", "Su"]


def test_lunch_break_is_not_opening_hours() -> None:
    assert _values("<p>Mo-Fr 8:00-17:00 Uhr, Mittagspause 12:00-13:00</p>", "de") == [
        "Mo-Fr 08:00-17:00"
    ]
    assert _values("<p>H-P 8:00-16:00 (ebédszünet: 12:00-12:30)</p>", "hu") == ["Mo-Fr 08:00-16:00"]


def test_table_with_days_and_times_in_separate_cells() -> None:
    rows = [("Hétfő", "8:00-16:00"), ("Kedd", "8:00-16:00"), ("Szerda", "8:00-16:00"),
            ("Csütörtök", "8:00-16:00"), ("Péntek", "8:00-14:00"), ("Szombat", "Zárva"), ("Vasárnap", "Zárva")]  # fmt: skip
    table = "".join(f"<tr><td>{d}</td><td>{t}</td></tr>" for d, t in rows)
    points = extract_hours(_page(f"<h3>Nyitvatartás</h3><table>{table}</table>", "hu"))
    assert [p.value for p in points] == ["Mo-Th 08:00-16:00; Fr 08:00-14:00"]
    assert points[0].details["closed"] == ["Sa", "Su"]


def test_definition_list_layout() -> None:
    body = "<dl><dt>Monday – Friday</dt><dd>09:00 – 18:00</dd><dt>Saturday</dt><dd>10:00 – 14:00</dd></dl>"
    assert _values(body, "en") == ["Mo-Fr 09:00-18:00; Sa 10:00-14:00"]


def test_two_departments_are_two_schedules() -> None:
    body = "<p>Ügyfélszolgálat: H-P 8-16</p><p>Pénztár: H-Cs 9-15</p>"
    assert _values(body, "hu") == ["Mo-Fr 08:00-16:00", "Mo-Th 09:00-15:00"]


ALWAYS: list[tuple[str, str]] = [
    ("en", "Support available 24/7"),
    ("en", "We answer 24 hours a day, 7 days a week"),
    ("en", "Emergency line open round the clock"),
    ("hu", "Hibabejelentés 0-24 órában"),
    ("hu", "Ügyelet: 0–24"),
    ("hu", "Éjjel-nappal hívható"),
    ("hu", "Nonstop ügyfélszolgálat"),
    ("de", "Rund um die Uhr erreichbar"),
    ("de", "Hotline non-stop"),
    ("tr", "7 gün 24 saat hizmetinizdeyiz"),
    ("tr", "Çağrı merkezi 7/24 açık"),
    ("pl", "Infolinia czynna całodobowo"),
    ("ru", "Работаем круглосуточно"),
    ("uk", "Працюємо цілодобово"),
    ("fr", "Assistance 24h/24 et 7j/7"),
    ("es", "Atención las 24 horas"),
    ("it", "Assistenza 24 ore su 24"),
    ("cs", "Linka je v provozu nepřetržitě"),
    ("sk", "Dispečing nepretržite"),
    ("nl", "24/7 bereikbaar"),
    ("ro", "Non-stop"),
    ("sv", "Kundtjänst öppen dygnet runt"),
    ("da", "Vagttelefon døgnet rundt"),
    ("nb", "Døgnåpent kundesenter"),
    ("fi", "Päivystys ympäri vuorokauden"),
    ("el", "Εξυπηρέτηση όλο το 24ωρο"),
    ("bg", "Работим денонощно"),
    ("pt", "Linha de apoio 24 horas por dia"),
    ("hr", "Dežurstvo 24 sata dnevno"),
    ("sl", "Dežurna služba 24 ur na dan"),
    ("lt", "Avarinė tarnyba dirba visą parą"),
    ("lv", "Dežurants pieejams visu diennakti"),
    ("et", "Rikketelefon töötab ööpäevaringselt"),
]


@pytest.mark.parametrize(("lang", "text"), ALWAYS)
def test_always_open_phrases(lang: str, text: str) -> None:
    points = extract_hours(_page(f"<p>{text}</p>", lang))
    assert [p.value for p in points] == ["24/7"], text
    assert points[0].details["always_open"] is True
    assert points[0].details["spans"] == [
        {"days": ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"], "open": "00:00", "close": "24:00"}
    ]


@pytest.mark.parametrize(("lang", "text"), ALWAYS)
def test_always_open_quick_test_admits_every_phrase(lang: str, text: str) -> None:
    v = vocab()
    assert v.always.search(text) and v.always_quick.search(text)


def test_all_days_full_time_is_always_open() -> None:
    assert _values("<p>Mo-Su 00:00-24:00</p>", "en") == ["24/7"]
    assert _values("<p>Mo-Fr 0-24</p>", "hu") == ["Mo-Fr 00:00-24:00"]


DECOYS: list[tuple[str, str]] = [
    ("en", "Published 2024-05-09, updated 12.05.2024"),
    ("de", "Veranstaltung: 12.05.-16.05.2024 in Berlin"),
    ("hu", "Tel.: +36 1 408-1600, mobil: 06 30 8-16-55-44"),
    ("hu", "Hétfőn hívjon: 06-1-8-16-2345"),
    ("en", "Prices 10.50-20.00 EUR, shoe sizes 8-16"),
    ("hu", "Ár: 8 000 - 16 000 Ft"),
    ("en", "Sat 9-13 €"),
    ("en", "Delivery in 1-2 business days"),
    ("en", "Call 8-16 now"),
    ("en", "The event runs 10:00-12:00 in room 4."),
    ("en", "Chapter 9 to 17 covers Monday and Friday"),
    ("de", "Seiten 8-16, Ausgabe 3/2024"),
    ("en", "Within 24 hours"),
    ("pl", "Rabat 10-20% w soboty"),
    ("ru", "Скидки 5-15% по пятницам"),
    ("en", "Open for ages 5-12, Sunday school"),
    ("en", "Score 3-2 on Saturday"),
    ("ja", "お届け：平日 1時間～2時間"),  # 時間 is a duration (hours), not an o'clock time
]


@pytest.mark.parametrize(("lang", "text"), DECOYS)
def test_decoys_give_nothing(lang: str, text: str) -> None:
    assert _values(f"<p>{text}</p>", lang) == []


def _phone(value: str, raw: str) -> ContactPoint:
    return ContactPoint("phone", value, raw, None, "text", URL)


def _email(value: str) -> ContactPoint:
    return ContactPoint("email", value, value, None, "mailto", URL)


def test_applies_to_contact_in_the_same_block() -> None:
    page = _page(
        "<p>Ügyfélszolgálat: +36 1 234 5678 (H-P 8-16)</p><p>Email: info@example.hu</p>", "hu"
    )
    contacts = [_phone("+3612345678", "+36 1 234 5678"), _email("info@example.hu")]
    [point] = extract_hours(page, ExtractContext(found=tuple(contacts)))
    assert point.details["applies_to"] == "+3612345678"


def test_applies_to_by_national_digits() -> None:
    page = _page("<p>Hotline 06 (1) 234-5678, Mo-Fr 8:00-17:00</p>", "de")
    [point] = extract_hours(page, ExtractContext(found=(_phone("+3612345678", "06 1 234 5678"),)))
    assert point.details["applies_to"] == "+3612345678"


def test_applies_to_contact_in_neighbouring_block() -> None:
    page = _page(
        "<p>Write to support@example.hu</p><p>We reply Mon-Fri 9:00-15:00</p><p>Other text</p>",
        "en",
    )
    [point] = extract_hours(page, ExtractContext(found=(_email("support@example.hu"),)))
    assert point.details["applies_to"] == "support@example.hu"
    page = _page("<p>Call us Mon-Fri 9:00-15:00</p><p>+44 20 7946 0018</p>", "en")
    [point] = extract_hours(page, ExtractContext(found=(_phone("+442079460018", "+44 20 7946 0018"),)))
    assert point.details["applies_to"] == "+442079460018"


def test_nearest_contact_wins_and_far_contacts_do_not_attach() -> None:
    body = "<p>Sales +36 1 111 1111, Service +36 1 222 2222 H-P 8-16</p><p>x</p><p>y</p><p>Fax +36 1 333 3333</p>"
    contacts = [_phone("+3611111111", "+36 1 111 1111"), _phone("+3612222222", "+36 1 222 2222"),
                _phone("+3613333333", "+36 1 333 3333")]  # fmt: skip
    [point] = extract_hours(_page(body, "hu"), ExtractContext(found=tuple(contacts)))
    assert point.details["applies_to"] == "+3612222222"
    far = "<p>+36 1 333 3333</p><p>a</p><p>b</p><p>H-P 8-16</p>"
    [point] = extract_hours(_page(far, "hu"), ExtractContext(found=tuple(contacts)))
    assert point.details["applies_to"] is None


JSONLD = {
    "@context": "https://schema.org",
    "@type": "LocalBusiness",
    "name": "Acme",
    "telephone": "+36 1 234 5678",
    "openingHoursSpecification": [
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": [
                "https://schema.org/Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
            ],
            "opens": "08:00",
            "closes": "17:00",
        },
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": "Saturday",
            "opens": "09:00:00",
            "closes": "13:00:00",
        },
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": "Sunday",
            "opens": "00:00",
            "closes": "00:00",
        },
        {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": "Monday",
            "opens": "10:00",
            "closes": "12:00",
            "validFrom": "2024-12-24",
            "validThrough": "2024-12-24",
        },
    ],
    "contactPoint": {
        "@type": "ContactPoint",
        "telephone": "+36-1-555-0000",
        "contactType": "customer service",
        "hoursAvailable": {
            "@type": "OpeningHoursSpecification",
            "dayOfWeek": [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ],
            "opens": "00:00",
            "closes": "23:59",
        },
    },
}


def test_json_ld_opening_hours_specification_and_hours_available() -> None:
    head = f'<script type="application/ld+json">{json.dumps(JSONLD)}</script>'
    points = extract_hours(_page("<p>Hello</p>", "hu", head=head))
    by_value = {p.value: p for p in points}
    business = by_value["Mo-Fr 08:00-17:00; Sa 09:00-13:00"]
    assert business.method == "json-ld"
    assert business.details["closed"] == ["Su"]
    assert business.details["applies_to"] is None
    line = by_value["24/7"]
    assert line.details["always_open"] is True
    assert line.details["applies_to"] == "+3615550000"
    assert len(points) == 2


def test_json_ld_hours_available_matches_harvested_contact() -> None:
    head = f'<script type="application/ld+json">{json.dumps(JSONLD)}</script>'
    contacts = [_phone("+3615550000", "+36 1 555 0000")]
    points = extract_hours(_page("<p>Hello</p>", head=head), ExtractContext(found=tuple(contacts)))
    assert any(p.details["applies_to"] == "+3615550000" for p in points)


def test_json_ld_opening_hours_strings() -> None:
    data = {
        "@context": "https://schema.org",
        "@type": "Store",
        "openingHours": ["Mo-Fr 08:00-17:00", "Sa 09:00-12:00"],
    }
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    [point] = extract_hours(_page("<p>Hello</p>", head=head))
    assert (point.value, point.method) == ("Mo-Fr 08:00-17:00; Sa 09:00-12:00", "json-ld")
    data["openingHours"] = "Mo,Tu,We,Th,Fr 09:00-17:00"
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    assert _values_with_head(head) == ["Mo-Fr 09:00-17:00"]


def _values_with_head(head: str) -> list[str]:
    return [p.value for p in extract_hours(_page("<p>Hello</p>", head=head))]


def test_microdata_opening_hours() -> None:
    body = (
        '<div itemscope itemtype="https://schema.org/Store"><span itemprop="name">Acme</span>'
        '<meta itemprop="openingHours" content="Mo-Fr 10:00-18:00">'
        '<meta itemprop="openingHours" content="Sa 10:00-14:00"></div>'
    )
    [point] = extract_hours(_page(body))
    assert (point.value, point.method) == ("Mo-Fr 10:00-18:00; Sa 10:00-14:00", "microdata")


def test_same_schedule_in_text_and_json_ld_is_reported_once() -> None:
    data = {"@context": "https://schema.org", "@type": "Store", "openingHours": "Mo-Fr 08:00-17:00"}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    points = extract_hours(_page("<p>Open Mon-Fri 8:00-17:00</p>", "en", head=head))
    assert [(p.value, p.method) for p in points] == [("Mo-Fr 08:00-17:00", "json-ld")]


def test_broken_json_ld_does_not_stop_text_hours() -> None:
    head = '<script type="application/ld+json">{"@type": "Store", "openingHours": </script>'
    assert _values(head.replace("<script", "<script") + "<p>Mo-Fr 8:00-17:00</p>", "de") == [
        "Mo-Fr 08:00-17:00"
    ]


def test_hours_on_a_long_page_of_prose() -> None:
    prose = (
        "Our company was founded in 1998 and has 250 employees in 12 countries. "
        "Prices from 9.99 EUR, delivery in 2-3 days. Call +36 1 234 5678 or write to us."
    )
    body = "".join(f"<div><p>{prose}</p><span>Item {i}</span></div>" for i in range(1500))
    page = _page(body + "<p>Mo-Fr 8:00-17:00</p>", "en")
    assert [p.value for p in extract_hours(page)] == ["Mo-Fr 08:00-17:00"]


@pytest.mark.parametrize(
    "head",
    [
        '<script type="application/ld+json">{"@type": "Store", "openingHours": 42}</script>',
        '<script type="application/ld+json">{"@type": "Store", "openingHoursSpecification": '
        '[{"dayOfWeek": {"@id": "https://schema.org/Monday"}}, "x", 5, null]}</script>',
        '<script type="application/ld+json">[[{"@graph": [{"openingHours": ["", null]}]}]]</script>',
        '<script type="application/ld+json">{"@type": "Store", "openingHoursSpecification": '
        '{"dayOfWeek": "Funday", "opens": "25:00", "closes": "xx"}}</script>',
    ],
)
def test_hostile_structured_data_gives_nothing(head: str) -> None:
    assert extract_hours(_page("<p>Hello</p>", head=head)) == []


def test_nested_day_object_in_json_ld() -> None:
    spec = {"dayOfWeek": {"@id": "https://schema.org/Monday"}, "opens": "9:00", "closes": "12:00"}
    data = {"@context": "https://schema.org", "@type": "Store", "openingHoursSpecification": spec}
    head = f'<script type="application/ld+json">{json.dumps(data)}</script>'
    assert _values_with_head(head) == ["Mo 09:00-12:00"]


def test_empty_and_huge_pages() -> None:
    assert extract_hours(parse_page("", URL)) == []
    huge = _page("<p>" + "Mo-Fr 8:00-17:00 " * 20000 + "</p>", "de")
    assert [p.value for p in extract_hours(huge)] == ["Mo-Fr 08:00-17:00"]


# --- per-shape tests and skipped blocks: the shortcuts must not change a result --------------


def test_digit_shapes_write_every_ascii_digit_as_zero_and_keep_offsets() -> None:
    texts = ["Tel 06 1 234-5678", "", "Mo-Fr 8:00-17:00", "٣٤ ２ 9", "a\x00b 12", "\udcff 7"]
    shapes = digit_shapes(texts)
    assert shapes == [
        "Tel 00 0 000-0000",
        "",
        "Mo-Fr 0:00-00:00",
        "٣٤ ２ 0",
        "a\x00b 00",
        "\udcff 0",
    ]
    assert [len(s) for s in shapes] == [len(t) for t in texts]
    assert digit_shapes([]) == []


def test_always_open_quick_test_can_run_on_digit_shapes() -> None:
    """The quick test is rewritten for shapes ("24" as "00"): only plain digits are safe."""
    quick = vocab().always_quick.pattern
    assert not any(part in quick for part in ("{", "[^", "(?!", "(?<!"))


@pytest.mark.parametrize(("lang", "text"), ALWAYS)
def test_always_open_shape_test_admits_every_phrase(lang: str, text: str) -> None:
    assert vocab().shape.always.search(digit_shapes([text])[0])


def _reference_candidates(blocks: list[str]) -> set[int]:
    """The block selection written plainly, one block at a time."""
    v = vocab()
    seeds = {i for i, text in enumerate(blocks) if hour_blocks._is_seed(text, v)}
    found, stack = set(seeds), list(seeds)
    while stack:
        i = stack.pop()
        for j in (i - 2, i - 1, i + 1, i + 2):
            if j in found or not 0 <= j < len(blocks) or len(blocks[j]) > 80:
                continue
            text = blocks[j]
            if vocabulary.DIGIT.search(text) or v.any_day.search(text) or v.closed.search(text):
                found.add(j)
                stack.append(j)
    return found


FRAGMENTS = [
    "Mo-Fr", "9:00-17:00", "8-16", "Sa 9-13", "closed", "Su closed", "geschlossen", "24/7",
    "0-24", "h24", "nonstop", "7 days a week", "Open 7 days a week", "7j/7", "Öffnungszeiten",
    "10-18 Uhr", "Mittagspause 12-13", "Hétfő", "H-P 8-16", "пн-пт 9-18", "Pzt", "/", ",",
    "and", "-", "Monday to Friday", "Product 12 model 345", "22 800 Ft € 7.747,92",
    "Added 22.10.2021 · order no. 5320301021 · rated 1/5 by 496 buyers", "2-3 days",
    "Tel. +36 1 234 5678", "Chapter 9 to 17", "24 hours", "1/24", "Ár: 8 000 - 16 000 Ft",
    "x" * 90 + " 9-17", "We 9-12", "We answer 24/7", "", "Sat", "12:30",
]  # fmt: skip
block_lists = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.builds(lambda a, b: f"{a} {b}", st.sampled_from(FRAGMENTS), st.sampled_from(FRAGMENTS)),
        st.text(alphabet=st.sampled_from(list("0123456789 -:/.,hMoFrSa")), max_size=20),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=block_lists)
def test_candidates_match_the_plain_block_by_block_selection(blocks: list[str]) -> None:
    v = vocab()
    assert hour_blocks._candidates(blocks, v, digit_shapes(blocks)) == _reference_candidates(blocks)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.sampled_from(FRAGMENTS), block_lists.map(" ".join)))
def test_blocks_skipped_as_unlexable_hold_only_separators(text: str) -> None:
    v = vocab()
    shape = digit_shapes([text])[0]
    if v.shape.always.search(shape) or v.shape.lexable.search(shape):
        return
    for lang in v.langs.values():
        kinds = {t.kind for t in lexing.lex(text, 0, lang, v)}
        assert kinds <= {"sep", "list"}, (lang.code, text, kinds)


_DAY_SAMPLES = sorted({word for lang in vocab().langs.values() for word in lang.words} | {
    stem + tail for lang in vocab().langs.values() for stem, _days in lang.stems for tail in ("", "a", "ag.")
})
day_texts = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.lists(
        st.one_of(
            st.sampled_from(_DAY_SAMPLES),
            st.sampled_from(_DAY_SAMPLES).map(str.upper),
            st.sampled_from(_DAY_SAMPLES).map(str.capitalize),
            st.sampled_from(["-", "–", " ", ". ", ", ", "/", ": 9-17 ", " | ", "la", "so", "mo", "7", "x"]),
        ),
        max_size=12,
    ).map("".join),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=day_texts)
def test_day_word_search_finds_what_the_full_day_regex_finds(text: str) -> None:
    """Only the alternatives a letter run can start are tried there: same answers, same matches."""
    v = vocab()
    folded = fold(text, keep_accents=True)
    assert v.day_words.search(v.any_day, text, folded) == bool(v.any_day.search(text))
    assert v.day_words.findall(v.any_day, text, folded) == v.any_day.findall(text)
    shape = digit_shapes([text])[0]
    assert v.day_words.search(v.shape.day, shape, fold(shape, keep_accents=True)) == bool(v.shape.day.search(shape))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(day_texts, block_lists.map(" ".join)))
def test_lexable_in_parts_answers_as_the_whole_regex(text: str) -> None:
    v = vocab()
    shape = digit_shapes([text])[0]
    assert v.shape.is_lexable(shape) == bool(v.shape.lexable.search(shape))


def test_a_day_word_with_a_digit_still_joins_the_hours_below() -> None:
    assert _values("<p>Open 7 days a week</p><p>9:00-17:00</p>", "en") == ["Mo-Su 09:00-17:00"]
    assert _values("<p>7j/7</p><p>9h-18h</p>", "fr") == ["Mo-Su 09:00-18:00"]


def test_hours_beside_a_product_grid_are_found() -> None:
    """A grid of short digit blocks right after the hours joins their neighbourhood."""
    tiles = "".join(
        f"<div><h3>Product {i} model {i * 7 % 1000}</h3><span>{i % 90 + 10} {i % 900 + 100} Ft"
        f"</span><p>Added {i % 28 + 1:02d}.{i % 12 + 1:02d}.2021 · order no. {10**9 + i * 7919}"
        f" · rated {i % 5 + 1}/5 by {i % 900 + 2} buyers</p></div>"
        for i in range(2000)
    )
    body = "<table><tr><td>Mo-Fr</td><td>8:00-17:00</td></tr><tr><td>Sa</td><td>closed</td></tr>"
    page = _page(body + "</table>" + tiles, "en")
    assert len(page.html) > 250_000
    points = extract_hours(page)
    assert [(p.value, p.details.get("closed")) for p in points] == [("Mo-Fr 08:00-17:00", ["Sa"])]


_SHAPE_PIECES = [
    "closed", "off", "ne radimo", "ne", "ei tööta", "ei", "geschlossen", "Zárva", "ZAMKNIĘTE",
    "nonstop", "non-stop", "dygnet", "ÉJJEL", "İ", "ı", " ", "-", ":", "_", "x", "mo", "Mon",
    "office", "offen", "VII", "E", "L", "\u00a0",
]


@given(st.lists(st.lists(st.sampled_from(_SHAPE_PIECES), max_size=10).map("".join), max_size=8))
@settings(max_examples=300, deadline=None)
def test_shape_codes_of_digitless_shapes_in_one_pass_equal_one_by_one(texts: list[str]) -> None:
    """_WordsInShapes finds always-open and closed words for all shapes at once; the codes
    must be those of testing each shape on its own."""
    v = vocab()
    shapes = digit_shapes(texts)
    together = hour_blocks._shape_codes(shapes, v)
    assert together == {shape: hour_blocks._shape_code(shape, v) for shape in shapes}
