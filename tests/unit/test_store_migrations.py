"""Schema migrations: an audit.sqlite made before Alembic opens and reads back the same.

The fixture is a dump of an audit written by the hand-written SQLite store
(main at d5cc089) together with what that code read back from it; see
tests/fixtures/store/README.md.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from auditor.models import Company, CompanyResult, ContactPoint, PageRecord
from auditor.store import SqliteStore, open_store
from auditor.store.migrate import SchemaError, head
from auditor.store.schema import metadata

FIXTURES = Path(__file__).parents[1] / "fixtures" / "store"


def _plain(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _plain(dataclasses.asdict(x))
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    return x if x is None or isinstance(x, str | int | float | bool) else str(x)


def _old_audit(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "audit.sqlite")
    db.executescript((FIXTURES / "pre-alembic.sql").read_text())
    db.close()
    return folder


def _versions(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT version_num FROM alembic_version")}


def test_a_pre_alembic_audit_opens_and_reads_back_what_the_old_store_read(tmp_path: Path) -> None:
    folder = _old_audit(tmp_path / "old")
    store = open_store(folder)
    assert _versions(folder / "audit.sqlite") == {head("core")}  # stamped, then upgraded
    t = store.inquiry_tables(create=False)
    assert _versions(folder / "audit.sqlite") == {head("core"), head("inquiries")}
    keys = [c.key for c in store.companies()]
    got = {
        "run_info": store.run_info(),
        "input_errors": store.input_errors(),
        "companies": store.companies(),
        "done_keys": sorted(store.done_keys()),
        "results": list(store.results()),
        "sightings": {k: store.sightings(k) for k in keys},
        "verdicts": {k: {"|".join(kv): v for kv, v in store.verdicts(k).items()} for k in keys},
        "inquiries": {
            "exists": t.exists(), "asked": t.asked(), "handles": t.handles(), "sent_at": t.sent_at(),
            "imap_state": t.imap_state("shopper@imap.test:993", "INBOX"),
            "open_inquiries": t.open_inquiries(), "reply_times": t.reply_times(1),
            "inquiries": t.inquiries(), "replies": t.replies(), "replies_1": t.replies(1),
            "sent_inquiries": t.sent_inquiries(("pending", "human-reply")),
        },
    }
    expected = json.loads((FIXTURES / "pre-alembic.expected.json").read_text())
    assert json.loads(json.dumps(_plain(got), sort_keys=True)) == expected
    # The adopted audit goes on: a later contact point of an old company comes after its old sightings.
    acme = keys[0]
    assert store.add_contacts(acme, [ContactPoint("phone", "+3699999999", "+36 99", None, "text", "u", "c")]) == 1
    assert [s["value"] for s in store.sightings(acme)][-1] == "+3699999999"
    store.close()
    store = open_store(folder)  # a second open changes nothing
    assert len(store.sightings(acme)) == len(expected["sightings"][acme]) + 1
    store.close()


def test_a_pre_alembic_audit_without_the_probe_gets_no_probe_tables(tmp_path: Path) -> None:
    folder = _old_audit(tmp_path / "old")
    with sqlite3.connect(folder / "audit.sqlite") as db:
        db.executescript("DROP TABLE replies; DROP TABLE imap_state; DROP TABLE inquiries;")
    store = open_store(folder)
    assert not store.inquiry_tables(create=False).exists()
    assert _versions(folder / "audit.sqlite") == {head("core")}
    assert store.inquiry_tables().asked() == {}  # created on first use, in their own branch
    assert _versions(folder / "audit.sqlite") == {head("core"), head("inquiries")}
    store.close()


def test_part_of_a_schema_is_refused_not_guessed(tmp_path: Path) -> None:
    folder = _old_audit(tmp_path / "old")
    with sqlite3.connect(folder / "audit.sqlite") as db:
        db.executescript("DROP TABLE input_errors;")
    with pytest.raises(SchemaError, match="input_errors"):
        open_store(folder)


def test_the_migrations_build_exactly_the_tables_the_store_uses(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "audit.sqlite")
    store.inquiry_tables()
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        names = set(inspect(conn).get_table_names())
    assert names == {t.name for t in metadata.sorted_tables} | {"alembic_version"}
    store.close()


def test_a_new_audit_keeps_the_write_order_of_pages(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.start_run({}, "0")
    company = Company(1, "A", "https://a.test/")
    urls = [f"https://a.test/{n}" for n in ("z", "a", "m", "b")]
    store.save_company(CompanyResult(company, pages=tuple(PageRecord(u, 200) for u in urls)))
    assert [p.url for p in next(store.results()).pages] == urls
    store.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    with sqlite3.connect(tmp_path / "audit.sqlite") as db:
        db.execute("UPDATE alembic_version SET version_num = 'core_9999'")
    with pytest.raises(SchemaError, match="core_9999"):
        open_store(tmp_path)


def test_opening_an_up_to_date_store_logs_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    open_store(tmp_path).close()
    caplog.clear()
    with caplog.at_level("DEBUG"):
        store = open_store(tmp_path)
        store.inquiry_tables(create=False)
        store.close()
    assert caplog.records == []
