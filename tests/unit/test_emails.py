"""Email extraction: sources, obfuscations, rejections, classification, labels."""

from __future__ import annotations

import re
from html import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.extract.emails import classify_address, extract_emails, labels, normalize_address
from auditor.extract.emails.rules import email_rules
from auditor.extract.page import ParsedPage, parse_page
from auditor.models import CONTEXT_MAX, ContactPoint
from auditor.text import fold

URL = "https://www.firma.hu/kapcsolat"


def cf_encode(text: str, key: int = 0x5A) -> str:
    """Cloudflare's email protection: key byte, then every UTF-8 byte XOR key, in hex."""
    return f"{key:02x}" + "".join(f"{b ^ key:02x}" for b in text.encode("utf-8"))


def emails(html: str, url: str = URL) -> list[ContactPoint]:
    return extract_emails(parse_page(html, url))


def values(html: str, url: str = URL) -> list[str]:
    return [c.value for c in emails(html, url)]


def only(html: str) -> ContactPoint:
    found = emails(html)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------
# Obfuscated addresses in visible text, per language.
# ---------------------------------------------------------------------------

OBFUSCATED = [
    # English / generic
    ("info [at] firma [dot] hu", "info@firma.hu"),
    ("info(at)firma(dot)hu", "info@firma.hu"),
    ("info{at}firma.hu", "info@firma.hu"),
    ("info <at> firma <dot> hu", "info@firma.hu"),
    ("info[@]firma[.]hu", "info@firma.hu"),
    ("info AT firma DOT hu", "info@firma.hu"),
    ("info AT firma.hu", "info@firma.hu"),
    ("E-mail: info at firma dot hu", "info@firma.hu"),
    ("info at firma dot hu", "info@firma.hu"),
    ("Email: info at firma.hu", "info@firma.hu"),
    ("john[dot]smith[at]firma[dot]co[dot]uk", "john.smith@firma.co.uk"),
    ("info @ firma.hu", "info@firma.hu"),
    ("Kontakt: info [at] firma.hu, Tel: +36 1 234 5678", "info@firma.hu"),
    # Hungarian
    ("info kukac firma pont hu", "info@firma.hu"),
    ("info[kukac]firma[pont]hu", "info@firma.hu"),
    ("ugyfelszolgalat (kukac) firma.hu", "ugyfelszolgalat@firma.hu"),
    ("Kérdés esetén info kukac firma.hu pont most", "info@firma.hu"),
    # Polish
    ("biuro małpa sklepik kropka pl", "biuro@sklepik.pl"),
    ("biuro (małpka) sklepik.pl", "biuro@sklepik.pl"),
    ("biuro malpa sklepik kropka pl", "biuro@sklepik.pl"),
    ("E-mail: anna.nowak [at] sklepik [kropka] pl", "anna.nowak@sklepik.pl"),
    # Russian
    ("info собака firma точка ru", "info@firma.ru"),
    ("zakaz [собака] firma [точка] ru", "zakaz@firma.ru"),
    # Turkish: only bracketed forms
    ("bilgi[et]firma[nokta]com[nokta]tr", "bilgi@firma.com.tr"),
    ("destek (et) firma.com.tr", "destek@firma.com.tr"),
    # German
    ("info ät firma punkt de", "info@firma.de"),
    ("info(ät)firma.de", "info@firma.de"),
    ("kontakt [at] firma [punkt] de", "kontakt@firma.de"),
    # Czech / Slovak
    ("info zavináč firma tečka cz", "info@firma.cz"),
    ("obchod zavinac firma tecka cz", "obchod@firma.cz"),
    ("info (zavináč) firma (bodka) sk", "info@firma.sk"),
    ("podpora [zavináč] firma [bodka] sk", "podpora@firma.sk"),
    # Spanish, French, Italian, Dutch, Portuguese
    ("Reservas: reservas (arroba) viajes (punto) com", "reservas@viajes.com"),
    ("contact arobase societe point fr", "contact@societe.fr"),
    ("info chiocciola azienda punto it", "info@azienda.it"),
    ("werkplaats [at] fietsen [punt] nl", "werkplaats@fietsen.nl"),
    ("contato arroba empresa ponto com ponto br", "contato@empresa.com.br"),
    # Lithuanian, Latvian, Estonian (bracketed: "eta", "et" and "punkt" are everyday words)
    ("info [eta] imone [taškas] lt", "info@imone.lt"),
    ("pagalba (eta) parduotuve (taskas) lt", "pagalba@parduotuve.lt"),
    ("birojs [et] uznemums [punkts] lv", "birojs@uznemums.lv"),
    ("info (ät) ettevote (punkt) ee", "info@ettevote.ee"),
]


