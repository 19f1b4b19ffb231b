"""The HTML report: escaped, self-contained, redacted, stable (golden files), diffable.

``python -m pytest tests/unit/test_report.py --update-goldens`` (or
``AUDITOR_UPDATE_GOLDENS=1``) rewrites the golden files after an intended change;
review the diff before committing it. Without it a missing golden file fails.
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from auditor.models import (
    Check,
    Company,
    CompanyResult,
    ContactPoint,
    Failure,
    InputError,
    PageRecord,
    Verdict,
)
from auditor.store import open_store
from auditor.store.base import Store
from reports import render_report
from reports.render import COMPANY_COLUMNS

GOLDEN = Path(__file__).parent / "golden"
XSS = "<script>alert(1)</script>"
ATTR = '" onmouseover="x'
JS_URL = "javascript:alert(1)"
SVG = "<svg onload=alert(1)>"
IMG = "<img src=x onerror=alert(1)>"
PERSONAL = "jan.kowalski@acme.example"
ROLE = "info@acme.example"
ACME = "https://acme.example/"
CONTACT = "https://acme.example/kapcsolat"
SECRETS = {"smtp_password": "hunter2", "api_token": "tok-123", "nameserver": "127.0.0.1:53",
           "relay": "smtp://relayuser:s3cret@relay.example", "nested": {"client_secret": "zzz", "ok": 1}}


def _cp(kind: str, value: str, *, label: str | None = None, method: str = "text", page: str = CONTACT,
        context: str = "", raw: str | None = None, details: dict | None = None) -> ContactPoint:
    return ContactPoint(kind, value, raw if raw is not None else value, label, method, page, context, 0.9,
                        details or {})


def _check(name: str, state: str, reason: str, evidence: dict, message: str = "") -> Check:
    return Check(name, state, reason, message, evidence, 0.0, 12.5)


def acme(extra: tuple[ContactPoint, ...] = ()) -> CompanyResult:
    company = Company(2, f"Acme {XSS} Kft.", ACME, "HU", f"retail {SVG}", "hu")
    return CompanyResult(
        company,
        pages=(
            PageRecord(ACME, 200, None, "", 0, 10.0, 120.0, 2048),
            PageRecord(CONTACT, 200, None, "", 1, 1.1, 80.0, 900),
            PageRecord(f'{CONTACT}?q="><script>alert(1)</script>', 404, "http-4xx", "HTTP 404", 2, 0.7, 10.0, 10),
            PageRecord(JS_URL, None, "invalid-url", XSS, 1, 0.0),
        ),
        contacts=(
            _cp("phone", "+3612345678", label=ATTR, context=f"Call {XSS} us", method="tel-link",
                raw="tel:+3612345678"),
            _cp("email", ROLE, method="mailto", details={"address_class": "role"}, context=f"write {ROLE}"),
            _cp("email", PERSONAL, method="mailto", context=f"Ask Jan: {PERSONAL}",
                details={"address_class": "personal"}),
            _cp("messaging", JS_URL, label="whatsapp", method="deep-link"),
            _cp("form", "https://acme.example/send", label="contact-form", method="form",
                context=f"Name {IMG} Message"),
            _cp("chat", "tidio", method="widget-script", details={"provider": SVG}),
            _cp("hours", "24/7", details={"always_open": True, "spans": []}),
            *extra,
        ),
        failures=(Failure("page-budget-reached", IMG, JS_URL),),
        external_links=(JS_URL, "https://facebook.example/acme", f"https://x.example/{ATTR}"),
    )


def acme_verdicts() -> list[Verdict]:
    smtp = _check("smtp-rcpt", "active", "mailbox-exists", {
        "mx": "mx.acme.example", "ip": "192.0.2.1", "code": 250,
        "transcript": [
            {"send": None, "code": 220, "text": f"mx.acme.example ESMTP {XSS}"},
            {"send": f"RCPT TO:<{ROLE}>", "code": 250, "text": "OK"},
            {"send": f"RCPT TO:<{PERSONAL}>", "code": 250, "text": f"OK {PERSONAL}"},
        ],
    })
    dns = _check("email-dns", "active", "mx-found", {
        "answers": [{"name": "acme.example", "type": "MX", "status": "ok",
                     "records": [f"10 mx.acme.example. {SVG}"], "ttl": 300, "elapsed_ms": 3.0}],
    })
    http = _check("form-action", "inactive", "http-404", {
        "chain": [{"url": "https://acme.example/send", "status": 301, "location": JS_URL},
                  {"url": JS_URL, "status": 404, "location": None}],
    })
    return [
        Verdict("phone", "+3612345678", "unknown", "not-dialled", f"valid {XSS}",
                (_check("phone-plan", "unknown", "not-dialled", {"type": "fixed-line"}),), ("toll-free",)),
        Verdict("email", ROLE, "active", "mailbox-exists", "accepted", (dns, smtp)),
        Verdict("email", PERSONAL, "unknown", "accept-all", f"{PERSONAL} accept-all", (dns, smtp), ("accept-all",)),
        Verdict("messaging", JS_URL, "unknown", "unverifiable", ""),
        Verdict("form", "https://acme.example/send", "inactive", "http-404", "HTTP 404", (http,)),
        Verdict("chat", "tidio", "inactive", "dead-provider", "shut down", (), ("dead-provider",)),
    ]


def beta() -> CompanyResult:
    company = Company(3, "Beta GmbH", "https://beta.example/", "DE", "software", "de")
    return CompanyResult(
        company,
        pages=(PageRecord("https://beta.example/", 200, None, "", 0, 10.0, 50.0, 100),
               PageRecord("https://beta.example/a/kontakt", 200, None, "", 2, 1.1, 50.0, 100)),
        contacts=(
            _cp("phone", "+4990012345", page="https://beta.example/a/kontakt"),
            _cp("email", "support@beta.example", method="json-ld", page="https://beta.example/a/kontakt"),
        ),
    )


def gone() -> CompanyResult:
    company = Company(4, "Gone S.L.", "https://gone.example/", "ES", "software", "es")
    return CompanyResult(company, pages=(PageRecord("https://gone.example/", None, "dns-failure", "NXDOMAIN", 0, 10.0),),
                         failures=(Failure("dns-failure", "gone.example does not exist", "https://gone.example/"),),
                         status="failed")


def build_store(root: Path) -> Store:
    """A small audit with XSS payloads in every harvested string the report shows."""
    store = open_store(root)
    store.start_run(SECRETS, "0.1.0")
    results = [acme(), beta(), gone()]
    store.register_companies(r.company for r in results)
    store.save_input_errors([InputError(5, "invalid-website", f"not a website: {XSS}", f"x,{IMG}")])
    for r in results:
        store.save_company(r)
    store.save_verdicts(results[0].company.key, acme_verdicts())
    store.save_verdicts(results[1].company.key, [
        Verdict("phone", "+4990012345", "unknown", "premium-rate", "premium", (), ("cost-to-caller",)),
        Verdict("email", "support@beta.example", "inactive", "null-mx", "null MX"),
    ])
    store.finish_run({})
    return store


@pytest.fixture()
def report(tmp_path: Path) -> Path:
    store = build_store(tmp_path)
    index = render_report(store, tmp_path)
    store.close()
    return index


def _pages(index: Path) -> dict[str, str]:
    root = index.parent
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


class _Tags(HTMLParser):
    """Every start tag with its attributes, and every script's content."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


