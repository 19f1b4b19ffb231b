"""The fault matrix (issue 6): hostile and broken sites, DNS and mail servers, one test each.

One ``auditor audit`` run (a subprocess, crawl + validation + report) over every company
of ``auditor/lab/worlds/faults.toml`` with tight limits, then one test per fault company:
its record carries the tag the world's truth names, the truth's contacts are harvested
(with their verdicts), the time spent on it stays within the run's budget, and the whole
run's peak memory stays bounded. The names answering private addresses get a run of their
own, without --allow-private-targets. The validators' HTTP client meets the same web
faults directly, and the fixes the faults called for are pinned by small tests at the end.
"""

from __future__ import annotations

import asyncio
import datetime
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import IgnoreRequest

from auditor.extract import parse_page
from auditor.extract.page import MAX_LINKS
from auditor.lab import Lab
from auditor.lab.http import FAULT_SIZES
from auditor.lab.tls import LabCA
from auditor.lab.world import FAULTS_WORLD, load_world
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import MAX_RECORDS, DnsResolver
from auditor.validate.email import MAX_TEXT, MAX_TRANSCRIPT
from auditor.validate.http import HttpClient
from spiders.contact import _looks_binary
from spiders.errors import failure_tag
from spiders.tls import certificate_problem
from tests.support.faults import (
    PRIVATE_FAULTS,
    Budget,
    FaultOutcome,
    Measured,
    fault_lab,
    outcomes,
    run_fault_audit,
    table,
)

pytestmark = pytest.mark.integration

WORLD = load_world(FAULTS_WORLD)
DOMAINS = [c.domain for c in WORLD.companies]
BUDGET = Budget()
MEMORY_LIMIT_MB = 1024  # generous: a healthy audit of this world peaks near 250 MB


@dataclass
class FaultRun:
    lab: Lab
    main: Measured
    private: Measured
    found: dict[str, FaultOutcome]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultRun]:
    base = tmp_path_factory.mktemp("faults")
    with fault_lab(WORLD) as lab:
        others = [d for d in DOMAINS if d not in PRIVATE_FAULTS]
        main = run_fault_audit(lab, base / "main", BUDGET, others, allow_private=True)
        assert main.returncode == 0, main.stdout + main.stderr
        private = run_fault_audit(lab, base / "private", BUDGET, list(PRIVATE_FAULTS), allow_private=False)
        assert private.returncode == 0, private.stdout + private.stderr
        found = {**outcomes(lab, base / "main"), **outcomes(lab, base / "private")}
        rows = [(o.fault, o.outcome, o.crawl_seconds, o.check_seconds,
                 (private if o.domain in PRIVATE_FAULTS else main).peak_rss_mb) for o in found.values()]
        print(f"\nfault run: {main.seconds:.1f} s, peak {main.peak_rss_mb:.0f} MB "
              f"(private-address run: {private.seconds:.1f} s, peak {private.peak_rss_mb:.0f} MB)")
        print(table(rows))
        yield FaultRun(lab, main, private, found)


def test_the_run_completes_with_bounded_memory(run: FaultRun) -> None:
    assert set(run.found) == set(DOMAINS), "a company was lost"
    for measured in (run.main, run.private):
        assert measured.peak_rss_mb < MEMORY_LIMIT_MB, f"peak RSS {measured.peak_rss_mb:.0f} MB"
    assert "Traceback" not in run.main.stderr, run.main.stderr[-3000:]


