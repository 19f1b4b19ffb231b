"""What changed since a previous audit: contact points added, removed, re-judged.

The previous audit is read from its ``audit.sqlite`` (copied to a temporary
directory first, so the old audit is never written to, not even a WAL file) or,
when that is missing, from its ``results.json``. Companies are matched by their
website's host, contact points by kind and value; ports are ignored in both, so
two runs of the lab (which picks a new port each time) compare cleanly.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from auditor.models import Company, CompanyResult, ContactPoint, Failure, PageRecord, Verdict

Audit = list[tuple[CompanyResult, dict[tuple[str, str], Verdict]]]


def load_audit(audit_dir: str | Path) -> Audit:
    """Companies with their verdicts from a finished audit directory (read only)."""
    root = Path(audit_dir)
    db = root / "audit.sqlite"
    if db.is_file():
        from auditor.store.sqlite import SqliteStore

        with tempfile.TemporaryDirectory(prefix="auditor-compare-") as tmp:
            for suffix in ("", "-wal"):
                src = Path(f"{db}{suffix}")
                if src.is_file():
                    shutil.copy2(src, Path(tmp) / f"audit.sqlite{suffix}")
            store = SqliteStore(Path(tmp) / "audit.sqlite")
            try:
                return [(r, store.verdicts(r.company.key)) for r in store.results()]
            finally:
                store.close()
    doc_path = root / "results.json"
    if doc_path.is_file():
        return _from_results_json(json.loads(doc_path.read_text(encoding="utf-8")))
    raise FileNotFoundError(f"{root} holds neither audit.sqlite nor results.json")


def _from_results_json(doc: Mapping[str, Any]) -> Audit:
    out: Audit = []
    for c in doc.get("companies", ()):
        company = Company(int(c["row"]), c["name"], c["website"], c.get("country"), c.get("industry"),
                          c.get("language"))
        contacts = tuple(ContactPoint.from_dict(cp) for cp in c.get("contacts", ()))
        verdicts = {
            (cp["kind"], cp["value"]): Verdict.from_dict(cp["validation"])
            for cp in c.get("contacts", ()) if cp.get("validation")
        }
        pages = tuple(
            PageRecord(p["url"], p.get("status"), p.get("error_tag"), p.get("message", ""),
                       int(p.get("depth") or 0), float(p.get("score") or 0.0), p.get("elapsed_ms"),
                       p.get("size"))
            for p in c.get("pages", ())
        )
        failures = tuple(Failure(f["tag"], f.get("message", ""), f.get("url", "")) for f in c.get("failures", ()))
        out.append((CompanyResult(company, pages, contacts, failures, tuple(c.get("external_links", ())),
                                  c.get("status", "done")), verdicts))
    return out


def company_match_key(company: Company) -> str:
    """A company's identity across runs: its website's host without www. and port."""
    host = (urlsplit(company.website).hostname or company.website).lower()
    return host.removeprefix("www.")


def value_match_key(kind: str, value: str) -> tuple[str, str]:
    """A contact point's identity across runs: URLs compared without their port."""
    if "://" in value:
        parts = urlsplit(value)
        if parts.hostname:
            value = urlunsplit((parts.scheme, parts.hostname, parts.path, parts.query, parts.fragment))
    return kind, value


@dataclass(frozen=True)
class PointChange:
    """A contact point that appeared, disappeared or changed its verdict."""

    kind: str
    value: str
    old_verdict: str | None = None
    new_verdict: str | None = None
    old_reason: str | None = None
    new_reason: str | None = None


@dataclass
class CompanyDiff:
    """The changes of one company present in both audits."""

    company: Company
    added: list[PointChange] = field(default_factory=list)
    removed: list[PointChange] = field(default_factory=list)
    changed: list[PointChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


@dataclass
class AuditDiff:
    """Companies added and removed, and per-company changes, in input order."""

    companies_added: list[Company] = field(default_factory=list)
    companies_removed: list[Company] = field(default_factory=list)
    companies: list[CompanyDiff] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "companies_added": len(self.companies_added),
            "companies_removed": len(self.companies_removed),
            "points_added": sum(len(c.added) for c in self.companies),
            "points_removed": sum(len(c.removed) for c in self.companies),
            "verdicts_changed": sum(len(c.changed) for c in self.companies),
        }


def _index(audit: Iterable[tuple[CompanyResult, Mapping[tuple[str, str], Verdict]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for result, verdicts in audit:
        key = company_match_key(result.company)
        while key in out:  # two rows with one host: keep both, in row order
            key += "#"
        out[key] = (result, verdicts)
    return out


def diff_audits(
    old: Iterable[tuple[CompanyResult, Mapping[tuple[str, str], Verdict]]],
    new: Iterable[tuple[CompanyResult, Mapping[tuple[str, str], Verdict]]],
) -> AuditDiff:
    """Compare two audits company by company."""
    before, after = _index(old), _index(new)
    diff = AuditDiff(
        companies_added=[after[k][0].company for k in after if k not in before],
        companies_removed=[before[k][0].company for k in before if k not in after],
    )
    for key, (result, verdicts) in after.items():
        if key not in before:
            continue
        old_result, old_verdicts = before[key]
        old_points = {value_match_key(*cp.dedupe_key): cp for cp in old_result.contacts}
        new_points = {value_match_key(*cp.dedupe_key): cp for cp in result.contacts}
        entry = CompanyDiff(result.company)
        for mk, cp in new_points.items():
            v = verdicts.get(cp.dedupe_key)
            if mk not in old_points:
                entry.added.append(PointChange(cp.kind, cp.value, new_verdict=v.verdict if v else None,
                                               new_reason=v.reason if v else None))
                continue
            ov = old_verdicts.get(old_points[mk].dedupe_key)
            if (ov.verdict if ov else None) != (v.verdict if v else None):
                entry.changed.append(PointChange(
                    cp.kind, cp.value, ov.verdict if ov else None, v.verdict if v else None,
                    ov.reason if ov else None, v.reason if v else None,
                ))
        for mk, cp in old_points.items():
            if mk not in new_points:
                ov = old_verdicts.get(cp.dedupe_key)
                entry.removed.append(PointChange(cp.kind, cp.value, old_verdict=ov.verdict if ov else None,
                                                 old_reason=ov.reason if ov else None))
        diff.companies.append(entry)
    return diff