# --- structure --------------------------------------------------------------------


def test_report_pages_exist(report: Path) -> None:
    names = set(_pages(report))
    assert {"index.html", "methodology.html", "static/report.css", "static/report.js",
            "companies/2-acme-example.html", "companies/3-beta-example.html",
            "companies/4-gone-example.html"} <= names
    assert "changes.html" not in names
    assert not [p for p in report.parent.parent.iterdir() if p.name.startswith(".report")]


def test_rendering_again_replaces_the_report_atomically(tmp_path: Path) -> None:
    store = build_store(tmp_path)
    first = render_report(store, tmp_path)
    (first.parent / "stale.html").write_text("old", encoding="utf-8")
    second = render_report(store, tmp_path)
    store.close()
    assert first == second and not (second.parent / "stale.html").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_run_killed_in_mid_swap_is_tidied_by_the_next(tmp_path: Path) -> None:
    """Killed between moving the old report aside and moving the new one in: the next render puts
    the old one back first (so a reader is never left without a report longer than it takes),
    and removes temp dirs old enough that no running writer can own them."""
    from reports.render import STALE_SECONDS, _clean_leftovers

    store = build_store(tmp_path)
    index = render_report(store, tmp_path)
    store.close()
    aside = tmp_path / ".report-old-killed"
    aside.mkdir()
    os.replace(index.parent, aside / "report")
    half_written = tmp_path / ".report-killed"
    (half_written / "companies").mkdir(parents=True)
    fresh = tmp_path / ".report-still-writing"
    fresh.mkdir()
    old = time.time() - STALE_SECONDS - 60
    for path in (aside, half_written):
        os.utime(path, (old, old))

    _clean_leftovers(tmp_path)

    assert (tmp_path / "report" / "index.html").read_text(encoding="utf-8") != ""
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report")) == [fresh.name]


