"""Waves in the store, on SQLite and PostgreSQL: an existing audit becomes wave 1, waves are kept, a running one blocks."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from alembic import command

from auditor.models import Company, CompanyResult, ContactPoint, PageRecord, Verdict
from auditor.store import Store, open_store
from auditor.store import waves as w
from auditor.store.engine import writer
from auditor.store.migrate import config
from auditor.store.schema import waves


def _audit(target: str | Path) -> tuple[Store, Company]:
    store = open_store(target)
    store.start_run({"line_window": "09-17"}, "0")
    acme = Company(2, "Acme <&>", "https://acme.test/", "HU")
    store.register_companies([acme])
    store.save_company(CompanyResult(acme, pages=(PageRecord("https://acme.test/", 200),), contacts=(
        ContactPoint("phone", "+3612345678", "+36 1 234 5678", None, "text", "https://acme.test/k", "c"),)))
    store.save_verdicts(acme.key, [Verdict("phone", "+3612345678", "active", "valid-number")])
    store.finish_run({})
    return store, acme


def test_an_audit_made_before_waves_migrates_to_wave_1_with_its_data(store_target: str | Path) -> None:
    store, _ = _audit(store_target)
    engine = store.engine  # type: ignore[attr-defined]
    with writer(engine).begin() as conn:  # back to the schema the current audits have, data kept
        command.downgrade(config(conn), "core_0002")
    with writer(engine).begin() as conn:
        command.upgrade(config(conn), "core@head")
    assert [(x.number, x.status, x.settings) for x in w.list_waves(engine)] == [
        (1, "finished", {"line_window": "09-17"})]
    rows = w.history(engine)
    assert [(r["wave"], r["company"], r["kind"], r["value"], r["verdict"], r["reason"], r["page_url"])
            for r in rows] == [(1, "Acme <&>", "phone", "+3612345678", "active", "valid-number",
                                "https://acme.test/k")]


def test_a_new_wave_keeps_the_first_and_reads_stay_on_the_latest(store_target: str | Path) -> None:
    store, acme = _audit(store_target)
    engine = store.engine  # type: ignore[attr-defined]
    number = w.begin_wave(engine, {"line_window": "18-22"})
    assert number == 2  # the audit made after the migration became wave 1 first
    assert store.done_keys() == set()  # every company is audited again
    with pytest.raises(w.WaveBusy) as busy:
        w.begin_wave(engine, {})
    assert not busy.value.stale
    store.save_company(CompanyResult(acme, contacts=(
        ContactPoint("email", "info@acme.test", "info@acme.test", None, "mailto", "https://acme.test/k", "c"),)))
    store.save_verdicts(acme.key, [Verdict("email", "info@acme.test", "unknown", "smtp-timeout")])
    w.finish_wave(engine, number)
    assert [(r["wave"], r["value"], r["verdict"]) for r in w.history(engine)] == [
        (1, "+3612345678", "active"), (2, "info@acme.test", "unknown")]
    assert [c.value for r in store.results() for c in r.contacts] == ["info@acme.test"]
    assert [x.status for x in w.list_waves(engine)] == ["finished", "finished"]
    store.start_run({}, "0")  # a fresh audit in the same place starts a history of its own
    assert w.list_waves(engine) == [] and w.history(engine) == []


def test_a_running_wave_of_a_dead_process_is_reported_stale(store_target: str | Path) -> None:
    store, _ = _audit(store_target)
    engine = store.engine  # type: ignore[attr-defined]
    number = w.begin_wave(engine, {})
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)  # a pid that is certainly dead now
    with writer(engine).begin() as conn:
        conn.execute(waves.update().values(pid=child))
    with pytest.raises(w.WaveBusy) as busy:
        w.begin_wave(engine, {})
    assert busy.value.stale and busy.value.wave.number == number
    assert busy.value.wave.host == socket.gethostname()
    w.abandon_wave(engine, number)
    assert w.begin_wave(engine, {}) == 3
    assert [r["wave"] for r in w.history(engine)] == [1]  # an unfinished wave is not history


def test_chat_checks_are_kept_in_the_store_and_an_older_ledger_is_imported_once(
        store_target: str | Path, tmp_path: Path) -> None:
    """The availability grids' chat checks live in the store (PostgreSQL for a shared one), not beside it."""
    from auditor.models import Check
    from auditor.store.checks import CHECK_LEDGER, ChannelChecks
    from auditor.waves.availability_data import read_checks, record_checks

    store, acme = _audit(store_target)
    out = tmp_path / "report-dir"  # a shared store's exports folder; for SQLite, any folder
    out.mkdir()
    older = {"company": acme.key, "kind": "chat", "value": "crisp", "at": 1796600000.0, "verdict": "active",
             "reason": "widget-loads", "operator": "online"}
    (out / CHECK_LEDGER).write_text(json.dumps(older) + "\n", encoding="utf-8")
    try:
        store.save_company(CompanyResult(acme, contacts=(
            ContactPoint("chat", "crisp", "crisp", None, "widget-script", "https://acme.test/k", "chat"),)))
        told = Check("operator-status", "inactive", "operator-offline", "", {}, 1796634000.0, 1.0)
        store.save_verdicts(acme.key, [Verdict("chat", "crisp", "active", "widget-loads", "", (told,))])
        assert record_checks(store, out) == 1  # the current check; the ledger's was imported, not recorded
        assert record_checks(store, out) == 0
        assert [(e["at"], e["operator"]) for e in read_checks(store, out)] == [(1796600000.0, "online"),
                                                                               (1796634000.0, "offline")]
        assert not (out / CHECK_LEDGER).exists()
    finally:
        store.close()
    again = open_store(store_target)  # kept in the store itself: another process reads them without the folder
    try:
        assert len(ChannelChecks(again.engine).entries()) == 2  # type: ignore[attr-defined]
        again.start_run({}, "0")  # a fresh audit in the same store: the earlier audit's checks go
        assert ChannelChecks(again.engine).entries() == []  # type: ignore[attr-defined]
    finally:
        again.close()
