"""The Availability page, the panel figures on the Timeline and their exports, from a two-wave store.

Hostile strings sit in every field these pages show: the company's name and
industry, the chat provider value, the published hours, and a personal address
in the hours text (redacted like every other page). The line-probe ledger is
the file the probe writes; the chat checks are recorded in the store by the exports.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from auditor.export import export
from auditor.models import Check, Company, CompanyResult, ContactPoint, PageRecord, Verdict
from auditor.store import Store, open_store
from auditor.store import waves as store_waves
from auditor.store.checks import CHECK_LEDGER, ChannelChecks
from auditor.store.schema import channel_checks
from reports import render_report
from tests.unit.test_report import _pages, _parse

XSS = "<script>alert(1)</script>"
SVG = "<svg onload=alert(1)>"
IMG = "<img src=x onerror=alert(1)>"
PERSONAL = "jan.kowalski@acme.example"
NUMBER = "+3612345678"
CHAT = f"chat{IMG}"
HOURS = f"Mo-Fr 09:00-17:00 {SVG} {PERSONAL}"


def _company() -> Company:
    return Company(2, f"Acme {XSS} Kft.", "https://acme.example/", "HU", f"retail {SVG}", "hu")


def _result(company: Company) -> CompanyResult:
    page = "https://acme.example/kapcsolat"
    return CompanyResult(company, pages=(PageRecord("https://acme.example/", 200),), contacts=(
        ContactPoint("phone", NUMBER, NUMBER, None, "tel-link", page, "call"),
        ContactPoint("chat", CHAT, CHAT, None, "widget-script", page, "chat"),
        ContactPoint("hours", HOURS, HOURS, None, "text", page, "hours", 0.9, {
            "always_open": False, "applies_to": None,
            "spans": [{"days": ["Mo", "Tu", "We", "Th", "Fr"], "open": "09:00", "close": "17:00"}]}),
    ))


def _verdicts(started: float, operator: str) -> list[Verdict]:
    widget = Check("widget-script", "active", "widget-loads", "loads", {}, started, 5.0)
    told = Check("operator-status", "active" if operator == "online" else "inactive", f"operator-{operator}", "",
                 {}, started + 0.5, 5.0)
    return [Verdict("phone", NUMBER, "active", "rings"),
            Verdict("chat", CHAT, "active", "widget-loads", "", (widget, told), (f"operator-{operator}",))]


def two_waves(root: Path) -> Store:
    """Wave 1 (Monday 10:00 Budapest): line rings, operator online. Wave 2 (Monday 20:00): line does not
    answer, nobody online. Each wave exported as the pipeline exports it."""
    store = open_store(root)
    engine = store.engine  # type: ignore[attr-defined]
    store.start_run({}, "0")
    company = _company()
    store.register_companies([company])
    mon_10 = 1796634000.0  # 2026-12-07 09:00 UTC, 10:00 in Budapest
    mon_20 = mon_10 + 10 * 3600
    store.save_company(_result(company))
    store.save_verdicts(company.key, _verdicts(mon_10, "online"))
    export(store, root)
    store.finish_run({})
    number = store_waves.begin_wave(engine, {})
    store.save_company(_result(company))
    store.save_verdicts(company.key, _verdicts(mon_20, "offline"))
    store_waves.finish_wave(engine, number)
    with engine.begin() as conn:  # the waves' start times as if they had run on those days
        from auditor.store.schema import waves

        conn.execute(waves.update().where(waves.c.number == 1).values(started=mon_10 - 60))
        conn.execute(waves.update().where(waves.c.number == 2).values(started=mon_20 - 60))
    (root / "line-probe-ledger.json").write_text(json.dumps({"version": 1, "calls": {NUMBER: {
        "any/2026-12-07": {"at": "2026-12-07T09:00:05+00:00", "local": "2026-12-07T10:00:05+01:00",
                           "status": "done", "verdict": "active", "reason": "rings"},
        "evening/2026-12-07": {"at": "2026-12-07T19:00:05+00:00", "local": "2026-12-07T20:00:05+01:00",
                               "status": "done", "verdict": "unknown", "reason": "no-answer"}}}}), encoding="utf-8")
    export(store, root)
    return store


@pytest.fixture()
def audit(tmp_path: Path) -> Path:
    store = two_waves(tmp_path)
    render_report(store, tmp_path)
    store.close()
    return tmp_path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _entries(audit: Path) -> list[dict[str, object]]:
    store = open_store(audit)
    try:
        return ChannelChecks(store.engine).entries()  # type: ignore[attr-defined]
    finally:
        store.close()


def test_the_store_keeps_each_waves_chat_check_and_operator_state(audit: Path) -> None:
    entries = _entries(audit)
    assert [(e["kind"], e["value"], e["operator"]) for e in entries] == [("chat", CHAT, "online"),
                                                                          ("chat", CHAT, "offline")]
    store = open_store(audit)
    try:
        export(store, audit)  # exporting again records nothing twice
    finally:
        store.close()
    assert len(_entries(audit)) == 2
    assert not (audit / CHECK_LEDGER).exists()  # nothing beside the store


def test_an_older_audits_check_ledger_is_imported_once_and_counts_as_before(audit: Path) -> None:
    from auditor.waves.availability_data import load_availability

    entries = _entries(audit)
    (audit / CHECK_LEDGER).write_text("".join(json.dumps(e) + "\n" for e in entries) + '{"torn', encoding="utf-8")
    store = open_store(audit)
    try:
        with store.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(channel_checks.delete())  # the store as an audit made before the table left it
        data = load_availability(store.engine, store, audit)  # type: ignore[attr-defined]
        again = load_availability(store.engine, store, audit)  # type: ignore[attr-defined]
    finally:
        store.close()
    assert _entries(audit) == entries
    assert not (audit / CHECK_LEDGER).exists() and (audit / (CHECK_LEDGER + ".imported")).exists()
    for loaded in (data, again):
        (chat,) = [g for g in loaded.grids if g.kind == "chat"]
        assert chat.checks == 2 and chat.operator == {"up": 1, "no-answer": 1}  # the operator states came back


def test_availability_csv_places_each_check_in_its_local_hour_beside_the_published_hours(audit: Path) -> None:
    rows = {(r["kind"], r["day"], r["hour"]): r for r in _rows(audit / "availability.csv")}
    assert set(rows) == {("phone", "Mo", "10"), ("phone", "Mo", "20"), ("chat", "Mo", "10"), ("chat", "Mo", "20")}
    morning, evening = rows[("phone", "Mo", "10")], rows[("phone", "Mo", "20")]
    assert (morning["published"], morning["up"], morning["no_answer"]) == ("open", "1", "0")
    assert (evening["published"], evening["up"], evening["no_answer"]) == ("closed", "0", "1")
    assert morning["zone"] == "Europe/Budapest" and morning["published_hours"] == HOURS
    assert morning["company"] == f"Acme {XSS} Kft." and morning["industry"] == f"retail {SVG}"  # data as audited
    chat = rows[("chat", "Mo", "20")]
    assert (chat["value"], chat["up"], chat["no_answer"]) == (CHAT, "0", "1")


def test_panel_csv_holds_each_waves_figures_and_the_companys_chat_share(audit: Path) -> None:
    figures = {(r["wave"], r["scope"], r["metric"]): r for r in _rows(audit / "panel.csv")}
    assert figures[("1", "panel", "chat-checks-no-operator")]["value"] == "0"
    assert figures[("2", "panel", "chat-checks-no-operator")]["value"] == "1"
    assert figures[("2", "industry", "lines-reachable-outside-hours")]["group"] == f"retail {SVG}"
    assert (figures[("2", "panel", "lines-reachable-outside-hours")]["numerator"],
            figures[("2", "panel", "lines-reachable-outside-hours")]["denominator"]) == ("0", "1")
    assert ("1", "panel", "lines-reachable-outside-hours") not in figures  # never called outside the hours
    company = figures[("", "company", "chat-checks-no-operator")]
    assert (company["numerator"], company["denominator"], company["value"]) == ("1", "2", "0.5")


def test_availability_and_panel_pages_escape_and_redact_every_harvested_string(audit: Path) -> None:
    pages = _pages(audit / "report" / "index.html")
    for name in ("availability.html", "timeline.html"):
        text = pages[name]
        for payload in (XSS, SVG, IMG, "<img", PERSONAL):
            assert payload not in text, (name, payload)
        tags = _parse(text)
        assert not tags.script_text, name
        for tag, attrs in tags.tags:
            assert tag not in ("img", "svg"), name
            assert not [k for k in attrs if k.startswith("on")], (name, tag)
        assert "default-src 'none'; style-src 'self'; script-src 'self'" in text
        assert "Acme &lt;script&gt;alert(1)&lt;/script&gt; Kft." in text
    grid = pages["availability.html"]
    assert "chat&lt;img src=x onerror=alert(1)&gt;" in grid
    assert "j***@acme.example" in grid  # the personal address in the published hours, masked
    assert 'href="availability.html"' in pages["index.html"]
    assert "retail &lt;svg onload=alert(1)&gt;" in pages["timeline.html"]  # an industry of the panel


def test_the_grid_shows_what_each_hour_found_and_the_published_hours(audit: Path) -> None:
    grid = _pages(audit / "report" / "index.html")["availability.html"]
    cells = [(attrs.get("class"), attrs.get("title")) for tag, attrs in _parse(grid).tags
             if tag == "td" and attrs.get("title")]
    assert ("cell c-up pub", "Mo 10:00-11:00: 1 rang; published hours: open") in cells
    assert ("cell c-no-answer", "Mo 20:00-21:00: 1 no answer; published hours: closed") in cells
    assert ("cell c-no-answer", "Mo 20:00-21:00: 1 no operator online; published hours: closed") in cells
    assert grid.count('<td class="pub"></td>') == 2 * (5 * 8 - 1)  # the other published hours, unchecked, per channel
    assert "no operator online in 50 %" in grid


def test_the_overview_shows_the_latest_waves_panel_figures(audit: Path) -> None:
    pages = _pages(audit / "report" / "index.html")
    index = pages["index.html"]
    assert "Panel figures, wave 2" in index
    tags = _parse(index)
    assert ("div", {"class": "figure pf-chat-checks-no-operator"}) in tags.tags
    block = index[index.index("pf-chat-checks-no-operator"):]
    assert block.index("100 %") < block.index("1 of 1") < block.index("</div>")
    assert 'href="timeline.html"' in index


def test_checks_made_before_wave_1_belong_to_an_earlier_audit_in_the_folder(audit: Path) -> None:
    from auditor.waves.availability_data import load_availability

    earlier = {"company": _company().key, "kind": "chat", "value": CHAT, "at": 1796634000.0 - 86400,
               "verdict": "active", "reason": "widget-loads", "operator": "offline"}
    store = open_store(audit)
    try:
        ChannelChecks(store.engine).add([earlier])  # type: ignore[attr-defined]
        data = load_availability(store.engine, store, audit)  # type: ignore[attr-defined]
    finally:
        store.close()
    (chat,) = [g for g in data.grids if g.kind == "chat"]
    assert chat.checks == 2 and chat.operator == {"up": 1, "no-answer": 1}


def test_without_recorded_checks_a_wave_counts_with_its_stored_verdicts_at_its_start(audit: Path) -> None:
    from auditor.waves.availability_data import load_availability

    store = open_store(audit)
    try:
        with store.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(channel_checks.delete())
        data = load_availability(store.engine, store, audit)  # type: ignore[attr-defined]
    finally:
        store.close()
    (chat,) = [g for g in data.grids if g.kind == "chat"]
    # both waves' widget checks, at each wave's start (09:59 and 19:59 in Budapest); no operator state
    assert sorted(chat.cells) == [(0, 9), (0, 19)] and chat.totals["up"] == 2
    assert chat.offline_share is None
    assert not [f for f in data.figures if f.metric == "chat-checks-no-operator"]


def test_a_large_panel_is_split_into_availability_pages_in_input_order(tmp_path: Path) -> None:
    """120 companies with a checked chat: pages of 50, 50 and 20, each company once, each page linking the others."""
    from reports.render import AVAILABILITY_PER_PAGE

    store = open_store(tmp_path)
    engine = store.engine  # type: ignore[attr-defined]
    store.start_run({}, "0")
    names = [f"Firma {i:03d} {XSS}" for i in range(120)]
    firms = [Company(i + 1, name, f"https://firma{i}.example/", "HU", "retail", "hu") for i, name in enumerate(names)]
    store.register_companies(firms)
    mon_10 = 1796634000.0
    for wave_start in (mon_10, mon_10 + 3600):
        number = store_waves.begin_wave(engine, {}) if wave_start > mon_10 else None
        for firm in firms:
            store.save_company(_result(firm))
            store.save_verdicts(firm.key, _verdicts(wave_start, "online"))
        if number is None:
            export(store, tmp_path)
            store.finish_run({})
        else:
            store_waves.finish_wave(engine, number)
    with engine.begin() as conn:  # the waves' start times as if they had run then
        from auditor.store.schema import waves

        conn.execute(waves.update().where(waves.c.number == 1).values(started=mon_10 - 60))
        conn.execute(waves.update().where(waves.c.number == 2).values(started=mon_10 + 3600 - 60))
    export(store, tmp_path)
    render_report(store, tmp_path)
    store.close()
    report = tmp_path / "report"
    assert AVAILABILITY_PER_PAGE == 50
    files = ["availability.html", "availability-2.html", "availability-3.html"]
    assert sorted(p.name for p in report.glob("availability*.html")) == sorted(files)
    shown: list[int] = []
    for path in files:
        page = (report / path).read_text(encoding="utf-8")
        assert XSS not in page
        shown += [i for i in range(120) if f"Firma {i:03d} &lt;script&gt;" in page]
        start = page.index('<nav class="pager"')
        pager = page[start:page.index("</nav>", start)]
        for other in files:  # every page links the others, and marks itself
            assert (f'href="{other}"' in pager) == (other != path), (path, other)
        assert pager.count('aria-current="page"') == 1
        assert page.count('<nav class="pager"') == 2  # above and below the grids
    assert shown == list(range(120)), "each company once, in input order across the pages"
    first = (report / files[0]).read_text(encoding="utf-8")
    assert ">1–50<" in first and ">51–100<" in first and ">101–120<" in first
