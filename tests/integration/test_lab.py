"""The lab itself: world file, HTTP and DNS servers on loopback, truth and inputs."""

from __future__ import annotations

import csv
import http.client
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import phonenumbers
import pytest

from auditor.lab import Lab, World, WorldError, load_world
from auditor.lab.world import parse_world
from auditor.models import KINDS
from auditor.net.domains import registrable_domain

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def fetch(lab: Lab, host: str, path: str, method: str = "GET", ua: str = "lab-test/1.0") -> Reply:
    """One request over real HTTP to the lab port, the site picked by the Host header."""
    conn = http.client.HTTPConnection("127.0.0.1", lab.http_port, timeout=5)
    try:
        conn.request(method, path, headers={"Host": f"{host}:{lab.http_port}", "User-Agent": ua})
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def fetch_url(lab: Lab, url: str) -> Reply:
    parts = urlsplit(url)
    assert parts.port == lab.http_port, url
    return fetch(lab, parts.hostname or "", parts.path or "/")


def ask(
    lab: Lab, name: str, rdtype: str, tcp: bool = False, timeout: float = 2.0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, "127.0.0.1", port=lab.dns_port, timeout=timeout)


def answers(msg: dns.message.Message, rdtype: str) -> list[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return sorted(rd.to_text() for rrset in msg.answer if rrset.rdtype == wanted for rd in rrset)


# --------------------------------------------------------------------------- world


def test_default_world_has_the_scenarios(lab: Lab) -> None:
    domains = {c.domain for c in lab.world.companies}
    assert len(domains) >= 12
    for needed in (
        "kovacs-szerviz.hu",
        "robotfirma.de",
        "sitemapco.pl",
        "redirect-shop.ro",
        "firma.com.tr",
        "other.com.tr",
        "teashop.co.uk",
        "bigcatalog.cz",
        "support-sub.de",
    ):
        assert needed in domains
    suffixes = {d.split(".", 1)[1] for d in domains}
    assert {"ru", "com.ua"} <= suffixes
    failures = {c.truth.failure for c in lab.world.companies}
    assert {"dns-failure", "http-5xx"} <= failures
    kinds = {contact.kind for c in lab.world.companies for contact in c.truth.contacts}
    assert kinds == set(KINDS)


def test_every_truth_phone_is_valid_for_its_country(lab: Lab) -> None:
    checked = deliberate = 0
    for company in lab.world.companies:
        for contact in company.truth.contacts + company.truth.must_not_harvest:
            if contact.kind != "phone":
                continue
            number = phonenumbers.parse(contact.value)
            if contact.verdict == "inactive":  # a deliberately broken number, said so
                assert not phonenumbers.is_valid_number(number), contact.value
                assert contact.reason == "invalid-number"
                deliberate += 1
                continue
            assert phonenumbers.is_valid_number(number), (company.domain, contact.value)
            assert phonenumbers.region_code_for_number(number) == company.country, contact.value
            assert contact.value == phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.E164
            )
            checked += 1
    assert checked >= 25 and deliberate >= 1


def test_truth_emails_are_on_the_companys_own_domain(lab: Lab) -> None:
    for company in lab.world.companies:
        for contact in company.truth.contacts:
            if contact.kind == "email":
                assert registrable_domain(contact.value.split("@")[1]) == company.domain


def test_truth_contact_pages_are_served_and_show_the_value(lab: Lab) -> None:
    for domain, truth in lab.truth.items():
        for contact in truth.contacts + truth.must_not_harvest:
            reply = fetch_url(lab, contact.page)
            assert reply.status == 200, contact.page
            if contact.kind == "email":
                assert contact.value.encode() in reply.body, (domain, contact)


