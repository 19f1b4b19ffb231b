"""The report shows whether a chat's operator was there: per chat, and the overview's share."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from auditor.models import Check, Company, CompanyResult, PageRecord, Verdict
from auditor.store import open_store
from reports.render import render_report
from tests.unit.test_report import SECRETS, _check, _cp, acme, acme_verdicts

CHATWOOT = _cp("chat", "chatwoot", method="widget-script", page="https://c.example/")


def _company(key: int, name: str, site: str) -> CompanyResult:
    company = Company(key, name, site, "CZ", "travel", "cs")
    return CompanyResult(company, pages=(PageRecord(site, 200, None, "", 0, 1.0, 50.0, 100),),
                         contacts=(replace(CHATWOOT, page_url=site),))


def _chat(state: str) -> Verdict:
    script = _check("widget-script", "active", "widget-loads", {"url": "https://app.chatwoot.com/packs/js/sdk.js"})
    op: Check = _check("operator-status", {"online": "active", "offline": "inactive"}.get(state, "unknown"),
                       f"operator-{state}", {"operator": state}, f"payload[].availability_status: {state}")
    flags = (f"operator-{state}",) if state != "unknown" else ()
    return Verdict("chat", "chatwoot", "active", "widget-loads", "loads", (script, op), flags)


def _render(tmp_path: Path, states: list[str]) -> dict[str, str]:
    store = open_store(tmp_path)
    store.start_run(SECRETS, "0.1.0")
    results = [acme(), *(_company(10 + i, f"Chat {i}", f"https://c{i}.example/") for i in range(len(states)))]
    store.register_companies(r.company for r in results)
    for r in results:
        store.save_company(r)
    store.save_verdicts(results[0].company.key, acme_verdicts())
    for r, state in zip(results[1:], states, strict=True):
        store.save_verdicts(r.company.key, [_chat(state)])
    store.finish_run({})
    index = render_report(store, tmp_path / "out")
    store.close()
    return {p.name: p.read_text("utf-8") for p in index.parent.rglob("*.html")}


def test_company_page_and_overview_show_the_operator_state(tmp_path: Path) -> None:
    pages = _render(tmp_path, ["online", "offline", "offline", "unknown"])
    index = pages["index.html"]
    assert "Chat without an operator" in index
    assert "67 %" in index and "2 of 3 chat checks found nobody online; 1 could not tell" in index
    company = {name: html for name, html in pages.items() if "c1-example" in name}
    (offline_page,) = company.values()
    assert 'class="operator operator-offline"' in offline_page and "nobody online when checked" in offline_page
    (online_page,) = [html for name, html in pages.items() if "c0-example" in name]
    assert "online when checked" in online_page and "operator-online" in online_page


def test_no_figure_without_any_operator_signal(tmp_path: Path) -> None:
    pages = _render(tmp_path, [])
    assert "Chat without an operator" not in pages["index.html"]
    assert 'class="operator' not in "".join(pages.values())