@pytest.mark.parametrize(("text", "expected"), OBFUSCATED)
def test_obfuscated_forms(text: str, expected: str) -> None:
    point = only(f"<p>{escape(text)}</p>")
    assert point.value == expected
    assert point.method == "text"
    assert point.details["obfuscation"] == "at-dot"
    assert point.raw.strip() in text


@pytest.mark.parametrize(
    ("text", "expected"), [(t, e) for t, e in OBFUSCATED if "pont most" not in t]
)
def test_normalize_address_reads_the_same_forms(text: str, expected: str) -> None:
    tail = text.split(": ", 1)[-1].split(",")[0]
    assert normalize_address(tail) == expected


NOT_ADDRESSES = [
    "look at example.com",
    "look at firma.com",
    "Look at firma.com",
    "Please look at firma.com for details",
    "meet us at the office. com",
    "Meet us at the office. Com",
    "Find us at firma.hu",
    "Products at shop.com",
    "Tickets at ticketshop.hu and at the door",
    "We are available at firma.hu from 9 to 5",
    "SHOP AT FIRMA.HU",
    "EXCLUSIVELY AT NIKE.COM",
    "bilgi et firma nokta com",  # Turkish bare words are everyday words
    "Ana sayfa et firma nokta com nokta tr",
    "a kukac volt az almában.",
    "Наша собака живёт дома.",
    "pont ott, ahol a kukac volt",
    "info at firma",  # no dot at all
]


@pytest.mark.parametrize("text", NOT_ADDRESSES)
def test_prose_is_not_an_address(text: str) -> None:
    assert values(f"<p>{escape(text)}</p>") == []
    assert normalize_address(text) is None


def test_bare_dot_words_never_extend_a_plain_address() -> None:
    assert values("<p>Írjon: info@firma.hu pont ma</p>") == ["info@firma.hu"]


# ---------------------------------------------------------------------------
# mailto links.
# ---------------------------------------------------------------------------

MAILTO = [
    ("mailto:info@firma.hu", ["info@firma.hu"]),
    ("MAILTO:Info@Firma.HU", ["info@firma.hu"]),
    ("mailto:%20info@firma.hu", ["info@firma.hu"]),
    ("  mailto:  info@firma.hu  ", ["info@firma.hu"]),
    ("mailto:info@firma.hu%20", ["info@firma.hu"]),
    ("mailto:info@firma.hu?subject=Aj%C3%A1nlat&body=Hello", ["info@firma.hu"]),
    ("mailto:info@firma.hu&subject=Hello", ["info@firma.hu"]),
    ("mailto:info@firma.hu,sales@firma.hu", ["info@firma.hu", "sales@firma.hu"]),
    ("mailto:info@firma.hu, %20sales@firma.hu; support@firma.hu", ["info@firma.hu", "sales@firma.hu", "support@firma.hu"]),
    ("mailto:info%40firma.hu", ["info@firma.hu"]),
    ("mailto:Firma%20Kft%20%3Cinfo@firma.hu%3E", ["info@firma.hu"]),
    ("mailto:?to=info@firma.hu&subject=x", ["info@firma.hu"]),
    ("mailto:info@firma.hu?cc=press@firma.hu&bcc=jobs@firma.hu", ["info@firma.hu", "press@firma.hu", "jobs@firma.hu"]),
    ("mailto:a+b@firma.hu?to=c%2Bd@firma.hu", ["a+b@firma.hu", "c+d@firma.hu"]),
    ("mailto:info[at]firma.hu", ["info@firma.hu"]),
    ("mailto:info@bücher.de", ["info@bücher.de"]),
    ("mailto:info@xn--bcher-kva.de", ["info@bücher.de"]),
    ("mailto:", []),
    ("mailto:info", []),
    ("mailto:name@domain.com", []),
    ("mailto:info@firma", []),
]


@pytest.mark.parametrize(("href", "expected"), MAILTO)
def test_mailto_cleaning(href: str, expected: list[str]) -> None:
    found = emails(f'<a href="{href}">Írjon nekünk</a>')
    assert [c.value for c in found] == expected
    for point in found:
        assert point.method == "mailto"
        assert point.raw == href.strip()
        assert point.page_url == URL