def test_truth_urls_carry_the_lab_port(lab: Lab) -> None:
    truth = lab.truth_for("tehnoservis.ru")
    port = lab.http_port
    assert (
        f"http://tehnoservis.ru:{port}/%D0%BA%D0%BE%D0%BD%D1%82%D0%B0%D0%BA%D1%82%D1%8B"
        in truth.must_fetch
    )
    firma = lab.truth_for("firma.com.tr")
    assert firma.external == (f"http://other.com.tr:{port}/iletisim",)
    assert (
        lab.truth_for("support-sub.de").must_fetch[0]
        == f"http://support.support-sub.de:{port}/kontakt"
    )


def test_sitemap_only_page_is_linked_from_no_page(lab: Lab) -> None:
    company = lab.company("sitemapco.pl")
    for page in company.pages:
        body = fetch(lab, page.host, page.path).text
        assert 'obsluga-klienta"' not in body and "/obsluga-klienta'" not in body


# --------------------------------------------------------------------------- HTTP


def test_pages_are_served_by_host_header(lab: Lab) -> None:
    reply = fetch(lab, "kovacs-szerviz.hu", "/rolunk/kapcsolat")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert int(reply.headers["content-length"]) == len(reply.body)
    assert 'lang="hu"' in reply.text and "ugyfelszolgalat@kovacs-szerviz.hu" in reply.text
    assert "smartsuppchat.com" in reply.text
    home = fetch(lab, "kovacs-szerviz.hu", "/").text
    assert "/rolunk/kapcsolat" not in home and 'href="/rolunk"' in home


def test_www_alias_and_case_and_port_in_host(lab: Lab) -> None:
    apex = fetch(lab, "pasticceria-rossi.it", "/contatti")
    www = fetch(lab, "WWW.Pasticceria-Rossi.it", "/contatti")
    assert apex.status == www.status == 200
    assert apex.body == www.body
    assert (
        lab.website("pasticceria-rossi.it") == f"http://www.pasticceria-rossi.it:{lab.http_port}/"
    )


def test_unknown_host_and_unknown_path(lab: Lab) -> None:
    reply = fetch(lab, "nowhere.example", "/")
    assert reply.status == 404 and reply.body == b"unknown site\n"
    reply = fetch(lab, "robotfirma.de", "/no-such-page")
    assert reply.status == 404 and b"Not Found" in reply.body


def test_robots_txt_and_sitemap(lab: Lab) -> None:
    robots = fetch(lab, "robotfirma.de", "/robots.txt")
    assert robots.status == 200 and robots.headers["content-type"].startswith("text/plain")
    assert "Disallow: /kontakt/" in robots.text
    assert fetch(lab, "kovacs-szerviz.hu", "/robots.txt").status == 404
    robots = fetch(lab, "sitemapco.pl", "/robots.txt").text
    assert f"Sitemap: http://sitemapco.pl:{lab.http_port}/sitemap.xml" in robots
    sitemap = fetch(lab, "sitemapco.pl", "/sitemap.xml")
    assert sitemap.headers["content-type"] == "application/xml"
    assert f"<loc>http://sitemapco.pl:{lab.http_port}/obsluga-klienta</loc>" in sitemap.text


def test_redirects(lab: Lab) -> None:
    home = fetch(lab, "redirect-shop.ro", "/")
    assert home.status == 301 and home.headers["location"] == "/ro/"
    contact = fetch(lab, "redirect-shop.ro", "/contact")
    assert contact.status == 302 and contact.headers["location"] == "/ro/contact"
    assert fetch(lab, "redirect-shop.ro", "/ro/contact").status == 200
    shop = fetch(lab, "redirect-shop.ro", "/shop")
    assert shop.status == 301
    assert shop.headers["location"] == f"http://www.redirect-shop.ro:{lab.http_port}/ro/produse"


def test_links_to_other_world_hosts_carry_the_port(lab: Lab) -> None:
    body = fetch(lab, "firma.com.tr", "/").text
    assert f'href="http://other.com.tr:{lab.http_port}/iletisim"' in body
    body = fetch(lab, "support-sub.de", "/").text
    assert f'href="http://support.support-sub.de:{lab.http_port}/"' in body
    assert "support@support-sub.de" in fetch(lab, "support.support-sub.de", "/kontakt").text