# --- escaping and isolation --------------------------------------------------------


def test_harvested_strings_are_escaped_everywhere(report: Path) -> None:
    for name, text in _pages(report).items():
        if not name.endswith(".html"):
            continue
        for payload in (XSS, SVG, IMG, ATTR, "<img"):
            assert payload not in text, (name, payload)
        tags = _parse(text)
        assert not tags.script_text, name  # no inline script at all
        for tag, attrs in tags.tags:
            assert tag != "img", name
            for key, value in attrs.items():
                assert not key.startswith("on"), (name, tag, key)
                assert not value.strip().lower().startswith("javascript:"), (name, tag, key, value)
            if tag == "script":
                assert attrs.get("src", "").endswith("static/report.js"), name
            if tag == "svg":
                assert attrs.get("class") in ("chart", "meter"), name
    pages = _pages(report)
    company = pages["companies/2-acme-example.html"]
    assert "Acme &lt;script&gt;alert(1)&lt;/script&gt; Kft." in company
    assert "&#34; onmouseover=&#34;x" in company  # the label, shown as text
    assert "retail &lt;svg onload=alert(1)&gt;" in pages["index.html"]  # industry in table, filter, chart
    assert "javascript:alert(1)" in company  # shown as text, never as a link


def test_no_request_to_another_host(report: Path) -> None:
    rel_required = {"noopener", "noreferrer", "nofollow"}
    harvested_links = 0
    for name, text in _pages(report).items():
        if name.endswith((".css", ".js")):
            assert not re.search(r"(https?:)?//[a-z0-9]", text, re.I), name
            assert "@import" not in text and "url(" not in text, name
            continue
        for tag, attrs in _parse(text).tags:
            for key, value in attrs.items():
                v = value.strip().lower()
                if not re.match(r"(https?:)?//", v):
                    if key in ("src", "href", "action", "data", "poster", "srcset"):
                        assert ":" not in v.split("/")[0] or v.startswith("#"), (name, tag, key, value)
                    continue
                assert (tag, key) == ("a", "href"), (name, tag, key, value)
                assert rel_required <= set(attrs.get("rel", "").split()), (name, value)
                harvested_links += 1
        assert "<link" not in text or 'rel="stylesheet" href="' in text
    assert harvested_links > 0


def test_content_security_policy_on_every_page(report: Path) -> None:
    for name, text in _pages(report).items():
        if name.endswith(".html"):
            assert "default-src 'none'; style-src 'self'; script-src 'self'" in text, name


# --- privacy -------------------------------------------------------------------------


def test_personal_addresses_are_masked_by_default(report: Path) -> None:
    pages = _pages(report)
    for name, text in pages.items():
        assert PERSONAL not in text.lower(), name
    company = pages["companies/2-acme-example.html"]
    assert "j***@acme.example" in company
    assert ROLE in company and "support@beta.example" in pages["companies/3-beta-example.html"]


def test_redact_false_shows_personal_addresses(tmp_path: Path) -> None:
    store = build_store(tmp_path)
    index = render_report(store, tmp_path, redact=False)
    store.close()
    company = (index.parent / "companies/2-acme-example.html").read_text(encoding="utf-8")
    assert PERSONAL in company and "j***@" not in company


def test_settings_never_show_secrets(report: Path) -> None:
    text = _pages(report)["methodology.html"]
    for secret in ("hunter2", "tok-123", "s3cret", "zzz", "smtp_password", "api_token", "client_secret"):
        assert secret not in text
    assert "127.0.0.1:53" in text and "relayuser:***@relay.example" in text


# --- content ---------------------------------------------------------------------------


def test_index_shows_ranking_summary_and_charts(report: Path) -> None:
    text = _pages(report)["index.html"]
    assert text.count('<tr data-industry=') == 3
    assert 'aria-sort="ascending"' in text
    for caption in ("Score distribution", "Verdicts by kind", "Channel coverage per industry",
                    "Email reply times against the industry benchmark"):
        assert caption in text
    assert text.count("not measured") >= 6  # benchmark table shown even without replies
    assert "dns-failure" in text and "invalid-website" in text