def test_mailto_cc_and_bcc_are_marked() -> None:
    found = {c.value: c for c in emails('<a href="mailto:info@firma.hu?cc=press@firma.hu">x</a>')}
    assert "mailto_field" not in found["info@firma.hu"].details
    assert found["press@firma.hu"].details["mailto_field"] == "cc"


def test_mailto_context_and_label_come_from_the_surrounding_block() -> None:
    point = only('<p>Ügyfélszolgálat: <a href="mailto:info@firma.hu">info@firma.hu</a></p>')
    assert point.label == "customer-service"
    assert "Ügyfélszolgálat" in point.context


# ---------------------------------------------------------------------------
# Cloudflare email protection.
# ---------------------------------------------------------------------------


def test_cloudflare_data_cfemail() -> None:
    hexstr = cf_encode("press@firma.hu")
    point = only(
        f'<p>Sajtó: <a href="/cdn-cgi/l/email-protection" class="__cf_email__" '
        f'data-cfemail="{hexstr}">[email&#160;protected]</a></p>'
    )
    assert point.value == "press@firma.hu"
    assert point.method == "text"
    assert point.details["obfuscation"] == "cloudflare"
    assert point.label == "press"
    assert "press@firma.hu" in point.context


@pytest.mark.parametrize("key", [0x00, 0x11, 0x5A, 0xFF])
def test_cloudflare_email_protection_link(key: int) -> None:
    hexstr = cf_encode("Sales@Firma.hu", key)
    point = only(f'<a href="/cdn-cgi/l/email-protection#{hexstr}">Írjon nekünk</a>')
    assert point.value == "sales@firma.hu"
    assert point.method == "text"
    assert point.details["obfuscation"] == "cloudflare"
    assert point.label == "sales"


def test_cloudflare_link_with_query_and_idn() -> None:
    hexstr = cf_encode("info@bücher.de?subject=Hallo")
    assert values(f'<a href="https://www.firma.hu/cdn-cgi/l/email-protection#{hexstr}">x</a>') == [
        "info@bücher.de"
    ]


@pytest.mark.parametrize(
    "hexstr", ["", "5a", "zz11", "5a2", cf_encode("logo@2x.png"), cf_encode("not an address"), "5a" + "ff" * 3]
)
def test_cloudflare_garbage_gives_nothing(hexstr: str) -> None:
    html = (
        f'<span class="__cf_email__" data-cfemail="{hexstr}">[email protected]</span>'
        f'<a href="/cdn-cgi/l/email-protection#{hexstr}">x</a>'
    )
    assert values(html) == []


# ---------------------------------------------------------------------------
# HTML entities.
# ---------------------------------------------------------------------------

ENTITIES = [
    ("<p>&#105;&#110;fo&#64;firma&#46;hu</p>", "info@firma.hu"),
    ("<p>&#x69;nfo&#x40;firma.hu</p>", "info@firma.hu"),
    ("<p>info&commat;firma&period;hu</p>", "info@firma.hu"),
    ('<div data-email="&#105;&#110;fo&#64;firma&#46;hu">Írjon</div>', "info@firma.hu"),
    ('<span title="&#115;ales&#64;firma.hu">x</span>', "sales@firma.hu"),
    ('<div data-contact="&amp;#105;nfo&amp;#64;firma.hu"></div>', "info@firma.hu"),
    ('<a href="&#109;&#97;ilto:&#105;nfo&#64;firma.hu">x</a>', "info@firma.hu"),
]


@pytest.mark.parametrize(("html", "expected"), ENTITIES)
def test_entity_encoded_addresses(html: str, expected: str) -> None:
    assert values(html) == [expected]


def test_entity_encoded_attribute_is_marked() -> None:
    point = only('<div data-email="&#105;&#110;fo&#64;firma&#46;hu">x</div>')
    assert point.details["obfuscation"] == "entity"
    assert point.method == "text"


def test_entity_encoded_placeholders_and_scripts_are_ignored() -> None:
    html = (
        '<input type="email" placeholder="&#105;nfo&#64;firma.hu">'
        "<script>var e = '&#115;ecret&#64;firma.hu';</script>"
        "<!-- &#111;ld&#64;firma.hu -->"
    )
    assert values(html) == []


# ---------------------------------------------------------------------------
# Structured data.
# ---------------------------------------------------------------------------