@pytest.mark.parametrize("domain", DOMAINS)
def test_fault(run: FaultRun, domain: str) -> None:
    """The record names what happened, the truth holds, and the budgets held."""
    company = WORLD.company(domain)
    truth = run.lab.truth_for(company)
    got = run.found[domain]
    if truth.failure:
        assert truth.failure in got.tags, f"{domain}: expected {truth.failure}, got {got.tags}"
    else:
        assert got.status == "done", f"{domain}: {got.status} {got.tags}"
    for contact in truth.contacts:
        assert (contact.kind, contact.value) in got.contacts, f"{domain}: {contact.value} not harvested"
        if contact.verdict is not None:
            verdict, reason = got.verdicts[(contact.kind, contact.value)]
            assert (verdict, reason) == (contact.verdict, contact.reason), f"{domain}: {verdict}/{reason}"
    for contact in truth.must_not_harvest:
        assert (contact.kind, contact.value) not in got.contacts, f"{domain}: harvested {contact.value}"
    requested = {(r.host, r.decoded_path) for r in run.lab.requests}
    for url in truth.must_not_fetch:
        host, path = re.match(r"https?://([^/:]+)(?::\d+)?(/.*)", url).groups()  # type: ignore[union-attr]
        assert (host, path) not in requested, f"{domain}: fetched {url}"
    assert got.pages <= BUDGET.max_pages
    assert got.crawl_seconds <= BUDGET.crawl_seconds, f"{domain}: {got.crawl_seconds:.1f} s"
    assert got.check_seconds <= BUDGET.check_seconds, f"{domain}: check {got.check_seconds:.1f} s"


def test_private_names_were_never_contacted(run: FaultRun) -> None:
    for domain in PRIVATE_FAULTS:
        got = run.found[domain]
        assert got.status == "failed" and set(got.tags) == {"private-address-refused"}
        assert all(p["status"] is None for p in got.record["pages"])
        assert not run.lab.requests.for_host(domain)


def test_mail_replies_are_capped_in_the_evidence(run: FaultRun) -> None:
    for domain in ("smtp-endless.de", "smtp-endless-banner.de", "smtp-garbage.de"):
        (email,) = [c for c in run.found[domain].record["contacts"] if c["kind"] == "email"]
        for check in email["validation"]["checks"]:
            transcript = check["evidence"].get("transcript", [])
            assert len(transcript) <= MAX_TRANSCRIPT
            for entry in transcript:
                assert len(entry.get("text", "")) <= MAX_TEXT and len(entry.get("error", "")) <= MAX_TEXT


def test_the_lab_streams_what_it_never_holds(run: FaultRun) -> None:
    sites = run.lab.http_server.sites
    huge = sites.lookup("huge-page.de", "/")
    assert huge is not None and huge.size == 52428800 and len(huge.body) < 64 * 1024
    bomb = sites.lookup("gzip-bomb.de", "/")
    assert bomb is not None and len(bomb.body) < FAULT_SIZES["gzip-bomb"] // 500


def test_huge_dns_answers_are_cut_to_the_preferred_records(run: FaultRun) -> None:
    resolver = DnsResolver(run.lab.nameserver, timeout=3)
    mx = resolver.query("huge-dns.de", "MX")
    assert mx.ok and mx.truncated and len(mx.records) == MAX_RECORDS
    assert mx.records[0] == "0 mx1.huge-dns.de."  # the most preferred survive the cut
    txt = resolver.query("huge-dns.de", "TXT")
    assert txt.ok and txt.truncated and len(txt.records) == MAX_RECORDS


# --------------------------------------------------------------------------- HTTP client

HTTP_FAULTS = [
    ("huge-page.de", "truncated"),
    ("huge-stream.de", "truncated"),
    ("gzip-bomb.de", "truncated"),
    ("brotli-bomb.de", "truncated"),
    ("header-flood.de", "connection-lost"),
    ("drip-feed.de", "read-timeout"),
    ("reset-body.de", "connection-lost"),
    ("redirect-loop.de", "redirect-loop"),
    ("redirect-chain.de", "too-many-redirects"),
    ("rate-limited.de", "status-429"),
    ("tls-self-signed.de", "tls-error"),
    ("tls-expired.de", "tls-error"),
    ("tls-wrong-host.de", "tls-error"),
]