def test_company_page_shows_evidence_and_score_lines(report: Path) -> None:
    text = _pages(report)["companies/2-acme-example.html"]
    assert "SMTP transcript" in text and "DNS answers" in text and "HTTP chain" in text
    assert "RCPT TO:&lt;info@acme.example&gt;" in text
    assert "RCPT TO:&lt;j***@acme.example&gt;" in text
    assert "dead-provider" in text and "toll-free" in text
    assert 'rel="noopener noreferrer nofollow"' in text
    assert 'href="https://acme.example/kapcsolat"' in text
    assert "?q=&#34;&gt;&lt;script&gt;" in text  # the URL with quotes is text, not a link


def test_methodology_is_generated_from_the_weights(tmp_path: Path) -> None:
    weights = tmp_path / "w.toml"
    weights.write_text("[availability.offered]\nphone = 31\n[availability.penalties]\ninactive = -13\n",
                       encoding="utf-8")
    store = build_store(tmp_path)
    index = render_report(store, tmp_path, weights_path=weights)
    store.close()
    text = (index.parent / "methodology.html").read_text(encoding="utf-8")
    assert "+31" in text and "-13" in text and str(weights) in text
    assert "SuperOffice Customer Service Benchmark 2018" in text and "Hornstein" in text
    scores = json.loads((tmp_path / "scores.json").read_text(encoding="utf-8"))
    acme_lines = scores["companies"][0]["lines"]
    assert {"rule": "offered", "kind": "phone", "points": 31.0}.items() <= next(
        line for line in acme_lines if line["rule"] == "offered" and line["kind"] == "phone").items()


