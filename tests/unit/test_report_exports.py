"""The exports beside the report, as written: companies.csv cell by cell, scores.json key by key.

write_exports is called directly on a scored audit, so a wrong cell, key, format or
file decision fails here even where the rendered pages would look the same.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from auditor.models import Company, CompanyResult, ContactPoint, Failure, PageRecord, Verdict
from auditor.store import open_store
from auditor.store.base import Store
from reports.render import (
    ALT_COMPANIES_CSV,
    COMPANIES_CSV,
    COMPANY_COLUMNS,
    SCORES_JSON,
    collect,
    write_exports,
)
from reports.views import Audit

NOWHERE = Company(1, "Árvíztűrő Kft.", "https://arviz.example/", None, None, "hu")
BETA = Company(2, "Beta GmbH", "https://beta.example/", "DE", "software", "de")
GONE = Company(3, "Gone S.L.", "https://gone.example/", "ES", "software", "es")
PROBES = {"phone": [{"outcome": "answered", "answer_seconds": 20}]}


def _phone(site: str, number: str) -> ContactPoint:
    return ContactPoint("phone", number, number, None, "tel-link", site, "", 0.9, {})


def _store(root: Path) -> Store:
    store = open_store(root)
    store.start_run({}, "0.1.0")
    results = [
        CompanyResult(NOWHERE, pages=(PageRecord(NOWHERE.website, 200, None, "", 0, 1.0, 50.0, 100),),
                      contacts=(_phone(NOWHERE.website, "+3612345678"),)),
        CompanyResult(BETA, pages=(PageRecord(BETA.website, 200, None, "", 0, 1.0, 50.0, 100),),
                      contacts=(_phone(BETA.website, "+4990012345"),)),
        CompanyResult(GONE, pages=(PageRecord(GONE.website, None, "dns-failure", "NXDOMAIN", 0, 1.0),),
                      failures=(Failure("dns-failure", "gone", GONE.website),), status="failed"),
    ]
    store.register_companies(r.company for r in results)
    for r in results:
        store.save_company(r)
    store.save_verdicts(BETA.key, [Verdict("phone", "+4990012345", "unknown", "premium-rate", "premium")])
    store.finish_run({})
    return store


@pytest.fixture
def audited(tmp_path: Path) -> Iterator[tuple[Store, Audit]]:
    store = _store(tmp_path / "db")
    audit = collect(store, responsiveness={NOWHERE.key: PROBES})
    yield store, audit
    store.close()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def test_companies_csv_cell_by_cell(audited: tuple[Store, Audit], tmp_path: Path) -> None:
    store, audit = audited
    write_exports(store, tmp_path, audit)
    with (tmp_path / COMPANIES_CSV).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    by_name = {rk.card.company.name: rk.card for rk in audit.ranked}
    nowhere, beta = by_name[NOWHERE.name], by_name[BETA.name]
    # the probe gives the first company a responsiveness; the second has an unknown verdict
    assert nowhere.responsiveness is not None and nowhere.unknown_share is None
    assert beta.unknown_share == 1.0
    assert rows[0] == list(COMPANY_COLUMNS)
    assert rows[1:] == [
        ["1", NOWHERE.name, NOWHERE.website, "", "", _num(nowhere.availability),
         _num(nowhere.responsiveness), _num(nowhere.total), ""],
        ["2", BETA.name, BETA.website, "DE", "software", _num(beta.availability), "",
         _num(beta.total), "1.000"],
        ["", GONE.name, GONE.website, "ES", "software", "", "", "", ""],
    ]


def test_scores_json_document(audited: tuple[Store, Audit], tmp_path: Path) -> None:
    store, audit = audited
    write_exports(store, tmp_path, audit)
    text = (tmp_path / SCORES_JSON).read_text(encoding="utf-8")
    run = store.run_info() or {}
    assert json.loads(text) == {
        "tool": {"name": "contact-auditor", "version": audit.version},
        "run": {"id": run["id"], "started": run["started"], "finished": run["finished"]},
        "weights": "packaged",
        "companies": [
            {**rk.card.to_dict(), "rank": rk.rank, "industry_rank": rk.industry_rank,
             "country_rank": rk.country_rank}
            for rk in audit.ranked
        ],
    }
    assert [c["country_rank"] for c in json.loads(text)["companies"]][1] == 1  # Beta: first in DE
    # readable as written: names unescaped, one space per level
    assert f'"name": "{NOWHERE.name}"' in text
    assert text.startswith('{\n "tool": {\n  "name": "contact-auditor",')


def test_scores_json_writes_values_json_cannot_hold_as_text(audited: tuple[Store, Audit],
                                                             tmp_path: Path) -> None:
    store, audit = audited
    started = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    write_exports(store, tmp_path, replace(audit, run={"id": 7, "started": started}))
    doc = json.loads((tmp_path / SCORES_JSON).read_text(encoding="utf-8"))
    assert doc["run"] == {"id": 7, "started": str(started), "finished": None}


@pytest.mark.parametrize("present", [(), ("results.json",), ("contacts.csv",)])
def test_results_and_contacts_written_when_either_is_missing(
    audited: tuple[Store, Audit], tmp_path: Path, present: tuple[str, ...]
) -> None:
    store, audit = audited
    for name in present:
        (tmp_path / name).write_text("old", encoding="utf-8")
    write_exports(store, tmp_path, audit)
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in results["companies"]] == [
        NOWHERE.name, BETA.name, GONE.name]
    assert (tmp_path / "contacts.csv").read_text(encoding="utf-8").startswith("company,")


def test_results_and_contacts_left_alone_when_both_exist(audited: tuple[Store, Audit],
                                                         tmp_path: Path) -> None:
    store, audit = audited
    for name in ("results.json", "contacts.csv"):
        (tmp_path / name).write_text("kept", encoding="utf-8")
    write_exports(store, tmp_path, audit)
    assert [(tmp_path / n).read_text(encoding="utf-8") for n in ("results.json", "contacts.csv")] == [
        "kept", "kept"]


def test_an_input_list_gets_a_warning_naming_both_files(
    audited: tuple[Store, Audit], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, audit = audited
    with caplog.at_level(logging.WARNING, logger="reports.render"):
        write_exports(store, tmp_path, audit)
    assert [r.getMessage() for r in caplog.records] == []
    with caplog.at_level(logging.WARNING, logger="reports.render"):
        write_exports(store, tmp_path, audit, ALT_COMPANIES_CSV)
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / COMPANIES_CSV} is an input list, not a report export; "
        f"the ranking goes to {tmp_path / ALT_COMPANIES_CSV}"
    ]
    assert (tmp_path / ALT_COMPANIES_CSV).read_text(encoding="utf-8").startswith("rank,name")
