"""Write what the store holds as results.json and contacts.csv (atomically)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.models import CompanyResult, Verdict
from auditor.store import Store
from auditor.waves.exports import write_history

CONTACT_COLUMNS = (
    "company", "website", "country", "kind", "value", "label", "raw", "method",
    "page_url", "context", "confidence", "address_class", "verdict", "reason",
)


def atomic_write(path: Path, data: str) -> None:
    """Write to a temporary file beside ``path`` and rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def company_to_json(result: CompanyResult, verdicts: dict[tuple[str, str], Verdict] | None = None) -> dict[str, Any]:
    c = result.company
    verdicts = verdicts or {}
    contacts = []
    for cp in result.contacts:
        item = cp.to_dict()
        verdict = verdicts.get(cp.dedupe_key)
        if verdict is not None:
            item["validation"] = verdict.to_dict()
        contacts.append(item)
    return {
        "key": c.key,
        "row": c.row,
        "name": c.name,
        "website": c.website,
        "country": c.country,
        "industry": c.industry,
        "language": c.language,
        "status": result.status,
        "contacts": contacts,
        "pages": [
            {"url": p.url, "status": p.status, "error_tag": p.error_tag, "message": p.message,
             "depth": p.depth, "score": p.score, "elapsed_ms": p.elapsed_ms, "size": p.size}
            for p in result.pages
        ],
        "failures": [{"tag": f.tag, "message": f.message, "url": f.url} for f in result.failures],
        "external_links": list(result.external_links),
    }


def summarize(results: list[CompanyResult], input_errors: int) -> dict[str, Any]:
    kinds: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    pages = 0
    for r in results:
        pages += sum(1 for p in r.pages if p.status is not None)
        kinds.update(cp.kind for cp in r.contacts)
        errors.update(f.tag for f in r.failures)
    return {
        "companies": len(results),
        "companies_failed": sum(1 for r in results if r.status == "failed"),
        "companies_pending": sum(1 for r in results if r.status == "pending"),
        "pages": pages,
        "contact_points": dict(sorted(kinds.items())),
        "errors": dict(sorted(errors.items())),
        "input_errors": input_errors,
    }


def export(store: Store, out_dir: str | Path) -> dict[str, Any]:
    """Write ``results.json`` and ``contacts.csv`` (and the waves' CSVs); return the summary."""
    out = Path(out_dir)
    results = list(store.results())
    input_errors = store.input_errors()
    summary = summarize(results, len(input_errors))
    doc = {
        "schema": "https://contact-auditor.invalid/schema/results-1.json",
        "tool": {"name": "contact-auditor", "version": __version__},
        "run": store.run_info(),
        "summary": summary,
        "input_errors": [
            {"row": e.row, "tag": e.tag, "message": e.message, "raw": e.raw} for e in input_errors
        ],
        "companies": [company_to_json(r, store.verdicts(r.company.key)) for r in results],
    }
    atomic_write(out / "results.json", json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CONTACT_COLUMNS)
    for r in results:
        verdicts = store.verdicts(r.company.key)
        for cp in r.contacts:
            v = verdicts.get(cp.dedupe_key)
            writer.writerow([
                r.company.name, r.company.website, r.company.country or "", cp.kind, cp.value,
                cp.label or "", cp.raw, cp.method, cp.page_url, cp.context, f"{cp.confidence:.2f}",
                cp.details.get("address_class", ""), v.verdict if v else "", v.reason if v else "",
            ])
    atomic_write(out / "contacts.csv", buf.getvalue())
    engine = getattr(store, "engine", None)
    if engine is not None:  # an audit with several waves: its history too (issue 15)
        write_history(engine, out, atomic_write, store)
    return summary