def test_charset_encoded_pages(lab: Lab) -> None:
    reply = fetch(lab, "bigcatalog.cz", "/kontakt")
    assert reply.headers["content-type"] == "text/html; charset=windows-1250"
    assert "Těšíme".encode("cp1250") in reply.body
    assert "Těšíme".encode() not in reply.body
    ua = fetch(lab, "mebli-dim.com.ua", "/kontakty")
    assert ua.headers["content-type"] == "text/html"  # only <meta> tells the charset
    assert b'<meta charset="windows-1251">' in ua.body
    assert "Контакти".encode("cp1251") in ua.body


def test_percent_encoded_slugs(lab: Lab) -> None:
    ru = "/%D0%BA%D0%BE%D0%BD%D1%82%D0%B0%D0%BA%D1%82%D1%8B"
    assert f'href="{ru}"' in fetch(lab, "tehnoservis.ru", "/").text
    assert "info@tehnoservis.ru" in fetch(lab, "tehnoservis.ru", ru).text
    hu = "/el%C3%A9rhet%C5%91s%C3%A9g"
    assert f'href="{hu}"' in fetch(lab, "balaton-panzio.hu", "/").text
    assert fetch(lab, "balaton-panzio.hu", hu).status == 200


def test_big_catalog_puts_contact_link_after_eighty_products(lab: Lab) -> None:
    body = fetch(lab, "bigcatalog.cz", "/").text
    links = re.findall(r'href="(/[^"]*)"', body)
    products = [link for link in links if link.startswith("/produkty/")]
    assert len(set(products)) == 80
    assert links.index("/kontakt") > links.index("/produkty/80")
    assert "/kontakt" not in fetch(lab, "bigcatalog.cz", "/produkty/7").text
    assert fetch(lab, "bigcatalog.cz", "/produkty/80").status == 200


def test_page_from_a_file_uses_the_company_layout(lab: Lab) -> None:
    body = fetch(lab, "teashop.co.uk", "/about").text
    assert "The Tea Shop Ltd was founded in 2009" in body
    assert "code.tidio.co" in body and "<title>About us | The Tea Shop Ltd</title>" in body


def test_site_that_answers_500_everywhere_and_head(lab: Lab) -> None:
    for path in ("/", "/kontakt", "/en/contact"):
        assert fetch(lab, "broken-server.nl", path).status == 500
    assert fetch(lab, "broken-server.nl", "/robots.txt").status == 404
    head = fetch(lab, "teashop.co.uk", "/contact-us", method="HEAD")
    assert head.status == 200 and head.body == b"" and int(head.headers["content-length"]) > 0


def test_request_log_records_host_path_and_user_agent(lab: Lab) -> None:
    before = time.time()
    fetch(lab, "other.com.tr", "/iletisim?x=1", ua="contact-auditor-test/2")
    fetch(lab, "tehnoservis.ru", "/%D0%BA%D0%BE%D0%BD%D1%82%D0%B0%D0%BA%D1%82%D1%8B")
    mine = [r for r in lab.requests if r.time >= before]
    first = next(r for r in mine if r.host == "other.com.tr")
    assert (first.method, first.path, first.decoded_path) == ("GET", "/iletisim?x=1", "/iletisim")
    assert first.user_agent == "contact-auditor-test/2" and first.status == 200
    assert "/контакты" in lab.requests.paths("tehnoservis.ru")


# --------------------------------------------------------------------------- DNS