def test_json_ld_email_and_contact_points() -> None:
    html = """<script type="application/ld+json">
    {"@context": "https://schema.org", "@type": "Organization", "name": "Firma Kft",
     "email": "mailto:Info@Firma.hu",
     "contactPoint": [
       {"@type": "ContactPoint", "email": "ugyfel@firma.hu", "contactType": "customer service"},
       {"@type": "ContactPoint", "email": ["a.kovacs@firma.hu"], "contactType": "sales"}
     ]}
    </script>"""
    found = {c.value: c for c in emails(html)}
    assert set(found) == {"info@firma.hu", "ugyfel@firma.hu", "a.kovacs@firma.hu"}
    assert all(c.method == "json-ld" for c in found.values())
    assert found["info@firma.hu"].raw == "mailto:Info@Firma.hu"
    assert found["ugyfel@firma.hu"].label == "customer-service"
    assert found["a.kovacs@firma.hu"].label == "sales"
    assert found["a.kovacs@firma.hu"].details["address_class"] == "personal"
    assert found["a.kovacs@firma.hu"].details["contact_type"] == "sales"


def test_json_ld_graph_and_broken_blocks() -> None:
    html = (
        '<script type="application/ld+json">{"@graph": [{"@type": "LocalBusiness", '
        '"email": "bilgi@firma.com.tr"}]}</script>'
        '<script type="application/ld+json">{"email": "broken@firma.hu", </script>'
    )
    assert "bilgi@firma.com.tr" in values(html)


def test_microdata_email() -> None:
    html = (
        '<div itemscope itemtype="https://schema.org/Organization">'
        '<span itemprop="email">hello@firma.hu</span>'
        '<a itemprop="email" href="mailto:office@firma.hu">Iroda</a></div>'
    )
    found = {c.value: c for c in emails(html)}
    assert found["hello@firma.hu"].method == "microdata"
    assert found["office@firma.hu"].method == "mailto"  # the link outranks microdata
    assert "microdata" in found["office@firma.hu"].details["methods"]


def test_structured_placeholder_is_rejected() -> None:
    html = '<script type="application/ld+json">{"@type": "Organization", "email": "email@example.com"}</script>'
    assert values(html) == []


# ---------------------------------------------------------------------------
# Rejections.
# ---------------------------------------------------------------------------

REJECTED = [
    '<img src="logo@2x.png" alt="logo@2x.png"><p>logo@2x.png</p>',
    "<p>icon@3x.webp sprite@2x.jpg banner@1.5x.jpeg hero@2x.zip</p>",
    '<a href="/img/sprite@2x.jpg">sprite@2x.jpg</a>',
    "<p>Térkép: https://www.google.com/maps/place/Firma+Inc./@47.49,19.04,17z</p>",
    '<a href="https://www.google.com/maps/@27.4256,-82.5641,15z">Map</a><p>@47.49,19.04</p>',
    "<p>Budapest@47.4979,19.0402</p>",
    "<p>info@firma.local admin@localhost root@firma.invalid a@firma.xyzzy</p>",
    "<p>name@domain.com</p>",
    "<p>your@email.com</p>",
    "<p>email@example.com</p>",
    "<p>vorname.nachname@beispiel.de, jan.kowalski@domena.pl</p>",
    '<form><input type="email" placeholder="email@example.com"><input placeholder="name@firma.hu"></form>',
    "<p>https://abc123@o123456.ingest.sentry.io/7890</p>",
    "<p>605a7baede844d278b89dc95ae0a9123@sentry-next.wixpress.com</p>",
    "<p>dsn: 0123456789abcdef0123456789abcdef@firma.hu</p>",
    "<p>git@github.com:firma/repo.git</p>",
    "<script>var e = 'secret@firma.hu'; Sentry.init({dsn: 'https://k@o1.ingest.sentry.io/2'});</script>",
    '<script type="text/template"><p>tpl@firma.hu</p></script><style>/* css@firma.hu */</style>',
    "<noscript>hidden@firma.hu</noscript>",
    "<p>a..b@firma.hu .info@firma.hu@ @firma.hu info@ info@.hu</p>",
    "<p>user@[192.168.0.1] \"quoted name\"@firma.hu</p>",
]


@pytest.mark.parametrize("html", REJECTED)
def test_rejections_give_nothing(html: str) -> None:
    assert values(html) == []


def test_real_people_with_textbook_names_are_kept() -> None:
    html = '<p>Jan Kowalski – kierownik sprzedaży: <a href="mailto:jan.kowalski@meble.pl">napisz</a></p>'
    point = only(html)
    assert point.value == "jan.kowalski@meble.pl"
    assert point.label == "sales"