@pytest.mark.parametrize(("domain", "expected"), HTTP_FAULTS)
def test_http_client_fault(run: FaultRun, domain: str, expected: str) -> None:
    """The validators' client: bodies capped (decompressed too), time capped, every hop checked."""
    lab = run.lab
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def fetch() -> Any:
        async with HttpClient(
            DnsResolver(lab.nameserver, timeout=2), AddressPolicy(True), user_agent="fault-test",
            timeout=3, connect_timeout=2, max_bytes=256 * 1024, backoff_cap=5, sleep=sleep,
            port_overrides={"http": lab.http_port, "https": lab.https_port}, ca_file=lab.ca_file,
        ) as client:
            result = await client.fetch(WORLD.company(domain).website, method="GET")
            if expected == "status-429":  # a second link on the storming host: no more waits
                waited = len(waits)
                again = await client.fetch(WORLD.company(domain).website + "?page=2", method="GET")
                assert again.status == 429 and again.tries == 1 and len(waits) == waited
            return result

    started = datetime.datetime.now()
    result = asyncio.run(fetch())
    seconds = (datetime.datetime.now() - started).total_seconds()
    assert seconds < 3 * 3 + 2, f"{domain}: {seconds:.1f} s"
    if expected == "truncated":
        assert result.truncated and len(result.body.encode("utf-8", "replace")) <= 4 * 256 * 1024
    elif expected == "status-429":
        assert result.status == 429 and result.tries == 3
        assert waits and all(w <= 5 for w in waits), waits  # Retry-After: 3600 is capped
    else:
        assert result.error == expected, f"{domain}: {result.error} {result.message}"


# --------------------------------------------------------------------------- the fixes, pinned


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("valid", None), ("expired", "expired on"), ("self-signed", "self-signed"), ("wrong-host", "is for wrong-host")],
)
def test_certificate_problems_are_named(mode: str, expected: str | None, tmp_path: Path) -> None:
    from cryptography import x509

    ca = LabCA("test CA")
    try:
        cert_path, _ = ca.issue(["tls-test.de", "www.tls-test.de"], mode=mode)
        cert = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
        problem = certificate_problem(cert, "www.tls-test.de")
    finally:
        ca.cleanup()
    assert (problem is None) if expected is None else (expected in (problem or "")), problem


def test_a_certificate_named_like_its_issuer_but_not_self_signed_is_judged_not_crashed() -> None:
    """Issuer == subject, signed by another key: the self-signed probe fails and the host check goes on."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "www.tls-test.de")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(ec.generate_private_key(ec.SECP256R1()).public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("www.tls-test.de")]), critical=False)
            .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()))
    assert certificate_problem(cert, "www.tls-test.de") is None
    assert "is for www.tls-test.de" in (certificate_problem(cert, "other.de") or "")


def test_ignored_requests_get_their_real_tag() -> None:
    assert failure_tag(IgnoreRequest("max redirections reached"))[0] == "too-many-redirects"
    bomb = IgnoreRequest("Ignored response <200 http://x/> because its body (1000 B compressed, "
                         "5242881 B decompressed so far) exceeded DOWNLOAD_MAXSIZE (5242880 B) during decompression.")
    assert failure_tag(bomb)[0] == "too-large"
    assert failure_tag(IgnoreRequest("Forbidden by robots.txt"))[0] == "robots-disallowed"


def test_binary_sniffing() -> None:
    assert _looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not _looks_binary("<html><body>Grüße</body></html>".encode())
    assert not _looks_binary("\ufeff<html>".encode("utf-16"))
    assert not _looks_binary(b"<html><body>a stray \x00 from a broken CMS</body></html>" * 3)
    assert _looks_binary(bytes(range(256)) * 4)


def test_links_per_page_are_capped_keeping_both_ends_and_contact_links() -> None:
    many = "".join(f'<a href="/p/{i}">p{i}</a>' for i in range(3 * MAX_LINKS))
    html = f'<html><body><a href="/kontakt">Kontakt</a>{many}<a href="tel:+493023125100">Tel</a><footer><a href="/impressum">Impressum</a></footer></body></html>'
    page = parse_page(html.encode(), "http://x.de/", "text/html; charset=utf-8")
    hrefs = [link.raw_href for link in page.links]
    web = [h for h in hrefs if not h.startswith("tel:")]
    assert len(web) == MAX_LINKS
    assert hrefs[0] == "/kontakt" and "/impressum" in hrefs and "tel:+493023125100" in hrefs
