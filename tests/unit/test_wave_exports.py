"""history.csv and transitions.csv read wave by wave, on SQLite and PostgreSQL: the same rows as reading every wave at once."""

from __future__ import annotations

import csv
from pathlib import Path

from auditor.export import atomic_write
from auditor.models import Company, CompanyResult, ContactPoint, Failure, Verdict
from auditor.store import Store, open_store
from auditor.store import waves as w
from auditor.waves.exports import audit_transitions, write_history
from auditor.waves.transitions import transitions

ACME = Company(2, "Acme <&>", "https://acme.test/", "HU")
BETA = Company(3, "Beta", "https://beta.test/", "HU")


def _point(value: str) -> ContactPoint:
    kind = "email" if "@" in value else "phone"
    return ContactPoint(kind, value, value, None, "text", "https://acme.test/k", "c")


def _wave(store: Store, acme: list[str], beta: list[str] | None, verdict: str = "active") -> None:
    """One wave: Acme with these points, Beta with these (None: its site is down)."""
    engine = store.engine  # type: ignore[attr-defined]
    number = w.begin_wave(engine, {})
    for company, values in ((ACME, acme), (BETA, beta)):
        if values is None:
            store.save_company(CompanyResult(company, failures=(Failure("dns-failure", "gone"),), status="failed"))
            continue
        store.save_company(CompanyResult(company, contacts=tuple(_point(v) for v in values)))
        store.save_verdicts(company.key, [Verdict(_point(v).kind, v, verdict, "why") for v in values])
    w.finish_wave(engine, number)


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_the_csvs_read_a_wave_at_a_time_hold_every_wave_and_change(store_target: str | Path, tmp_path: Path) -> None:
    store = open_store(store_target)
    engine = store.engine  # type: ignore[attr-defined]
    try:
        store.start_run({}, "0")
        store.register_companies([ACME, BETA])
        store.finish_run({})
        _wave(store, ["+3611111111"], ["+3622222222"])
        _wave(store, ["+3611111111", "a@acme.test"], None)  # Beta down
        _wave(store, ["a@acme.test"], None, verdict="unknown")
        _wave(store, ["a@acme.test"], ["+3622222222", "+3633333333"], verdict="unknown")  # Beta back
        out = tmp_path / "csvs"
        assert write_history(engine, out, atomic_write)
        changes = [(r[0], r[1], r[2], r[5], r[4]) for r in _rows(out / "transitions.csv")[1:]]
        expected = [("1", "2", "Acme <&>", "appeared", "+3611111111"),  # wave 1: the audit, nothing harvested
                    ("1", "2", "Beta", "appeared", "+3622222222"),
                    ("2", "3", "Acme <&>", "appeared", "a@acme.test"), ("2", "3", "Beta", "site-down", ""),
                    ("3", "4", "Acme <&>", "verdict-changed", "a@acme.test"),
                    ("3", "4", "Acme <&>", "gone", "+3611111111"),
                    ("4", "5", "Beta", "site-back", ""),
                    # compared with wave 2, when its site last answered
                    ("4", "5", "Beta", "verdict-changed", "+3622222222"),
                    ("4", "5", "Beta", "appeared", "+3633333333")]
        assert changes == expected
        history = _rows(out / "history.csv")
        assert history[0] == ["wave", "time", "company", "kind", "value", "verdict", "reason"]
        assert [(r[0], r[2], r[4], r[5]) for r in history[1:]] == [
            (str(n), name, value, verdict)
            for n, name, value, verdict in [(2, "Acme <&>", "+3611111111", "active"), (2, "Beta", "+3622222222", "active"),
                                            (3, "Acme <&>", "a@acme.test", "active"), (3, "Acme <&>", "+3611111111", "active"),
                                            (4, "Acme <&>", "a@acme.test", "unknown"),
                                            (5, "Acme <&>", "a@acme.test", "unknown"), (5, "Beta", "+3622222222", "unknown"),
                                            (5, "Beta", "+3633333333", "unknown")]]
        # wave by wave gives what the pure function gives from every row at once
        assert audit_transitions(engine) == transitions(w.history(engine), w.wave_companies_rows(engine))
        assert [(r["wave"], r["company_key"], r["value"]) for _wave_row, points, _c in w.wave_by_wave(engine)
                for r in points] == [(r["wave"], r["company_key"], r["value"]) for r in w.history(engine)]
    finally:
        store.close()