THIRD_PARTY = """
<h2>Kapcsolat</h2><p>E-mail: {own}</p>
<h2>Tárhelyszolgáltató</h2>
<p>Név: FelhőTár Kft.<br>Székhely: 1132 Budapest, Váci út 22.<br>E-mail: {host}<br>
Telefon: +36 1 789 0123</p>
<h2>Ügyfélszolgálat</h2><p>E-mail: {after}</p>
"""


def test_addresses_of_other_organisations_in_an_imprint_are_dropped() -> None:
    html = THIRD_PARTY.format(
        own="info@firma.hu", host="ugyfelszolgalat@felhotar.hu", after="firma.bt@gmail.com"
    )
    assert values(html) == ["info@firma.hu", "firma.bt@gmail.com"]
    linked = THIRD_PARTY.format(
        own="info@firma.hu",
        host='<a href="mailto:ugyfelszolgalat@felhotar.hu">ugyfelszolgalat@felhotar.hu</a>',
        after="x",
    )
    assert values(linked) == ["info@firma.hu"]
    inline = "<p>Tárhelyszolgáltató: FelhőTár Kft., e-mail: ugyfelszolgalat@felhotar.hu</p>"
    assert values(inline) == []


def test_own_address_under_a_hosting_title_is_kept() -> None:
    html = THIRD_PARTY.format(own="x", host="tarhely@firma.hu", after="x")
    assert values(html) == ["tarhely@firma.hu"]


def test_form_placeholder_value_is_not_a_contact_even_in_text() -> None:
    html = '<form><input type="email" placeholder="pelda.janos@gmail.com"></form><p>pl. pelda.janos@gmail.com</p>'
    assert values(html) == []


def test_script_text_is_not_scanned_but_json_ld_is() -> None:
    html = (
        "<script>var contact = 'secret@firma.hu';</script>"
        '<script type="application/ld+json">{"email": "info@firma.hu"}</script>'
    )
    assert values(html) == ["info@firma.hu"]


# ---------------------------------------------------------------------------
# Plain text, context, labels, dedupe.
# ---------------------------------------------------------------------------

PLAIN = [
    ("Email:info@firma.hu", "info@firma.hu"),
    ("(info@firma.hu)", "info@firma.hu"),
    ("Írjon az info@firma.hu címre.", "info@firma.hu"),
    ("Írjon az info@firma.hu-ra!", "info@firma.hu"),
    ("&lt;Info@Firma.HU&gt;", "info@firma.hu"),
    ("Írjon a sales@firma.co.uk-nak", "sales@firma.co.uk"),
    ("o'brien@firma.ie", "o'brien@firma.ie"),
    ("info@bücher.de", "info@bücher.de"),
    ("info@пример-фирма.рф", "info@пример-фирма.рф"),
    ("%20info@firma.hu", "info@firma.hu"),
    ("in\u00adfo@fir\u200bma.hu", "info@firma.hu"),
    ("<span>info@firma.hu</span><span>Telefon</span>", "info@firma.hu"),
    ("<span>info@firma.co.uk</span><span>Tel</span>", "info@firma.co.uk"),
]


@pytest.mark.parametrize(("html", "expected"), PLAIN)
def test_plain_text_addresses(html: str, expected: str) -> None:
    point = only(f"<p>{html}</p>")
    assert point.value == expected
    assert point.method == "text"
    assert "obfuscation" not in point.details


@pytest.mark.parametrize(
    "html",
    [
        '<p>Kontakt<a href="mailto:info@firma.hu">info@firma.hu</a></p>',
        '<p><a href="mailto:info@firma.de">info@firma.de</a>v</p>',  # .dev is a TLD
    ],
)
def test_glued_neighbour_words_are_dropped_when_the_link_is_clean(html: str) -> None:
    assert len(values(html.replace('href="mailto:', 'href="#'))) == 1  # the glued text alone
    assert [c.method for c in emails(html)] == ["mailto"]