def test_dns_a_and_mx_over_udp_and_tcp(lab: Lab) -> None:
    for tcp in (False, True):
        msg = ask(lab, "kovacs-szerviz.hu", "A", tcp=tcp)
        assert msg.rcode() == dns.rcode.NOERROR and msg.flags & dns.flags.AA
        assert answers(msg, "A") == ["127.0.0.1"]
    assert answers(ask(lab, "kovacs-szerviz.hu", "MX"), "MX") == ["10 mx1.kovacs-szerviz.hu."]
    # A declared mail host lives on its own loopback address, where the lab's SMTP listens.
    mx1 = lab.mail_host("mx1.kovacs-szerviz.hu")
    assert answers(ask(lab, "mx1.kovacs-szerviz.hu", "A"), "A") == [mx1.ip] != ["127.0.0.1"]
    assert answers(ask(lab, "support.support-sub.de", "A", tcp=True), "A") == ["127.0.0.1"]
    assert answers(ask(lab, "robotfirma.de", "TXT"), "TXT") == ['"v=spf1 mx -all"']


def test_dns_null_mx_no_mx_and_nodata(lab: Lab) -> None:
    assert answers(ask(lab, "other.com.tr", "MX"), "MX") == ["0 ."]
    for name, rdtype in (("teashop.co.uk", "MX"), ("kovacs-szerviz.hu", "AAAA")):
        msg = ask(lab, name, rdtype)
        assert msg.rcode() == dns.rcode.NOERROR and not msg.answer
        assert msg.authority and msg.authority[0].rdtype == dns.rdatatype.SOA


def test_dns_cname_is_followed_inside_the_world(lab: Lab) -> None:
    msg = ask(lab, "www.atelier-dupont.fr", "A")
    assert answers(msg, "CNAME") == ["atelier-dupont.fr."]
    assert answers(msg, "A") == ["127.0.0.1"]


def test_dns_nxdomain_servfail_refused(lab: Lab) -> None:
    msg = ask(lab, "random-sub.kovacs-szerviz.hu", "A")
    assert msg.rcode() == dns.rcode.NXDOMAIN and msg.flags & dns.flags.AA
    assert ask(lab, "vanished-startup.es", "A").rcode() == dns.rcode.NXDOMAIN
    assert ask(lab, "www.vanished-startup.es", "MX", tcp=True).rcode() == dns.rcode.NXDOMAIN
    assert ask(lab, "mx2.atelier-dupont.fr", "A").rcode() == dns.rcode.SERVFAIL
    refused = ask(lab, "example.com", "A")
    assert refused.rcode() == dns.rcode.REFUSED and not refused.answer
    assert not refused.flags & (dns.flags.AA | dns.flags.RA)


def test_dns_timeout_behaviour_drops_the_query(lab: Lab) -> None:
    for tcp in (False, True):
        with pytest.raises(dns.exception.Timeout):
            ask(lab, "mx1.broken-server.nl", "A", tcp=tcp, timeout=0.3)
    assert ask(lab, "broken-server.nl", "A").rcode() == dns.rcode.NOERROR


def test_dns_query_counts(lab: Lab) -> None:
    before = lab.dns_server.queries[("firma.com.tr", "MX")]
    ask(lab, "firma.com.tr", "MX")
    ask(lab, "FIRMA.com.tr.", "MX", tcp=True)
    assert lab.dns_server.queries[("firma.com.tr", "MX")] == before + 2


# --------------------------------------------------------------------------- inputs


