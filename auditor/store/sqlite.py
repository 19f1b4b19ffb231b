"""SQLite store: WAL, one transaction per company, safe to resume after a crash."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from auditor.masking import mask_credentials
from auditor.models import (
    Company,
    CompanyResult,
    ContactPoint,
    Failure,
    InputError,
    Method,
    PageRecord,
    Verdict,
)
from auditor.store.inquiries import InquiryStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,
    finished REAL,
    version TEXT NOT NULL,
    settings TEXT NOT NULL,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS companies (
    key TEXT PRIMARY KEY,
    row INTEGER NOT NULL,
    name TEXT NOT NULL,
    website TEXT NOT NULL,
    country TEXT,
    industry TEXT,
    language TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    harvested_at REAL
);
CREATE TABLE IF NOT EXISTS pages (
    company_key TEXT NOT NULL REFERENCES companies(key),
    url TEXT NOT NULL,
    status INTEGER,
    error_tag TEXT,
    message TEXT,
    depth INTEGER,
    score REAL,
    elapsed_ms REAL,
    size INTEGER
);
CREATE INDEX IF NOT EXISTS pages_company ON pages(company_key);
CREATE TABLE IF NOT EXISTS contact_points (
    id INTEGER PRIMARY KEY,
    company_key TEXT NOT NULL REFERENCES companies(key),
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    label TEXT,
    raw TEXT NOT NULL,
    method TEXT NOT NULL,
    page_url TEXT NOT NULL,
    context TEXT NOT NULL,
    confidence REAL NOT NULL,
    details TEXT NOT NULL,
    sightings INTEGER NOT NULL,
    UNIQUE (company_key, kind, value)
);
CREATE TABLE IF NOT EXISTS sightings (
    contact_id INTEGER NOT NULL REFERENCES contact_points(id),
    company_key TEXT NOT NULL,
    raw TEXT NOT NULL,
    label TEXT,
    method TEXT NOT NULL,
    page_url TEXT NOT NULL,
    context TEXT NOT NULL,
    confidence REAL NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sightings_company ON sightings(company_key);
CREATE TABLE IF NOT EXISTS failures (
    company_key TEXT NOT NULL,
    tag TEXT NOT NULL,
    message TEXT NOT NULL,
    url TEXT
);
CREATE TABLE IF NOT EXISTS external_links (
    company_key TEXT NOT NULL,
    url TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verdicts (
    company_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT NOT NULL,
    data TEXT NOT NULL,
    validated_at REAL NOT NULL,
    PRIMARY KEY (company_key, kind, value)
);
CREATE TABLE IF NOT EXISTS input_errors (
    row INTEGER NOT NULL,
    tag TEXT NOT NULL,
    message TEXT NOT NULL,
    raw TEXT
);
"""

# user:password@ (or a bare token@) in any URL: the whole userinfo goes.


_PER_COMPANY = ("pages", "sightings", "contact_points", "failures", "external_links", "verdicts")
# Which sighting speaks for a contact point: structured data, then links and scripts, then text.
_METHOD_RANK: dict[Method, int] = {"json-ld": 0, "microdata": 0, "tel-link": 1, "mailto": 1, "widget-script": 1,
                "deep-link": 1, "form": 1, "text": 2}


def merge_sightings(sightings: list[ContactPoint]) -> ContactPoint:
    """The representative of several sightings of one contact point.

    The most trustworthy method wins for raw/page/context; the label is the one
    the pages give most often (fax beats all: a number labelled fax anywhere is
    never treated as a hotline).
    """
    best = min(sightings, key=lambda c: (_METHOD_RANK.get(c.method, 3), -c.confidence))
    labels = Counter(c.label for c in sightings if c.label)
    label = "fax" if "fax" in labels else (labels.most_common(1)[0][0] if labels else None)
    details: dict[str, Any] = {}
    for c in sorted(sightings, key=lambda c: c.confidence):
        details.update(c.details)
    return ContactPoint(
        kind=best.kind,
        value=best.value,
        raw=best.raw,
        label=label,
        method=best.method,
        page_url=best.page_url,
        context=best.context,
        confidence=max(c.confidence for c in sightings),
        details=details,
    )