LABELS = [
    ("<p>Ügyfélszolgálat: info@firma.hu</p>", "customer-service"),
    ("<p>Biuro obsługi klienta: biuro@sklepik.pl</p>", "customer-service"),
    ("<p>Müşteri hizmetleri: bilgi@firma.com.tr</p>", "customer-service"),
    ("<p>Служба поддержки: info@firma.ru</p>", "support"),
    ("<p>Technical questions - tech@firma.com</p>", "support"),
    ("<p>Értékesítés: office@firma.hu</p>", "sales"),
    ("<p>Számlázás: iroda@firma.hu</p>", "billing"),
    ("<p>Für Presseanfragen: kontakt@firma.de</p>", "press"),
    ("<p>Karrier: office@firma.hu</p>", "jobs"),
    ("<p>Adatvédelmi tisztviselő: a.kovacs@firma.hu</p>", "privacy"),
    ("<p>info@firma.hu (customer service)</p>", "customer-service"),
    ("<p>sprzedaz@sklepik.pl</p>", "sales"),
    ("<p>podpora@firma.cz</p>", "support"),
    ("<p>faktura@firma.cz</p>", "billing"),
    ("<p>szamla@firma.hu</p>", "billing"),
    ("<p>press@firma.com</p>", "press"),
    ("<p>kariera@firma.pl</p>", "jobs"),
    ("<p>hr@firma.hu</p>", "jobs"),
    ("<p>dpo@firma.hu</p>", "privacy"),
    ("<p>datenschutz@firma.de</p>", "privacy"),
    ("<p>satis@firma.com.tr</p>", "sales"),
    ("<p>destek@firma.com.tr</p>", "support"),
    ("<p>info@firma.hu</p>", None),
    ("<p>express@firma.hu</p>", None),
    ("<p>multimedia@firma.hu</p>", None),
    ("<p>salesteam@firma.hu</p>", "sales"),
    ("<p>Sales: +36 1 234 5678. Write to anna@firma.hu</p>", "sales"),
]


@pytest.mark.parametrize(("html", "label"), LABELS)
def test_labels(html: str, label: str | None) -> None:
    assert only(html).label == label


def test_label_of_one_address_does_not_leak_to_the_next() -> None:
    found = {c.value: c.label for c in emails("<p>Sales: a.nagy@firma.hu, info@firma.hu</p>")}
    assert found == {"a.nagy@firma.hu": "sales", "info@firma.hu": None}
    found = {c.value: c.label for c in emails("<p>Sales: a@firma.hu Support: b.kiss@firma.hu</p>")}
    assert found == {"a@firma.hu": "sales", "b.kiss@firma.hu": "support"}


def test_dedupe_keeps_the_best_method() -> None:
    html = (
        "<p>Írjon: info@firma.hu</p>"
        '<a href="mailto:INFO@firma.hu">Levél</a>'
        "<p>info [at] firma [dot] hu</p>"
    )
    point = only(html)
    assert point.method == "mailto"
    assert set(point.details["methods"]) == {"mailto", "text"}
    assert point.confidence == 0.95


def test_json_ld_beats_text_and_keeps_the_text_label() -> None:
    html = (
        "<p>Ügyfélszolgálat: info@firma.hu</p>"
        '<script type="application/ld+json">{"email": "info@firma.hu"}</script>'
    )
    point = only(html)
    assert point.method == "json-ld"
    assert point.label == "customer-service"


def test_record_shape_and_context_limit() -> None:
    filler = "Lorem ipsum dolor sit amet. " * 30
    point = only(f"<footer><p>{filler} Kapcsolat: Info@Firma.hu {filler}</p></footer>")
    assert point.kind == "email"
    assert point.value == "info@firma.hu"
    assert point.raw == "Info@Firma.hu"
    assert point.page_url == URL
    assert len(point.context) <= CONTEXT_MAX
    assert "Info@Firma.hu" in point.context
    assert point.details["address_class"] == "role"
    assert point.details["region"] == "footer"
    assert point.details["same_site"] is True
    assert 0 < point.confidence <= 1


def test_third_party_domain_is_kept_and_flagged() -> None:
    point = only("<p>kovacs.bela@gmail.com</p>")
    assert point.details["same_site"] is False
    assert point.details["address_class"] == "personal"


def test_obfuscated_is_less_confident_than_plain() -> None:
    plain = only("<p>info@firma.hu</p>").confidence
    bracket = only("<p>info [at] firma [dot] hu</p>").confidence
    bare = only("<p>info kukac firma pont hu</p>").confidence
    assert plain > bracket > bare


# ---------------------------------------------------------------------------
# Role / personal.
# ---------------------------------------------------------------------------