def test_companies_csv_and_jsonl(lab: Lab, tmp_path: Path) -> None:
    path = lab.write_companies_csv(tmp_path / "companies.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == ["name", "website", "country", "industry", "language"]
    assert len(rows) == len(lab.world.companies)
    kovacs = next(r for r in rows if "kovacs" in r["website"])
    assert kovacs == {
        "name": "Kovács Autószerviz Kft.",
        "website": f"http://kovacs-szerviz.hu:{lab.http_port}/",
        "country": "HU",
        "industry": "automotive repair",
        "language": "hu",
    }
    lines = (
        lab.write_companies_jsonl(tmp_path / "c.jsonl", ["firma.com.tr"])
        .read_text("utf-8")
        .splitlines()
    )
    assert [json.loads(line)["name"] for line in lines] == ["Firma Tekstil Ticaret A.Ş."]


def test_lab_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Lab(host="0.0.0.0")


def test_module_runs_in_the_foreground(tmp_path: Path) -> None:
    csv_path = tmp_path / "c.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor.lab", "--companies-csv", str(csv_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        assert any(line.startswith("nameserver  127.0.0.1:") for line in lines), lines
        assert csv_path.read_text(encoding="utf-8").startswith("name,website,")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0


# --------------------------------------------------------------------------- validation

MINIMAL = """
[[company]]
name = "Test Kft."
domain = "test-kft.hu"
country = "HU"
[[company.pages]]
path = "/"
main = "<p>hello</p>"
"""


def world_error(text: str) -> str:
    with pytest.raises(WorldError) as info:
        parse_world(text, source="t.toml")
    return str(info.value)


def test_minimal_world_loads_with_defaults() -> None:
    world = parse_world(MINIMAL)
    assert isinstance(world, World)
    company = world.company("test-kft.hu")
    assert company.website == "http://test-kft.hu/"
    assert company.zone is not None
    names = company.zone.names
    assert names["test-kft.hu"].mx == ((10, "mx1.test-kft.hu"),)
    assert names["www.test-kft.hu"].a == ("127.0.0.1",)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            '[[company.pages]]\npath = "/x"\nstatus = "ok"',
            r"company 'test-kft.hu' pages\[1\] \(/x\): status: expected an integer",
        ),
        (
            '[[company.pages]]\npath = "/x"\nstatuss = 200',
            r"pages\[1\] \(/x\): unknown key\(s\) statuss",
        ),
        (
            '[[company.pages]]\npath = "/x"\nredirect = "/"\nstatus = 200',
            r"a redirect needs a 3xx status",
        ),
        ('[[company.pages]]\npath = "/x"\ncharset = "klingon"', r"charset: unknown encoding"),
        (
            '[[company.pages]]\npath = "/x"\nmain = "{% if %}"',
            r"pages\[1\] \(/x\): body: template error",
        ),
        ('[[company.pages]]\npath = "/"\nmain = "again"', r"/ is defined twice"),
        (
            '[company.dns]\nbehaviour = "slow"',
            r"dns: behaviour: expected one of nxdomain, servfail, timeout",
        ),
        (
            '[company.dns]\nrecords = { "www" = { a = ["8.8.8.8"] } }',
            r"dns.records.www: a: '8.8.8.8': the lab only hands out IPv4 loopback",
        ),
        (
            '[company.dns]\nrecords = { "@" = { cname = "x" } }',
            r"the domain itself cannot be a CNAME",
        ),
        (
            '[company.truth]\ncontacts = [{ kind = "phone", value = "+36 1 234", page = "/" }]',
            r"truth.contacts\[0\] \(\+36 1 234\): value: not a valid number for region HU",
        ),
        (
            '[company.truth]\ncontacts = [{ kind = "email", value = "a@gmail.com", page = "/" }]',
            r"value: an email must be on a domain of the world",
        ),
        (
            '[company.truth]\ncontacts = [{ kind = "fax", value = "1", page = "/" }]',
            r"kind: expected one of phone, email",
        ),
        (
            '[company.truth]\ncontacts = [{ kind = "email", value = "a@test-kft.hu", page = "/kapcsolat" }]',
            r"truth: contacts: the world serves no page http://test-kft.hu/kapcsolat",
        ),
        (
            '[company.truth]\nmust_fetch = ["http://test-kft.hu:8080/"]',
            r"must_fetch: leave the port out",
        ),
        (
            '[company.truth]\nmust_not_fetch = ["http://other.hu/"]',
            r"must_not_fetch: http://other.hu/ is not on the company's own hosts",
        ),
        ('[company.truth]\nfailure = "broken"', r"failure: 'broken' is not a reason tag"),
        (
            '[[company.pages]]\npath = "/x"\nmain = "{{ nope }}"',
            r"company 'test-kft.hu': rendering /x: 'nope' is undefined",
        ),
        (
            '[[company.pages]]\npath = "/x"\nbody = "{% extends \'missing.html\' %}"',
            r"rendering /x: missing.html",
        ),
        (
            '[company.truth]\ncontacts = [{ kind = "phone", value = "+36 1 234", page = "/",'
            ' verdict = "unknown", reason = "not-dialled" }]',
            r"not a valid number for region HU \(a deliberately invalid one needs verdict",
        ),
        (
            '[company.truth]\ncontacts = [{ kind = "email", value = "a@test-kft.hu", page = "/",'
            ' verdict = "dead", reason = "nxdomain" }]',
            r"truth.contacts\[0\] \(a@test-kft.hu\): verdict: expected one of active, inactive",
        ),
        (
            '[company.truth]\ncontacts = [{ kind = "email", value = "a@test-kft.hu", page = "/",'
            ' verdict = "inactive", reason = "gone" }]',
            r"reason: 'gone' is not a reason tag",
        ),
        (
            '[company.truth]\ncontacts = [{ kind = "email", value = "a@test-kft.hu", page = "/",'
            ' verdict = "inactive" }]',
            r"reason: give verdict and reason together",
        ),
        (
            '[company.truth]\ncontacts = [{ kind = "email", value = "a@test-kft.hu", page = "/",'
            ' flags = ["accept-all"] }]',
            r"flags: flags belong to a verdict",
        ),
        ('[[company.mail]]\nbehaviour = "bouncy"', r"mail\[0\] \(mx1\): behaviour: expected one of mailboxes"),
        ('[[company.mail]]\nip = "10.0.0.5"', r"mail\[0\] \(mx1\): ip: '10.0.0.5': the lab only hands out"),
        ('[[company.mail]]\nhost = "@"\nip = "127.0.0.9"', r"ip: the domain itself lives on 127.0.0.1"),
        ('[[company.mail]]\nhost = "mx.other.hu."', r"host: 'mx.other.hu.' is outside the company's domain"),
        ('[[company.mail]]\nmailboxes = ["@test-kft.hu"]', r"mailboxes: '@test-kft.hu' is not a local part"),
        (
            '[[company.mail]]\nip = "127.0.0.9"\n[[company.mail]]\nhost = "mx2"\nip = "127.0.0.9"\n'
            'behaviour = "silent"',
            r"mail \(mx2.test-kft.hu\): shares 127.0.0.9 with mx1.test-kft.hu, which is 'mailboxes'",
        ),
    ],
)
def test_validation_errors_name_company_and_field(extra: str, expected: str) -> None:
    message = world_error(MINIMAL + extra)
    assert message.startswith("t.toml: "), message
    assert re.search(expected, message), message


