"""The audit store on SQLAlchemy Core: one implementation for SQLite and PostgreSQL.

Every write is one transaction. A company's result replaces whatever was stored
for it under its key: the first statement upserts the company's row, which
locks it (PostgreSQL) or the database (SQLite's ``BEGIN IMMEDIATE``), so two
workers storing the same company take turns, and the second replaces the first
instead of adding to it; (company_key, seq) is unique on every child table, so
two copies cannot exist. A write cut off by a dropped connection is retried
(it is idempotent).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

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
from auditor.store import migrate
from auditor.store.engine import upsert, writer
from auditor.store.inquiries import InquiryStore
from auditor.store.schema import (
    PER_COMPANY,
    channel_checks,
    companies,
    contact_points,
    external_links,
    failures,
    input_errors,
    pages,
    runs,
    sightings,
    verdicts,
    wave_companies,
    wave_points,
    waves,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Which sighting speaks for a contact point: structured data, then links and scripts, then text.
_METHOD_RANK: dict[Method, int] = {"json-ld": 0, "microdata": 0, "tel-link": 1, "mailto": 1, "widget-script": 1,
                "deep-link": 1, "form": 1, "text": 2}
_RETRY_FOR = 120.0  # seconds a write keeps trying while the database is unreachable (then it fails)
_RETRY_FIRST, _RETRY_CAP = 0.5, 10.0  # the first wait between tries, doubling up to the cap (seconds)
_READ_SLICE = 500  # companies read back per round trip: few queries, bounded memory


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


def _details(cp: ContactPoint) -> str:
    return json.dumps(dict(cp.details), default=str)


class StaleWrite(Exception):
    """A company's write under claim ``fence`` refused: the store holds the result of a later claim."""

    def __init__(self, key: str, fence: int) -> None:
        super().__init__(f"{key}: the store holds a later claim's result than claim {fence}")
        self.key = key
        self.fence = fence