CLASSES = [
    ("info@firma.hu", "role"),
    ("office@firma.at", "role"),
    ("office2@firma.at", "role"),
    ("contact@firma.com", "role"),
    ("noreply@firma.com", "role"),
    ("no-reply@firma.com", "role"),
    ("infobudapest@firma.hu", "role"),
    ("info.budapest@firma.hu", "role"),
    ("budapest.info@firma.hu", "role"),
    ("salesteam@firma.com", "role"),
    ("info+web@firma.hu", "role"),
    ("abc@firma.hu", "role"),
    ("shop24@firma.hu", "role"),
    ("12345@firma.hu", "role"),
    ("x@firma.hu", "role"),
    ("satish@firma.in", "role"),  # not a listed name: unknown single words are roles
    ("hrabal@firma.cz", "role"),
    ("kovacs.kft@firma.hu", "role"),
    ("peter.kovacs@firma.hu", "personal"),
    ("p.kovacs@firma.hu", "personal"),
    ("j.smith@firma.com", "personal"),
    ("john_smith@firma.com", "personal"),
    ("anna-maria@firma.de", "personal"),
    ("Kovács.Péter@firma.hu", "personal"),
    ("jkowalski@firma.pl", "personal"),
    ("pkovacs@firma.hu", "personal"),
    ("kovacsp@firma.hu", "personal"),
    ("peterhorvath@firma.hu", "personal"),
    ("anna@firma.hu", "personal"),
    ("mehmet@firma.com.tr", "personal"),
    ("kowalska@firma.pl", "personal"),
    ("novakova@firma.cz", "personal"),
    ("ivanova@firma.ru", "personal"),
    ("peter.sales@firma.hu", "personal"),
    ("john.smith2@firma.com", "personal"),
    ("", "role"),
]


@pytest.mark.parametrize(("address", "expected"), CLASSES)
def test_classify_address(address: str, expected: str) -> None:
    assert classify_address(address) == expected


ROLE_PARTS = [
    # Hungarian
    "kapcsolat", "ugyfelszolgalat", "ugyfel", "ugyfelkapu", "iroda", "titkarsag", "szamla",
    "adatvedelem", "karrier", "ertekesites", "rendeles", "ügyfélszolgálat",
    # Polish
    "biuro", "obsluga", "sekretariat", "sprzedaz", "kontakt", "kariera", "faktury", "rodo",
    "sprzedaż", "obsługa",
    # Czech / Slovak
    "zakaznik", "podpora", "obchod", "fakturace", "podatelna", "zákazník",
    # Turkish
    "iletisim", "destek", "bilgi", "satis", "musteri", "muhasebe", "kvkk", "iletişim",
    # Russian (transliterated)
    "zakaz", "otdel", "sale", "podderzhka", "priemnaya", "buhgalteria",
    # German
    "vertrieb", "buchhaltung", "datenschutz", "bewerbung", "zentrale",
    # English
    "support", "help", "service", "sales", "hello", "mail", "post", "reception", "hr", "jobs",
    "press", "media", "billing", "invoice", "privacy", "dpo", "gdpr", "webmaster", "admin",
    "enquiries",
]


@pytest.mark.parametrize("local", ROLE_PARTS)
def test_multilingual_role_parts(local: str) -> None:
    assert classify_address(f"{local}@firma.hu") == "role"
    assert classify_address(f"{local}.budapest@firma.hu") == "role"


def test_address_class_is_in_details() -> None:
    found = {c.value: c.details["address_class"] for c in emails("<p>info@firma.hu, anna.nagy@firma.hu</p>")}
    assert found == {"info@firma.hu": "role", "anna.nagy@firma.hu": "personal"}


# ---------------------------------------------------------------------------
# normalize_address and robustness.
# ---------------------------------------------------------------------------

NORMALIZE = [
    ("Info@Firma.HU", "info@firma.hu"),
    ("  info@firma.hu  ", "info@firma.hu"),
    ("mailto:%20Info@Firma.hu?subject=Hi&body=x", "info@firma.hu"),
    ("Péter <peter.kovacs@firma.hu>", "peter.kovacs@firma.hu"),
    ('"info@firma.hu"', "info@firma.hu"),
    ("info@firma.hu.", "info@firma.hu"),
    ("info%40firma.hu", "info@firma.hu"),
    ("info@bücher.de", "info@bücher.de"),
    ("info@firma.hu, sales@firma.hu", None),
    ("write to info@firma.hu", None),
    ("logo@2x.png", None),
    ("name@domain.com", None),
    ("https://abc@o123.ingest.sentry.io/1", None),
    ("", None),
    ("@", None),
    ("a@b", None),
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZE)
def test_normalize_address(text: str, expected: str | None) -> None:
    assert normalize_address(text) == expected


