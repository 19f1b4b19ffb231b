"""Third parties' entries (agency, host, authority) are set apart from the company's own."""

from __future__ import annotations

from auditor.extract import extract_page, parse_page
from auditor.extract.page import THIRD_PARTY
from auditor.extract.sections import marked_blocks


def _values(html: str, url: str, kind: str | None = None) -> set[str]:
    return {cp.value for cp in extract_page(html, url) if kind is None or cp.kind == kind}


def test_hosting_provider_under_its_heading_is_not_the_company() -> None:
    html = """<html lang="hu"><body><h1>Impresszum</h1>
    <p>Kalocsai Paprika Kft.<br>Telefon: +36 78 123 456<br>E-mail: info@paprika-pelda.hu</p>
    <h2>Tárhelyszolgáltató</h2>
    <p>FelhőTár Kft.<br>1132 Budapest, Váci út 22.<br>Telefon: +36 1 789 0123<br>
    E-mail: <a href="mailto:support@felhotar-pelda.hu">support@felhotar-pelda.hu</a></p>
    <h2>Adatvédelem</h2><p>Részletek az adatkezelési tájékoztatóban.</p></body></html>"""
    found = _values(html, "https://www.paprika-pelda.hu/impresszum")
    assert "+3678123456" in found and "info@paprika-pelda.hu" in found
    assert "+3617890123" not in found and "support@felhotar-pelda.hu" not in found


def test_inline_agency_credit_and_table_rows() -> None:
    html = """<html lang="de"><body><p>Sommerfeld GmbH, Tel. +49 30 1234567</p>
    <p>Webdesign &amp; Umsetzung: Agentur Pixelwerk GmbH, Tel. +49 30 23125 410,
    <a href="mailto:info@pixelwerk-beispiel.de">info@pixelwerk-beispiel.de</a></p></body></html>"""
    found = _values(html, "https://www.sommerfeld-beispiel.de/impressum")
    assert found >= {"+49301234567"} and "+493023125410" not in found
    assert "info@pixelwerk-beispiel.de" not in found
    table = """<html lang="tr"><body><p>Çağrı Merkezi: 444 0 444</p><table>
    <tr><th>Yer Sağlayıcı</th><td>Bulutkent Bilişim Ltd. Şti. · Tel: 0216 555 12 34</td></tr>
    </table></body></html>"""
    found = _values(table, "https://www.kizilirmak-ornek.com.tr/kunye", "phone")
    assert found == {"+904440444"}


def test_definition_list_and_region_of_blocks_and_links() -> None:
    html = """<html lang="en"><body><p>Call us on +44 20 7946 0123</p><dl>
    <dt>Hosting</dt><dd>Cloudy Ltd, +44 161 496 0456, <a href="tel:+441614960457">call</a></dd>
    <dt>Registered office</dt><dd>1 High Street</dd></dl></body></html>"""
    page = parse_page(html, "https://www.example-firm.co.uk/contact")
    regions = {b.text: b.region for b in page.blocks}
    assert regions["Hosting"] == THIRD_PARTY and regions["1 High Street"] == "main"
    assert [link.region for link in page.links] == [THIRD_PARTY]
    assert _values(html, "https://www.example-firm.co.uk/contact", "phone") == {"+442079460123"}


def test_words_that_only_look_like_markers() -> None:
    html = """<html lang="en"><body><h2>Hosting packages for small firms</h2>
    <p>Talk to our sales team: +44 20 7946 0999</p></body></html>"""
    assert _values(html, "https://www.example-host.co.uk/", "phone") == {"+442079460999"}
    assert marked_blocks(["Réalisation du mois", "Hosting plans", "Design by night"]) == [
        ("Design by night", "Design by"),
    ]
    assert [w for _, w in marked_blocks(["Hosting:", "Webdesign & Umsetzung", "Hosting"])] == [
        "Hosting", "Webdesign", "Hosting",
    ]


def test_own_address_in_an_entry_is_kept_and_hours_there_are_not() -> None:
    html = """<html lang="de"><body><p>Tel. +49 30 1234567</p>
    <h3>Externer Datenschutzbeauftragter</h3>
    <p>Erreichbar unter datenschutz@firma-beispiel.de oder dsb@dsb-beispiel.de,
    Mo–Fr 9:00–12:00</p></body></html>"""
    found = _values(html, "https://www.firma-beispiel.de/impressum")
    assert "datenschutz@firma-beispiel.de" in found  # the company's own domain
    assert "dsb@dsb-beispiel.de" not in found
    assert not [cp for cp in extract_page(html, "https://www.firma-beispiel.de/impressum") if cp.kind == "hours"]


def test_a_hosts_own_support_line_is_kept() -> None:
    """On a host's or agency's own site, an entry that names the site is the company's."""
    html = """<html lang="de"><body><h2>Hosting</h2>
    <p>Rheinhost GmbH, Support rund um die Uhr: Tel. +49 221 4710 123</p>
    <p>Hosting-Support: +49 221 4710 124</p></body></html>"""
    own = _values(html, "https://www.rheinhost-rz.de/kontakt", "phone")
    assert own == {"+492214710123", "+492214710124"}
    # the same entry on a customer's site is the host's, both lines under its heading
    assert _values(html, "https://www.baeckerei-kunde.de/impressum", "phone") == set()
    # and a block merely starting with the word is no entry of its own
    line = """<html lang="de"><body><p>Hosting-Support: +49 221 4710 124</p></body></html>"""
    assert _values(line, "https://www.baeckerei-kunde.de/", "phone") == {"+492214710124"}


def test_a_page_of_a_thousand_spellings_is_looked_up_a_bounded_number_of_times(monkeypatch) -> None:
    """A hostile page cannot make the third-party pass walk the tree once per block."""
    from auditor.extract import page as P
    from auditor.extract import sections

    calls = []
    real = sections._TEXT_STARTING
    monkeypatch.setattr(sections, "_TEXT_STARTING", lambda tree, prefix: calls.append(prefix) or real(tree, prefix=prefix))
    real_runs = sections._starting
    monkeypatch.setattr(sections, "_starting", lambda runs, prefix: calls.append(prefix) or real_runs(runs, prefix))
    spellings = ["".join(c.upper() if (i >> k) & 1 else c for k, c in enumerate("hosting")) for i in range(128)]
    body = "".join(f"<p>{s}: Provider {i}, Tel. +49 30 1234 {i:03d}</p>" for i, s in enumerate(spellings * 4))
    html = f"<html lang='de'><body><p>Tel. +49 30 9876543</p>{body}</body></html>"
    url = "https://www.firma-beispiel.de/"
    # both readings: Lexbor's document (parse_page) and its lxml copy
    for read in (parse_page, lambda html, url: P._build(P._parse_html(html), url, html)):
        page = read(html, url)
        assert len(calls) == sections.MAX_PREFIXES
        calls.clear()
        assert page.blocks[0].region == "main"
        assert sum(b.region == THIRD_PARTY for b in page.blocks) >= sections.MAX_PREFIXES