class SqlStore:
    """An audit's store in the database behind ``engine`` (see ``Store``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = writer(engine)
        migrate.upgrade(engine, "core")
        self.run_id: int | None = None

    # -- runs -------------------------------------------------------------
    def start_run(self, settings: dict[str, Any], version: str, resume: bool = False) -> int:
        with self._writer.begin() as conn:
            last = conn.execute(select(func.max(runs.c.id))).scalar()
            if resume and last is not None:
                self.run_id = int(last)
                conn.execute(update(runs).where(runs.c.id == last).values(finished=None))
                return self.run_id
            # A fresh audit in the folder: the previous audit's waves go with its companies.
            for table in (*PER_COMPANY, companies, input_errors, wave_points, wave_companies, waves,
                          channel_checks):
                conn.execute(delete(table))
            new = conn.execute(runs.insert().values(
                started=time.time(), version=version,
                settings=json.dumps(settings, sort_keys=True, default=str),
            )).inserted_primary_key
        self.run_id = int(new[0]) if new else 0
        return self.run_id

    def finish_run(self, summary: dict[str, Any]) -> None:
        with self._writer.begin() as conn:
            latest = select(func.max(runs.c.id)).scalar_subquery()
            conn.execute(update(runs).where(runs.c.id == latest).values(
                finished=time.time(), summary=json.dumps(summary, sort_keys=True, default=str)))

    def run_info(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(1)).first()
        if not row:
            return {}
        return {
            "id": row.id,
            "started": row.started,
            "finished": row.finished,
            "version": row.version,
            "settings": json.loads(row.settings or "{}"),
            "summary": json.loads(row.summary) if row.summary else None,
        }

    # -- input -------------------------------------------------------------
    def save_input_errors(self, errors: Iterable[InputError]) -> None:
        rows = [{"row": e.row, "tag": e.tag, "message": mask_credentials(e.message), "raw": mask_credentials(e.raw)}
                for e in errors]
        with self._writer.begin() as conn:
            conn.execute(delete(input_errors))
            if rows:
                conn.execute(input_errors.insert(), rows)

    def input_errors(self) -> list[InputError]:
        with self.engine.connect() as conn:
            return [InputError(*r) for r in conn.execute(
                select(input_errors.c.row, input_errors.c.tag, input_errors.c.message, input_errors.c.raw)
                .order_by(input_errors.c.row))]

    def register_companies(self, items: Iterable[Company]) -> None:
        rows = [{"key": c.key, "row": c.row, "name": c.name, "website": c.website, "country": c.country,
                 "industry": c.industry, "language": c.language} for c in items]
        if not rows:
            return
        with self._writer.begin() as conn:
            conn.execute(upsert(conn, companies).on_conflict_do_nothing(index_elements=[companies.c.key]), rows)

    def done_keys(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(companies.c.key).where(companies.c.status != "pending")).scalars())

    def max_fence(self) -> int | None:
        """The highest claim number a stored company was written under (None: no distributed write yet)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(companies.c.fence))).scalar_one_or_none()
        return int(value) if value is not None else None

    def company_counts(self) -> dict[str, int]:
        """Companies registered, and how many are stored (done or failed): counted in SQL, none loaded."""
        with self.engine.connect() as conn:
            by_status: dict[str, int] = {
                status: int(n) for status, n in conn.execute(
                    select(companies.c.status, func.count()).group_by(companies.c.status))}
        registered = sum(by_status.values())
        return {"registered": registered, "stored": registered - by_status.get("pending", 0)}

    def pending_companies(self, batch: int = _READ_SLICE) -> Iterator[Company]:
        """The companies not stored yet, read ``batch`` at a time by key (a long list is never loaded whole)."""
        after = ""
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(companies.c.key, companies.c.row, companies.c.name, companies.c.website,
                           companies.c.country, companies.c.industry, companies.c.language)
                    .where(companies.c.status == "pending", companies.c.key > after)
                    .order_by(companies.c.key).limit(batch)).all()
            for r in rows:
                yield Company(*r[1:])
            if len(rows) < batch:
                return
            after = rows[-1].key

    # -- harvest -----------------------------------------------------------
    def save_company(self, result: CompanyResult, fence: int | None = None) -> None:
        """Replace everything stored for the company in one transaction (idempotent).

        ``fence`` (a distributed run's claim number) makes the write conditional:
        when the row holds the result of a later claim, nothing is written and
        :class:`StaleWrite` is raised (a cut-off worker's late write).
        """
        self._retry(lambda: self._save_company(result, fence))

    def _save_company(self, result: CompanyResult, fence: int | None = None) -> None:
        c = result.company
        groups: dict[tuple[str, str], list[ContactPoint]] = defaultdict(list)
        for cp in result.contacts:
            groups[cp.dedupe_key].append(cp)
        with self._writer.begin() as conn:
            stmt = upsert(conn, companies).values(
                key=c.key, row=c.row, name=c.name, website=c.website, country=c.country, industry=c.industry,
                language=c.language, status=result.status, harvested_at=time.time(), fence=fence)
            # First: the company's row, locked until commit; a racing writer of the same company waits here.
            # With a fence, only while the row holds no later claim's result (both dialects take the WHERE).
            later = None if fence is None else (companies.c.fence.is_(None) | (companies.c.fence <= fence))
            # RETURNING, not rowcount: a row comes back only when it was inserted or updated (portable)
            done = conn.execute(stmt.on_conflict_do_update(
                index_elements=[companies.c.key],
                set_={"status": stmt.excluded.status, "harvested_at": stmt.excluded.harvested_at,
                      "fence": stmt.excluded.fence},
                where=later).returning(companies.c.key)).first()
            if done is None:
                raise StaleWrite(c.key, fence or 0)  # rolls the transaction back: nothing of this write remains
            for table in PER_COMPANY:
                conn.execute(delete(table).where(table.c.company_key == c.key))
            if result.pages:
                conn.execute(pages.insert(), [
                    {"company_key": c.key, "url": p.url, "status": p.status, "error_tag": p.error_tag,
                     "message": p.message, "depth": p.depth, "score": p.score, "elapsed_ms": p.elapsed_ms,
                     "size": p.size, "seq": i}
                    for i, p in enumerate(result.pages)])
            if groups:
                reps = [(merge_sightings(group), group) for group in groups.values()]
                # One statement for the contact points, their ids back in the order given.
                ids = conn.execute(
                    contact_points.insert().returning(contact_points.c.id, sort_by_parameter_order=True),
                    [{"company_key": c.key, "kind": rep.kind, "value": rep.value, "label": rep.label,
                      "raw": rep.raw, "method": rep.method, "page_url": rep.page_url, "context": rep.context,
                      "confidence": rep.confidence, "details": _details(rep), "sightings": len(group)}
                     for rep, group in reps],
                ).scalars().all()
                conn.execute(sightings.insert(), [
                    {"contact_id": contact_id, "company_key": c.key, "raw": s.raw, "label": s.label,
                     "method": s.method, "page_url": s.page_url, "context": s.context,
                     "confidence": s.confidence, "details": _details(s), "seq": seq}
                    for seq, (contact_id, s) in enumerate(
                        (contact_id, s) for contact_id, (_, group) in zip(ids, reps, strict=True) for s in group)])
            if result.failures:
                conn.execute(failures.insert(), [
                    {"company_key": c.key, "tag": f.tag, "message": f.message, "url": f.url, "seq": i}
                    for i, f in enumerate(result.failures)])
            if result.external_links:
                conn.execute(external_links.insert(), [
                    {"company_key": c.key, "url": u, "seq": i} for i, u in enumerate(result.external_links)])

    def add_contacts(self, company_key: str, contacts: Iterable[ContactPoint]) -> int:
        """Add contact points found after the crawl (browser mode); existing ones stay."""
        items = list(contacts)
        return self._retry(lambda: self._add_contacts(company_key, items))

    def _add_contacts(self, company_key: str, contacts: list[ContactPoint]) -> int:
        added = 0
        with self._writer.begin() as conn:
            conn.execute(select(companies.c.key).where(companies.c.key == company_key).with_for_update())
            seq = conn.execute(select(func.coalesce(func.max(sightings.c.seq) + 1, 0))
                               .where(sightings.c.company_key == company_key)).scalar_one()
            for cp in contacts:
                stmt = upsert(conn, contact_points).values(
                    company_key=company_key, kind=cp.kind, value=cp.value, label=cp.label, raw=cp.raw,
                    method=cp.method, page_url=cp.page_url, context=cp.context, confidence=cp.confidence,
                    details=_details(cp), sightings=1,
                ).on_conflict_do_nothing(
                    index_elements=[contact_points.c.company_key, contact_points.c.kind, contact_points.c.value]
                ).returning(contact_points.c.id)
                contact_id = conn.execute(stmt).scalar()
                if contact_id is None:
                    continue
                added += 1
                conn.execute(sightings.insert().values(
                    contact_id=contact_id, company_key=company_key, raw=cp.raw, label=cp.label,
                    method=cp.method, page_url=cp.page_url, context=cp.context, confidence=cp.confidence,
                    details=_details(cp), seq=seq))
                seq += 1
        return added

    # -- validation --------------------------------------------------------
    def save_verdicts(self, company_key: str, items: Iterable[Verdict]) -> None:
        """Store verdicts beside the harvested records (replacing earlier ones)."""
        now = time.time()
        rows = [{"company_key": company_key, "kind": v.kind, "value": v.value, "verdict": v.verdict,
                 "reason": v.reason, "data": json.dumps(v.to_dict(), ensure_ascii=False, default=str),
                 "validated_at": now} for v in items]
        if not rows:
            return
        with self._writer.begin() as conn:
            stmt = upsert(conn, verdicts)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[verdicts.c.company_key, verdicts.c.kind, verdicts.c.value],
                set_={name: stmt.excluded[name] for name in ("verdict", "reason", "data", "validated_at")},
            ), rows)

    def verdicts(self, company_key: str) -> dict[tuple[str, str], Verdict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(verdicts.c.kind, verdicts.c.value, verdicts.c.data)
                                .where(verdicts.c.company_key == company_key)).all()
        return {(kind, value): Verdict.from_dict(json.loads(data)) for kind, value, data in rows}

    def clear_verdicts(self) -> None:
        with self._writer.begin() as conn:
            conn.execute(delete(verdicts))

    # -- reading -----------------------------------------------------------
    def companies(self) -> list[Company]:
        with self.engine.connect() as conn:
            return [Company(*r) for r in conn.execute(
                select(companies.c.row, companies.c.name, companies.c.website, companies.c.country,
                       companies.c.industry, companies.c.language).order_by(companies.c.row))]

    def results(self) -> Iterator[CompanyResult]:
        """Every company in input order with what was stored for it, read a slice of companies at a time."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(companies.c.key, companies.c.row, companies.c.name, companies.c.website,
                       companies.c.country, companies.c.industry, companies.c.language, companies.c.status)
                .order_by(companies.c.row)).all()
        for start in range(0, len(rows), _READ_SLICE):
            chunk = rows[start:start + _READ_SLICE]
            keys = [r.key for r in chunk]
            found: dict[str, list[Any]] = defaultdict(list)
            contacts: dict[str, list[Any]] = defaultdict(list)
            failed: dict[str, list[Any]] = defaultdict(list)
            external: dict[str, list[str]] = defaultdict(list)
            with self.engine.connect() as conn:
                for p in conn.execute(
                    select(pages.c.company_key, pages.c.url, pages.c.status, pages.c.error_tag, pages.c.message,
                           pages.c.depth, pages.c.score, pages.c.elapsed_ms, pages.c.size)
                    .where(pages.c.company_key.in_(keys)).order_by(pages.c.company_key, pages.c.seq)):
                    found[p[0]].append(PageRecord(*p[1:]))
                cp = contact_points
                for c in conn.execute(
                    select(cp.c.company_key, cp.c.kind, cp.c.value, cp.c.raw, cp.c.label, cp.c.method,
                           cp.c.page_url, cp.c.context, cp.c.confidence, cp.c.details)
                    .where(cp.c.company_key.in_(keys)).order_by(cp.c.company_key, cp.c.kind, cp.c.value)):
                    contacts[c[0]].append(ContactPoint(*c[1:9], json.loads(c[9])))
                for f in conn.execute(
                    select(failures.c.company_key, failures.c.tag, failures.c.message, failures.c.url)
                    .where(failures.c.company_key.in_(keys)).order_by(failures.c.company_key, failures.c.seq)):
                    failed[f[0]].append(Failure(*f[1:]))
                for key, url in conn.execute(
                    select(external_links.c.company_key, external_links.c.url)
                    .where(external_links.c.company_key.in_(keys))
                    .order_by(external_links.c.company_key, external_links.c.seq)):
                    external[key].append(url)
            for key, row, name, website, country, industry, language, status in chunk:
                yield CompanyResult(Company(row, name, website, country, industry, language), tuple(found[key]),
                                    tuple(contacts[key]), tuple(failed[key]), tuple(external[key]), status)

    def sightings(self, company_key: str) -> list[dict[str, Any]]:
        cp, s = contact_points, sightings
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(cp.c.kind, cp.c.value, s.c.raw, s.c.label, s.c.method, s.c.page_url, s.c.context,
                       s.c.confidence)
                .join_from(s, cp, cp.c.id == s.c.contact_id)
                .where(s.c.company_key == company_key).order_by(s.c.seq))]

    # -- probes ------------------------------------------------------------
    def inquiry_tables(self, create: bool = True) -> InquiryStore:
        """The mystery-shopper probe's tables, in this store's database."""
        return InquiryStore(self.engine, create)

    def close(self) -> None:
        self.engine.dispose()

    # -- helpers -----------------------------------------------------------
    def _retry(self, write: Callable[[], T]) -> T:
        """Run an idempotent write again, backing off, while the database is unreachable.

        A dropped connection, a server restarting or refusing connections, a
        deadlock: the write is tried again for up to ``_RETRY_FOR`` seconds (the
        transaction rolled back, so nothing of the failed try remains), then fails.
        """
        deadline = time.monotonic() + _RETRY_FOR
        wait = _RETRY_FIRST
        while True:
            try:
                return write()
            except DBAPIError as exc:
                if not transient(exc) or time.monotonic() + wait > deadline:
                    raise
                first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
                log.warning("store: database unreachable during a write (%s); trying again in %.1f s", first, wait)
                time.sleep(wait)
                wait = min(wait * 2, _RETRY_CAP)


def transient(exc: DBAPIError) -> bool:
    """The error says the database could not be reached or the transaction may succeed when tried again.

    A connection dropped or refused (no SQLSTATE, or class 08), the server
    shutting down or starting (57P), a deadlock or serialization failure (40),
    SQLite's busy database; not a constraint or data error.
    """
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    state = getattr(exc.orig, "sqlstate", None)
    return state is None or str(state).startswith(("08", "57P", "40"))