def test_world_level_errors() -> None:
    assert "domain(s) used by more than one company: test-kft.hu" in world_error(MINIMAL + MINIMAL)
    assert "not valid TOML" in world_error("[[company]\n")
    assert "is not a registrable domain" in world_error(
        MINIMAL.replace("test-kft.hu", "www.test-kft.hu")
    )
    assert "company 'a.hu': name: is required" in world_error('[[company]]\ndomain = "a.hu"\n')
    with pytest.raises(WorldError, match="cannot read world file"):
        load_world("/nonexistent/world.toml")


def test_mail_hosts_become_mx_and_a_records() -> None:
    world = parse_world(
        MINIMAL
        + '[[company.mail]]\nmailboxes = ["info", "x@test-kft.hu"]\n'
        + '[[company.mail]]\nhost = "mx2"\npreference = 20\nbehaviour = "closed"\n'
    )
    names = world.company("test-kft.hu").zone.names  # type: ignore[union-attr]
    mx1, mx2 = world.mail_hosts
    assert names["test-kft.hu"].mx == ((10, "mx1.test-kft.hu"), (20, "mx2.test-kft.hu"))
    assert names["mx1.test-kft.hu"].a == (mx1.ip,) and names["mx2.test-kft.hu"].a == (mx2.ip,)
    assert mx1.ip != mx2.ip and mx1.ip.startswith("127.") and mx1.ip != "127.0.0.1"
    assert mx1.mailboxes == ("info@test-kft.hu", "x@test-kft.hu")
    # The domain itself as the (only) mail host: implicit MX, no MX record at all.
    implicit = parse_world(MINIMAL + '[[company.mail]]\nhost = "@"\nmailboxes = ["hello"]\n')
    host = implicit.mail_hosts[0]
    assert (host.name, host.ip, host.implicit) == ("test-kft.hu", "127.0.0.1", True)
    assert implicit.company("test-kft.hu").zone.names["test-kft.hu"].mx == ()  # type: ignore[union-attr]


