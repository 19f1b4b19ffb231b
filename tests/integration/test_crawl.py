"""The real spider, run as `auditor audit`, against the lab's HTTP and DNS servers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from auditor.lab import Lab

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "auditor" / "schema" / "results.schema.json"


def run_audit(lab: Lab, out: Path, *extra: str, companies: list[str] | None = None) -> dict[str, Any]:
    csv_path = lab.write_companies_csv(out.parent / f"{out.name}-companies.csv", companies)
    cmd = [
        sys.executable, "-m", "auditor.cli", "audit", str(csv_path), "--out", str(out),
        "--nameserver", lab.nameserver, "--delay", "0", "--timeout", "5", "--no-progress",
        "--no-validate", "--contact-url", "https://lab.test/about-the-crawler", *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((out / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def audited(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[Any]]:
    lab.reset_logs()
    results = run_audit(lab, tmp_path_factory.mktemp("crawl") / "out", "--allow-private-targets")
    return results, list(lab.requests)


def _company(results: dict[str, Any], lab: Lab, domain: str) -> dict[str, Any]:
    website = lab.website(domain)
    return next(c for c in results["companies"] if c["website"] == website)


def test_results_match_the_schema(audited: tuple[dict[str, Any], list[Any]]) -> None:
    results, _ = audited
    jsonschema.validate(results, json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_every_truth_contact_is_harvested_and_nothing_forbidden(
    audited: tuple[dict[str, Any], list[Any]], lab: Lab
) -> None:
    results, _ = audited
    missing, forbidden = [], []
    for company in lab.world.companies:
        truth = lab.truth_for(company)
        found = {(c["kind"], c["value"]) for c in _company(results, lab, company.domain)["contacts"]}
        missing += [(company.domain, c.kind, c.value) for c in truth.contacts if (c.kind, c.value) not in found]
        forbidden += [(company.domain, c.value) for c in truth.must_not_harvest if (c.kind, c.value) in found]
    assert not missing, f"truth contacts not harvested: {missing}"
    assert not forbidden, f"harvested what must not be: {forbidden}"


def test_fetch_rules_and_external_links(audited: tuple[dict[str, Any], list[Any]], lab: Lab) -> None:
    results, requests = audited
    requested = {(r.host, urlsplit(r.path).path) for r in requests}
    for company in lab.world.companies:
        truth = lab.truth_for(company)
        record = _company(results, lab, company.domain)
        fetched_ok = {p["url"] for p in record["pages"] if p["status"] == 200}
        for url in truth.must_fetch:
            assert url in fetched_ok, f"{company.domain}: {url} not fetched"
        for url in truth.must_not_fetch:
            parts = urlsplit(url)
            assert (parts.hostname, parts.path) not in requested, f"{company.domain}: fetched {url}"
        for url in truth.external:
            assert url in record["external_links"], f"{company.domain}: {url} not recorded as external"
        if truth.failure:
            assert truth.failure in {f["tag"] for f in record["failures"]}, company.domain


def test_identifies_itself_with_a_contact_url(audited: tuple[dict[str, Any], list[Any]]) -> None:
    _, requests = audited
    agents = {r.user_agent for r in requests}
    assert agents and all("contact-auditor/" in a and "https://lab.test/about-the-crawler" in a for a in agents)


def test_robots_is_read_before_pages(audited: tuple[dict[str, Any], list[Any]], lab: Lab) -> None:
    _, requests = audited
    first_by_host: dict[str, str] = {}
    for r in requests:
        first_by_host.setdefault(r.host, urlsplit(r.path).path)
    assert all(path == "/robots.txt" for path in first_by_host.values()), first_by_host


def test_page_budget_is_respected(lab: Lab, tmp_path: Path) -> None:
    results = run_audit(lab, tmp_path / "budget", "--allow-private-targets", "--max-pages", "6",
                        companies=["bigcatalog.cz"])
    record = results["companies"][0]
    fetched = [p for p in record["pages"] if p["status"] is not None]
    assert len(fetched) <= 6
    assert "page-budget-reached" in {f["tag"] for f in record["failures"]}
    # best-first: the footer contact page comes before the product pages
    assert any("/kontakt" in p["url"] for p in fetched)


def test_private_addresses_are_refused_without_the_flag(lab: Lab, tmp_path: Path) -> None:
    lab.reset_logs()
    results = run_audit(lab, tmp_path / "private", companies=["kovacs-szerviz.hu", "teashop.co.uk"])
    for record in results["companies"]:
        assert record["status"] == "failed"
        assert {f["tag"] for f in record["failures"]} == {"private-address-refused"}
    assert not list(lab.requests), "the lab saw a request although every address is loopback"