class SqliteStore:
    """One audit directory's database (``DIR/audit.sqlite``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        self.run_id: int | None = None

    # -- runs -------------------------------------------------------------
    def start_run(self, settings: dict[str, Any], version: str, resume: bool = False) -> int:
        row = self.db.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        if resume and row:
            self.run_id = int(row[0])
            self.db.execute("UPDATE runs SET finished=NULL WHERE id=?", (self.run_id,))
            return self.run_id
        with self._tx():
            for table in (*_PER_COMPANY, "companies", "input_errors"):
                self.db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
            cur = self.db.execute(
                "INSERT INTO runs (started, version, settings) VALUES (?, ?, ?)",
                (time.time(), version, json.dumps(settings, sort_keys=True, default=str)),
            )
        self.run_id = int(cur.lastrowid or 0)
        return self.run_id

    def finish_run(self, summary: dict[str, Any]) -> None:
        self.db.execute(
            "UPDATE runs SET finished=?, summary=? WHERE id=(SELECT max(id) FROM runs)",
            (time.time(), json.dumps(summary, sort_keys=True, default=str)),
        )

    def run_info(self) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT id, started, finished, version, settings, summary FROM runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if not row:
            return {}
        return {
            "id": row[0],
            "started": row[1],
            "finished": row[2],
            "version": row[3],
            "settings": json.loads(row[4] or "{}"),
            "summary": json.loads(row[5]) if row[5] else None,
        }

    # -- input -------------------------------------------------------------
    def save_input_errors(self, errors: Iterable[InputError]) -> None:
        with self._tx():
            self.db.execute("DELETE FROM input_errors")
            self.db.executemany(
                "INSERT INTO input_errors (row, tag, message, raw) VALUES (?, ?, ?, ?)",
                [(e.row, e.tag, mask_credentials(e.message), mask_credentials(e.raw)) for e in errors],
            )

    def input_errors(self) -> list[InputError]:
        return [
            InputError(*r)
            for r in self.db.execute("SELECT row, tag, message, raw FROM input_errors ORDER BY row")
        ]

    def register_companies(self, companies: Iterable[Company]) -> None:
        with self._tx():
            self.db.executemany(
                "INSERT OR IGNORE INTO companies (key, row, name, website, country, industry, language)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (c.key, c.row, c.name, c.website, c.country, c.industry, c.language)
                    for c in companies
                ],
            )

    def done_keys(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT key FROM companies WHERE status != 'pending'")}

    # -- harvest -----------------------------------------------------------
    def save_company(self, result: CompanyResult) -> None:
        """Replace everything stored for the company in one transaction."""
        c = result.company
        groups: dict[tuple[str, str], list[ContactPoint]] = defaultdict(list)
        for cp in result.contacts:
            groups[cp.dedupe_key].append(cp)
        with self._tx():
            for table in _PER_COMPANY:
                self.db.execute(f"DELETE FROM {table} WHERE company_key=?", (c.key,))  # noqa: S608
            self.db.execute(
                "INSERT INTO companies (key, row, name, website, country, industry, language, status, harvested_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET status=excluded.status, harvested_at=excluded.harvested_at",
                (c.key, c.row, c.name, c.website, c.country, c.industry, c.language, result.status, time.time()),
            )
            self.db.executemany(
                "INSERT INTO pages (company_key, url, status, error_tag, message, depth, score, elapsed_ms, size)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (c.key, p.url, p.status, p.error_tag, p.message, p.depth, p.score, p.elapsed_ms, p.size)
                    for p in result.pages
                ],
            )
            for sightings in groups.values():
                rep = merge_sightings(sightings)
                cur = self.db.execute(
                    "INSERT INTO contact_points (company_key, kind, value, label, raw, method, page_url, context,"
                    " confidence, details, sightings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (c.key, rep.kind, rep.value, rep.label, rep.raw, rep.method, rep.page_url, rep.context,
                     rep.confidence, json.dumps(dict(rep.details), default=str), len(sightings)),
                )
                self.db.executemany(
                    "INSERT INTO sightings (contact_id, company_key, raw, label, method, page_url, context,"
                    " confidence, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (cur.lastrowid, c.key, s.raw, s.label, s.method, s.page_url, s.context, s.confidence,
                         json.dumps(dict(s.details), default=str))
                        for s in sightings
                    ],
                )
            self.db.executemany(
                "INSERT INTO failures (company_key, tag, message, url) VALUES (?, ?, ?, ?)",
                [(c.key, f.tag, f.message, f.url) for f in result.failures],
            )
            self.db.executemany(
                "INSERT INTO external_links (company_key, url) VALUES (?, ?)",
                [(c.key, u) for u in result.external_links],
            )

    def add_contacts(self, company_key: str, contacts: Iterable[ContactPoint]) -> int:
        """Add contact points found after the crawl (browser mode); existing ones stay."""
        added = 0
        with self._tx():
            for cp in contacts:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO contact_points (company_key, kind, value, label, raw, method, page_url,"
                    " context, confidence, details, sightings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                    (company_key, cp.kind, cp.value, cp.label, cp.raw, cp.method, cp.page_url, cp.context,
                     cp.confidence, json.dumps(dict(cp.details), default=str)),
                )
                if cur.rowcount:
                    added += 1
                    self.db.execute(
                        "INSERT INTO sightings (contact_id, company_key, raw, label, method, page_url, context,"
                        " confidence, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (cur.lastrowid, company_key, cp.raw, cp.label, cp.method, cp.page_url, cp.context,
                         cp.confidence, json.dumps(dict(cp.details), default=str)),
                    )
        return added

    # -- validation --------------------------------------------------------
    def save_verdicts(self, company_key: str, verdicts: Iterable[Verdict]) -> None:
        """Store verdicts beside the harvested records (replacing earlier ones)."""
        now = time.time()
        with self._tx():
            self.db.executemany(
                "INSERT OR REPLACE INTO verdicts (company_key, kind, value, verdict, reason, data, validated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (company_key, v.kind, v.value, v.verdict, v.reason,
                     json.dumps(v.to_dict(), ensure_ascii=False, default=str), now)
                    for v in verdicts
                ],
            )

    def verdicts(self, company_key: str) -> dict[tuple[str, str], Verdict]:
        return {
            (kind, value): Verdict.from_dict(json.loads(data))
            for kind, value, data in self.db.execute(
                "SELECT kind, value, data FROM verdicts WHERE company_key=?", (company_key,)
            )
        }

    def clear_verdicts(self) -> None:
        self.db.execute("DELETE FROM verdicts")

    # -- reading -----------------------------------------------------------
    def companies(self) -> list[Company]:
        return [
            Company(*r)
            for r in self.db.execute(
                "SELECT row, name, website, country, industry, language FROM companies ORDER BY row"
            )
        ]

    def results(self) -> Iterator[CompanyResult]:
        rows = self.db.execute(
            "SELECT key, row, name, website, country, industry, language, status FROM companies ORDER BY row"
        ).fetchall()
        for key, row, name, website, country, industry, language, status in rows:
            company = Company(row, name, website, country, industry, language)
            pages = tuple(
                PageRecord(*r)
                for r in self.db.execute(
                    "SELECT url, status, error_tag, message, depth, score, elapsed_ms, size FROM pages"
                    " WHERE company_key=? ORDER BY rowid",
                    (key,),
                )
            )
            contacts = tuple(
                ContactPoint(kind, value, raw, label, method, page_url, context, confidence, json.loads(details))
                for kind, value, raw, label, method, page_url, context, confidence, details in self.db.execute(
                    "SELECT kind, value, raw, label, method, page_url, context, confidence, details"
                    " FROM contact_points WHERE company_key=? ORDER BY kind, value",
                    (key,),
                )
            )
            failures = tuple(
                Failure(*r)
                for r in self.db.execute(
                    "SELECT tag, message, url FROM failures WHERE company_key=? ORDER BY rowid", (key,)
                )
            )
            external = tuple(
                r[0]
                for r in self.db.execute(
                    "SELECT url FROM external_links WHERE company_key=? ORDER BY rowid", (key,)
                )
            )
            yield CompanyResult(company, pages, contacts, failures, external, status)

    def sightings(self, company_key: str) -> list[dict[str, Any]]:
        cur = self.db.execute(
            "SELECT cp.kind, cp.value, s.raw, s.label, s.method, s.page_url, s.context, s.confidence"
            " FROM sightings s JOIN contact_points cp ON cp.id = s.contact_id"
            " WHERE s.company_key=? ORDER BY s.rowid",
            (company_key,),
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur]

    # -- probes ------------------------------------------------------------
    def inquiry_tables(self, create: bool = True) -> InquiryStore:
        """The mystery-shopper probe's tables, through this store's connection."""
        return InquiryStore(self.db, create)

    def close(self) -> None:
        self.db.close()

    # -- helpers -----------------------------------------------------------
    def _tx(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")