def test_truth_verdicts_and_platforms_are_loaded(lab: Lab) -> None:
    truth = lab.truth_for("cloudbridge.ie")
    dead = truth.verdicts()[("chat", "facebook-customer-chat")]
    assert (dead.verdict, dead.reason, dead.flags) == ("inactive", "dead-provider", ("dead-provider",))
    assert lab.world.platform("t.me").name.startswith("Telegram")
    with pytest.raises(KeyError):
        lab.company("t.me")  # a platform is never audited
    assert "t.me" in lab.world.sites and "t.me" not in lab.world.port_hosts
    # Platform URLs keep no port: the validators reach them through scheme overrides.
    assert lab.url("https://t.me/pixelhry") == "https://t.me/pixelhry"
    assert "https://t.me/tehnoservis_help" in {
        c.value for c in lab.truth_for("tehnoservis.ru").contacts
    }
    reply = fetch(lab, "t.me", "/tehnoservis_help")
    assert reply.status == 200 and "tgme_page_title" in reply.text
    missing = fetch(lab, "t.me", "/nobody_here")
    assert missing.status == 200 and "tgme_page_title" not in missing.text
    assert "tgme_username_link" in missing.text


def test_every_company_lists_a_verdict_for_every_checked_contact(lab: Lab) -> None:
    checked = ("phone", "email", "chat", "messaging", "form")
    for company in lab.world.companies:
        for contact in company.truth.contacts:
            if contact.kind in checked:
                assert contact.verdict and contact.reason, (company.domain, contact.value)
    countries = {c.country for c in lab.world.companies}
    industries = {c.industry for c in lab.world.companies}
    assert len(lab.world.companies) >= 30 and len(countries) >= 6
    assert {"banking", "travel", "online games", "telecom", "retail"} <= industries


def test_page_files_live_in_the_world_folder(tmp_path: Path) -> None:
    (tmp_path / "mini").mkdir()
    (tmp_path / "mini" / "home.html").write_text("<p>{{ company.name }}</p>", encoding="utf-8")
    path = tmp_path / "mini.toml"
    path.write_text(MINIMAL.replace('main = "<p>hello</p>"', 'file = "home.html"'), "utf-8")
    world = load_world(path)
    assert world.company("test-kft.hu").pages[0].template is not None
    path.write_text(MINIMAL.replace('main = "<p>hello</p>"', 'file = "../mini.toml"'), "utf-8")
    with pytest.raises(WorldError, match=r"pages\[0\] \(/\): file: '../mini.toml' is outside"):
        load_world(path)


def test_large_answers_are_truncated_over_udp_only() -> None:
    big = ", ".join(f'"{i}{"x" * 200}"' for i in range(5))
    world = parse_world(MINIMAL + f'[company.dns]\nrecords = {{ "big" = {{ txt = [{big}] }} }}\n')
    with Lab(world) as small:
        udp = ask(small, "big.test-kft.hu", "TXT")
        assert udp.flags & dns.flags.TC and not udp.answer
        query = dns.message.make_query("big.test-kft.hu", "TXT", use_edns=0, payload=4096)
        edns = dns.query.udp(query, "127.0.0.1", port=small.dns_port, timeout=2)
        assert not edns.flags & dns.flags.TC and len(answers(edns, "TXT")) == 5
        assert len(answers(ask(small, "big.test-kft.hu", "TXT", tcp=True), "TXT")) == 5
