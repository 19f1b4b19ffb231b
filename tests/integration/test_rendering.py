"""Script-built sites crawled by the real spider and Chromium (issue 12, part 2).

The lab serves ``auditor/lab/worlds/scripts.toml``: an app shell whose bundle writes
the contact details, a contact page whose bundle fetches /api/contact.json, a
hash-routed app whose contact view only the router reaches, a Next.js-style page
with its state in ``__NEXT_DATA__``, a chat launcher and a WhatsApp button built
from a script's configuration, and a hostile bundle (a request flood, then a memory
bomb). ``auditor audit`` runs twice as a user runs it (a subprocess: Scrapy's
reactor starts once per process): with ``--render never`` only the Next.js state
yields contact points; with ``--render auto`` every company yields its truth, the
script-built ones with method ``rendered``, and the hostile page is cut off.

Skipped when Chromium or playwright are missing, unless CI is set: then it fails.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from auditor.config import default
from auditor.lab import Lab
from auditor.lab.world import SCRIPTS_WORLD, load_world
from spiders.render import MAX_RENDER_REQUESTS
from tests.support.faults import Measured, run_measured
from tests.support.requirements import need_chromium

pytestmark = pytest.mark.integration

WORLD = load_world(SCRIPTS_WORLD)
NEXT = "nextjs-firma.de"
HOSTILE = "bottomless-app.de"
SCRIPT_BUILT = [c.domain for c in WORLD.companies if c.domain not in (NEXT, HOSTILE)]
MEMORY_LIMIT_MB = 2048  # the browser's peak; a page's scripts are capped at 256 MB of heap


@dataclass
class Audit:
    measured: Measured
    companies: dict[str, dict[str, Any]]  # domain -> results.json record
    summary: dict[str, Any]

    def found(self, domain: str) -> dict[tuple[str, str], str]:
        """(kind, value) -> method of every contact point of ``domain``."""
        return {(cp["kind"], cp["value"]): cp["method"] for cp in self.companies[domain]["contacts"]}


@dataclass
class Runs:
    lab: Lab
    never: Audit
    auto: Audit


def _audit(lab: Lab, out: Path, mode: str) -> Audit:
    csv_path = lab.write_companies_csv(out.parent / f"{out.name}.csv")
    cmd = [sys.executable, "-m", "auditor.cli", "audit", str(csv_path), "--out", str(out),
           "--nameserver", lab.nameserver, "--allow-private-targets", "--delay", "0", "--no-progress",
           "--no-validate", "--no-report", "--contact-url", "https://lab.test/about-the-crawler",
           "--timeout", "10", "--render", mode]
    measured = run_measured(cmd, env={**os.environ, **lab.env()}, timeout=600)
    assert measured.returncode == 0, measured.stdout + measured.stderr
    results = json.loads((out / "results.json").read_text())
    companies = {}
    for record in results["companies"]:
        host = urlsplit(record["website"]).hostname or ""
        companies[host] = record
    db = sqlite3.connect(out / "audit.sqlite")
    summary = json.loads(db.execute("SELECT summary FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    db.close()
    return Audit(measured, companies, summary)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    need_chromium(default("chromium"))
    base = tmp_path_factory.mktemp("rendering")
    with Lab(WORLD) as lab:
        never = _audit(lab, base / "never", "never")
        auto = _audit(lab, base / "auto", "auto")
        print(f"\nrender never: {never.measured.seconds:.1f} s; render auto: {auto.measured.seconds:.1f} s, "
              f"{auto.summary['rendering']}")
        yield Runs(lab, never, auto)


def _truth(lab: Lab, domain: str) -> set[tuple[str, str]]:
    return {(c.kind, c.value) for c in lab.truth_for(domain).contacts}


def test_without_rendering_only_the_framework_state_yields(runs: Runs) -> None:
    for domain in SCRIPT_BUILT + [HOSTILE]:
        assert runs.never.found(domain) == {}, domain
    found = runs.never.found(NEXT)
    assert set(found) == _truth(runs.lab, NEXT)
    assert set(found.values()) == {"framework-state"}
    assert runs.never.summary["rendering"]["pages"] == 0


@pytest.mark.parametrize("domain", SCRIPT_BUILT)
def test_rendering_yields_every_contact_point_with_method_rendered(runs: Runs, domain: str) -> None:
    found = runs.auto.found(domain)
    assert set(found) == _truth(runs.lab, domain), domain
    assert set(found.values()) == {"rendered"}, found


def test_the_framework_state_needs_no_rendering(runs: Runs) -> None:
    found = runs.auto.found(NEXT)
    assert set(found) == _truth(runs.lab, NEXT)
    assert set(found.values()) == {"framework-state"}


def test_the_hash_route_joins_the_frontier_and_is_rendered(runs: Runs) -> None:
    pages = {p["url"].split("/", 3)[-1]: p["message"] for p in runs.auto.companies["hashroute-firma.de"]["pages"]}
    assert "rendered (hash-route)" in pages.get("#/kontakt", ""), pages
    contacts = runs.auto.companies["hashroute-firma.de"]["contacts"]
    assert all(cp["page_url"].endswith("/#/kontakt") for cp in contacts), contacts
    never = {p["url"] for p in runs.never.companies["hashroute-firma.de"]["pages"]}
    assert not any("#" in url for url in never)  # without rendering a route is the same shell


def test_the_browser_requests_went_through_the_crawl(runs: Runs) -> None:
    seen = list(runs.lab.requests)
    api = [r for r in seen if r.host == "apifetch-firma.de" and r.decoded_path == "/api/contact.json"]
    assert api, "the bundle's API call never reached the site"
    assert all(r.user_agent and "lab.test/about-the-crawler" in r.user_agent for r in api)
    forbidden = [r for r in seen if r.host == "appshell-firma.de" and r.decoded_path.startswith("/tracking/")]
    assert not forbidden, "a request robots.txt forbids was sent"


def test_a_hostile_page_is_bounded_in_requests_memory_and_time(runs: Runs) -> None:
    record = runs.auto.companies[HOSTILE]
    assert record["status"] == "done"
    [home] = [p for p in record["pages"] if urlsplit(p["url"]).path == "/"]
    assert "browser-error" in home["message"] or "render-timeout" in home["message"], home
    seen = list(runs.lab.requests)
    flood = [r for r in seen if r.host == HOSTILE and r.decoded_path == "/api/flood"]
    assert 0 < len(flood) <= MAX_RENDER_REQUESTS
    rendering = runs.auto.summary["rendering"]
    assert rendering["peak_mb"] is not None and rendering["peak_mb"] < MEMORY_LIMIT_MB


def test_the_run_summary_reports_rendering(runs: Runs) -> None:
    rendering = runs.auto.summary["rendering"]
    assert rendering["mode"] == "auto"
    assert rendering["pages"] >= len(SCRIPT_BUILT) + 1
    assert rendering["seconds"] > 0
    assert rendering["contact_points"] == sum(len(_truth(runs.lab, d)) for d in SCRIPT_BUILT)
    assert {"app-shell", "hash-route"} <= set(rendering["reasons"])
    assert "Pages rendered (built by scripts):" in runs.auto.measured.stdout