def test_exports_beside_the_report(report: Path) -> None:
    root = report.parent.parent
    with (root / "companies.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == COMPANY_COLUMNS
    assert [(r[0], r[1], r[7]) for r in rows[1:]] == [
        ("1", f"Acme {XSS} Kft.", "48.0"), ("2", "Beta GmbH", "11.0"), ("", "Gone S.L.", ""),
    ]  # not scored: no rank, no total, last
    scores = json.loads((root / "scores.json").read_text(encoding="utf-8"))
    assert len(scores["companies"]) == 3 and scores["companies"][0]["rank"] == 1
    assert (root / "results.json").exists() and (root / "contacts.csv").exists()


def test_companies_csv_is_in_rank_order_not_name_or_input_order(tmp_path: Path) -> None:
    """Names and rows are chosen so that rank, name and input order all differ."""
    results = [replace(beta(), company=replace(beta().company, row=1, name="Mid GmbH")),
               replace(acme(), company=replace(acme().company, row=2, name="Zed Kft.")),
               replace(gone(), company=replace(gone().company, row=3, name="Aardvark S.L."))]
    store = open_store(tmp_path)
    store.start_run({}, "0.1.0")
    store.register_companies(r.company for r in results)
    for r in results:
        store.save_company(r)
    store.save_verdicts(results[0].company.key, [
        Verdict("phone", "+4990012345", "unknown", "premium-rate", "premium", (), ("cost-to-caller",))])
    store.save_verdicts(results[1].company.key, acme_verdicts())
    store.finish_run({})
    render_report(store, tmp_path)
    store.close()
    with (tmp_path / "companies.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[1:]
    assert [(r[0], r[1]) for r in rows] == [("1", "Zed Kft."), ("2", "Mid GmbH"), ("", "Aardvark S.L.")]
    totals = [float(r[7]) for r in rows if r[7]]
    assert totals == sorted(totals, reverse=True) and len(totals) == 2


def test_an_input_companies_csv_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "companies.csv").write_text("name,website\nAcme,https://acme.example/\n", encoding="utf-8")
    store = build_store(tmp_path)
    index = render_report(store, tmp_path)
    store.close()
    assert (tmp_path / "companies.csv").read_text(encoding="utf-8").startswith("name,website")
    assert (tmp_path / "companies-scored.csv").read_text(encoding="utf-8").startswith("rank,name")
    assert 'href="../companies-scored.csv"' in index.read_text(encoding="utf-8")


# --- changes since a previous audit ----------------------------------------------------------


def test_diff_page_lists_added_removed_and_changed(tmp_path: Path) -> None:
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old = open_store(old_dir)
    old.start_run({}, "0.1.0")
    before = CompanyResult(
        Company(7, "Acme old name", "https://www.acme.example:8443/", "HU", "retail"),
        contacts=(_cp("phone", "+3612345678"), _cp("email", ROLE), _cp("email", "old@acme.example"),
                  _cp("form", "https://acme.example:8443/send")),
    )
    former = CompanyResult(Company(8, "Former Ltd", "https://former.example/", "GB"))
    old.register_companies([before.company, former.company])
    old.save_company(before)
    old.save_company(former)
    old.save_verdicts(before.company.key, [
        Verdict("phone", "+3612345678", "unknown", "not-dialled"),
        Verdict("email", ROLE, "unknown", "greylisted"),
        Verdict("email", "old@acme.example", "active", "mailbox-exists"),
        Verdict("form", "https://acme.example:8443/send", "inactive", "http-404"),
    ])
    old.close()
    store = build_store(new_dir)
    index = render_report(store, new_dir, compare=old_dir)
    store.close()
    text = (index.parent / "changes.html").read_text(encoding="utf-8")
    added = re.findall(r'<tr class="chg-added">.*?</tr>', text)
    removed = re.findall(r'<tr class="chg-removed">.*?</tr>', text)
    changed = re.findall(r'<tr class="chg-changed">.*?</tr>', text)
    assert any("j***@acme.example" in row for row in added)  # redacted here too
    assert not any("+3612345678" in row for row in added + removed + changed)
    assert [("old@acme.example" in row) for row in removed] == [True]
    assert any(ROLE in row and "greylisted" in row and "mailbox-exists" in row for row in changed)
    assert not any("/send" in row for row in added + removed)  # same form, port ignored
    assert "Former Ltd" in text and "Beta GmbH" in text
    assert 'href="changes.html"' in index.read_text(encoding="utf-8")
    assert PERSONAL not in text
    assert not list(old_dir.glob("*-wal"))  # the old audit was only read


# --- golden files ------------------------------------------------------------------------


def _normalize(html: str) -> str:
    html = re.sub(r'<span class="run-date">[^<]*</span>', '<span class="run-date">DATE</span>', html)
    return re.sub(r'<span class="run-version">[^<]*</span>', '<span class="run-version">VERSION</span>', html)


@pytest.mark.parametrize("page", ["index.html", "companies/2-acme-example.html"])
def test_golden(report: Path, page: str, update_goldens: bool) -> None:
    got = _normalize((report.parent / page).read_text(encoding="utf-8"))
    golden = GOLDEN / page.replace("/", "__")
    if update_goldens:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    if not golden.exists():
        pytest.fail(f"golden file {golden} is missing; write it with --update-goldens and review it")
    assert got == golden.read_text(encoding="utf-8"), (
        f"{page} differs from {golden}; if the change is intended, rerun with --update-goldens"
    )


def test_measured_replies_are_charted_against_the_benchmark(tmp_path: Path) -> None:
    store = build_store(tmp_path)
    key = acme().company.key
    index = render_report(store, tmp_path, responsiveness={
        key: {"email": [{"outcome": "human-reply", "reply_hours": 2.0}]},
    })
    store.close()
    text = index.read_text(encoding="utf-8")
    assert 'aria-labelledby="replies-t replies-d"' in text and 'class="dot ok"' in text
    assert re.search(r"<th scope=\"row\">Retail</th><td>1-3 h</td><td class=\"num\">1</td>"
                     r"<td class=\"num\">1</td><td>2.0 h</td><td>100 %</td>", text)
    company = (index.parent / "companies/2-acme-example.html").read_text(encoding="utf-8")
    assert "First human email reply after 2 h (benchmark Retail: 1-3 h)" in company


def test_diff_reads_a_previous_results_json(tmp_path: Path) -> None:
    from auditor.export import export
    from reports.diff import diff_audits, load_audit

    old_store = build_store(tmp_path / "old")
    export(old_store, tmp_path / "old")
    old_store.close()
    for name in ("audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm"):
        (tmp_path / "old" / name).unlink(missing_ok=True)
    old = load_audit(tmp_path / "old")
    assert [r.company.name for r, _ in old] == [f"Acme {XSS} Kft.", "Beta GmbH", "Gone S.L."]
    assert old[0][1][("email", ROLE)].verdict == "active"
    diff = diff_audits(old, old)
    assert diff.counts == {"companies_added": 0, "companies_removed": 0, "points_added": 0,
                           "points_removed": 0, "verdicts_changed": 0}