HOSTILE = [
    "",
    "\x00\x01\x02",
    "<p>" + "a." * 50_000 + "</p>",
    "<p>" + "x@y " * 20_000 + "</p>",
    "<p>" + "a kukac b pont " * 5_000 + "</p>",
    "<p>" + "a [at] b [dot] " * 5_000 + "</p>",
    '<a href="mailto:' + "%" * 1000 + '">x</a>',
    '<a href="mailto:%E0%A4%A">x</a><a href="mailto:\udcff">y</a>',
    '<span data-cfemail="' + "f" * 5001 + '">x</span>',
    '<script type="application/ld+json">' + "[" * 500 + "]" * 500 + "</script>",
    '<script type="application/ld+json">{"email": 42, "contactPoint": {"email": null}}</script>',
    '<div itemscope><span itemprop="email"></span></div>',
    "<p>&#1114112;&#64;&#xD800;@firma.hu &#99999999999;</p>",
    "<p>" + "&#64;" * 10_000 + "</p>",
    "<p>İSTANBUL İletişim</p><p>İletişim: iletisim@firma.com.tr</p>",
]


@pytest.mark.parametrize("html", HOSTILE)
def test_never_raises(html: str) -> None:
    result = emails(html)
    assert isinstance(result, list)


class _BrokenPage(ParsedPage):
    @property
    def structured(self) -> dict[str, list[object]]:  # type: ignore[override]
        raise RuntimeError("extruct exploded")


def test_block_offsets_survive_text_that_grows_when_lower_cased() -> None:
    html = "<p>" + "İ" * 60 + "</p><p>Ürün: x</p><p>Satış: satis@firma.com.tr</p>"
    point = only(html)
    assert point.label == "sales"
    assert point.context == "Satış: satis@firma.com.tr"


def test_one_broken_source_does_not_lose_the_others() -> None:
    page = parse_page('<p>info@firma.hu</p><script type="application/ld+json">{}</script>', URL)
    broken = _BrokenPage(**{k: getattr(page, k) for k in page.__dataclass_fields__})
    assert [c.value for c in extract_emails(broken)] == ["info@firma.hu"]


@pytest.mark.parametrize("junk", [None, 42, b"info@firma.hu", "x" * 5000])
def test_helpers_never_raise(junk: object) -> None:
    assert normalize_address(junk) is None  # type: ignore[arg-type]
    assert classify_address(junk) in ("role", "personal")  # type: ignore[arg-type]


def test_the_hint_literals_are_the_engines_whitespace() -> None:
    import re

    from auditor.extract.emails.collect import WHITESPACE

    assert set(WHITESPACE) == {chr(c) for c in range(0x110000) if re.match(r"\s", chr(c))}


_PIECES = ["at", "et", "eta", "kukac", "@", " ", "\u00a0", "\t", "(", ")", "[", "]", "<", ">", "x", "a", "t", "İ"]


@given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join), min_size=1, max_size=6))
@settings(max_examples=300, deadline=None)
def test_hinted_blocks_are_where_the_hint_pattern_matches(texts: list[str]) -> None:
    from auditor.extract.emails.collect import PageText
    from auditor.extract.emails.rules import email_rules
    from auditor.extract.page import TextBlock

    page = ParsedPage(
        url="https://example.hu/", html="", tree=None, lang=None, hreflangs=(), title="",
        blocks=[TextBlock(t, "main") for t in texts], links=[], scripts=[], forms=[], cfemails=[],
    )
    text = PageText(page)
    expected: list[int] = []
    for m in email_rules().page_hint.finditer(text.lowered):
        i = text.block_at(m.start())
        if (not expected or expected[-1] != i) and i < len(texts):
            expected.append(i)
    assert list(text.hinted()) == expected


def _first_affix_label(local: str) -> str | None:
    """The label the local part's first matching entry gives, written plainly: an entry
    that starts the part, or (6+ letters) ends it; an empty entry starts every part."""
    for word, name in email_rules().label_prefixes:
        if local.startswith(word) or (len(word) >= 6 and local.endswith(word)):
            return name
    return None


_LABEL_WORDS = sorted({word for word, _name in email_rules().label_prefixes if word})


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.one_of(st.sampled_from(_LABEL_WORDS), st.text(alphabet="abcdeimnorstx.-_0123456789", max_size=6)),
        min_size=1,
        max_size=4,
    )
)
def test_label_from_local_affixes_look_up_as_the_plain_scan(parts: list[str]) -> None:
    local = "".join(parts)
    rules = email_rules()
    folded = fold(local.split("+", 1)[0])
    if any(key in rules.label_locals for key in (folded, re.sub(r"\d+", "", folded), *labels._tokens(folded))):
        return  # a whole-word entry decides first
    assert labels.label_from_local(local) == _first_affix_label(folded)
