"""Render an audit as a self-contained static site, plus CSV/JSON exports beside it.

``render_report(store, out_dir)`` writes ``out_dir/report/`` (index, one page per
company, methodology, changes when comparing) and ``companies.csv`` and
``scores.json`` in ``out_dir``. The site works from ``file://`` and asks no
other host for anything: CSS and the one small script sit beside the pages,
charts are inline SVG, and a Content-Security-Policy forbids the rest.

The new report is rendered into a temporary directory beside the old one and
swapped in with renames, so a reader never sees half a report.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from auditor import __version__
from auditor.export import atomic_write, export
from auditor.score import load_weights, rank, score_company
from auditor.store import Store
from auditor.store.waves import finished_waves
from auditor.waves.availability_data import load_availability
from auditor.waves.exports import audit_transitions
from reports import views
from reports.diff import diff_audits, load_audit

log = logging.getLogger(__name__)

REPORT_DIR = "report"
COMPANIES_CSV = "companies.csv"
ALT_COMPANIES_CSV = "companies-scored.csv"
SCORES_JSON = "scores.json"
COMPANY_COLUMNS = ("rank", "name", "website", "country", "industry", "availability",
                   "responsiveness", "total", "unknown_share")
STATIC_FILES = ("report.css", "report.js")
AVAILABILITY_PER_PAGE = 50  # companies per Availability page: a panel of thousands stays pages a browser opens quickly


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


def collect(
    store: Store, weights_path: Path | None = None, redact: bool = True,
    responsiveness: Mapping[str, Mapping[str, Any]] | None = None,
) -> views.Audit:
    """Read the store once and score every company."""
    weights = load_weights(weights_path)
    results = list(store.results())
    verdicts = {r.company.key: store.verdicts(r.company.key) for r in results}
    sightings = {r.company.key: store.sightings(r.company.key) for r in results}
    probes: dict[str, Mapping[str, Any]] = dict(responsiveness or {})
    reader = getattr(store, "responsiveness", None)  # a store that records live probes
    if callable(reader) and not probes:
        for r in results:
            found = reader(r.company.key)
            if found:
                probes[r.company.key] = found
    cards = [
        score_company(r, verdicts[r.company.key], weights, probes.get(r.company.key)) for r in results
    ]
    return views.Audit(
        results=results, verdicts=verdicts, sightings=sightings, ranked=rank(cards), weights=weights,
        run=store.run_info() or {}, input_errors=store.input_errors(), version=__version__,
        redact=redact, responsiveness=probes,
    )


def render_report(
    store: Store,
    out_dir: Path,
    *,
    redact: bool = True,
    compare: Path | None = None,
    weights_path: Path | None = None,
    responsiveness: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write ``out_dir/report/`` and the exports; return the index page's path.

    ``redact`` masks personal email addresses in the pages (not in the data
    exports, which hold the data as audited). ``compare`` is a previous audit
    directory for the changes page; ``responsiveness`` maps company keys to
    live-probe results (see :mod:`auditor.score`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    audit = collect(store, weights_path, redact, responsiveness)
    redactor = views.Redactor(redact, audit.personal_addresses())
    diff = None
    if compare is not None:
        diff = diff_audits(load_audit(compare), [(r, audit.verdicts[r.company.key]) for r in audit.results])

    engine = getattr(store, "engine", None)
    timeline = audit_transitions(engine) if engine is not None and len(finished_waves(engine)) > 1 else None
    availability = load_availability(engine, store, out) if timeline is not None and engine is not None else None

    env = _env()
    meta = views.page_meta(audit)
    nav = [("index.html", "Overview"), ("methodology.html", "Methodology")]
    if diff is not None:
        nav.append(("changes.html", "Changes"))
    if timeline is not None:
        nav.append(("timeline.html", "Timeline"))
    if availability is not None:
        nav.append(("availability.html", "Availability"))

    def page(template: str, path: str, title: str, current: str, **context: Any) -> tuple[str, str]:
        root = "../" if "/" in path else ""
        html = env.get_template(template).render(
            root=root, title=title, meta=meta, current=current, redacted=redact,
            nav=[{"href": root + href, "label": label, "current": href == current} for href, label in nav],
            **context,
        )
        return path, html

    csv_name = COMPANIES_CSV if _is_our_csv(out / COMPANIES_CSV) else ALT_COMPANIES_CSV
    panel = views.build_panel(availability.figures, redactor) if availability is not None else None
    pages = [page("index.html", "index.html", "Overview", "index.html", view=views.build_index(audit),
                  companies_csv=csv_name, panel=panel)]
    for result in audit.results:
        view = views.build_company(audit, result, redactor)
        pages.append(page("company.html", f"companies/{views.slug_for(result)}.html", result.company.name,
                          "", view=view))
    pages.append(page("methodology.html", "methodology.html", "Methodology", "methodology.html",
                      view=views.build_methodology(audit)))
    if diff is not None:
        pages.append(page("changes.html", "changes.html", "Changes", "changes.html",
                          view=views.build_diff(diff, Path(compare).name if compare else "", redactor)))
    if timeline is not None:
        pages.append(page("timeline.html", "timeline.html", "Timeline", "timeline.html",
                          view=views.build_timeline(timeline, audit, redactor),
                          panel=panel))
    if availability is not None:
        view = views.build_availability(availability, audit, redactor)
        for path, part in availability_pages(view, AVAILABILITY_PER_PAGE):
            pages.append(page("availability.html", path, "Availability", "availability.html", view=part))

    target = _write_site(out, pages)
    write_exports(store, out, audit, csv_name)
    return target / "index.html"


def availability_pages(view: dict[str, Any], per_page: int) -> list[tuple[str, dict[str, Any]]]:
    """The Availability view split into pages of ``per_page`` companies (in input order), each with a pager."""
    companies = view["companies"]
    chunks = [companies[i:i + per_page] for i in range(0, len(companies), per_page)] or [[]]
    paths = ["availability.html"] + [f"availability-{n}.html" for n in range(2, len(chunks) + 1)]
    pager = [{"href": path, "label": f"{i * per_page + 1}–{i * per_page + len(chunk)}"}
             for i, (path, chunk) in enumerate(zip(paths, chunks, strict=True))] if len(chunks) > 1 else []
    return [(path, {**view, "companies": chunk, "total": len(companies),
                    "pager": [{**item, "current": item["href"] == path} for item in pager]})
            for path, chunk in zip(paths, chunks, strict=True)]


STALE_SECONDS = 3600  # a temp dir this old belongs to a run that was killed, not to one still writing


def _clean_leftovers(out: Path, now: float | None = None) -> None:
    """Tidy what a run killed in mid-swap left: its previous report put back if none is in place,
    and its temp dirs removed once they are old enough that no running writer can own them."""
    target = out / REPORT_DIR
    now = time.time() if now is None else now
    for leftover in sorted(out.glob(f".{REPORT_DIR}-*"), key=lambda p: p.stat().st_mtime, reverse=True):
        if not leftover.is_dir():
            continue
        stale = now - leftover.stat().st_mtime > STALE_SECONDS  # before the move below touches it
        saved = leftover / REPORT_DIR
        if not target.exists() and saved.is_dir():
            os.replace(saved, target)
        if stale:
            shutil.rmtree(leftover, ignore_errors=True)


def _write_site(out: Path, pages: list[tuple[str, str]]) -> Path:
    """Write every page and the static files into a temp dir, then swap it in."""
    target = out / REPORT_DIR
    _clean_leftovers(out)
    tmp = Path(tempfile.mkdtemp(dir=out, prefix=f".{REPORT_DIR}-"))
    try:
        for rel, html in pages:
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(html, encoding="utf-8")
        static = tmp / "static"
        static.mkdir()
        source = resources.files("reports").joinpath("static")
        for name in STATIC_FILES:
            (static / name).write_bytes(source.joinpath(name).read_bytes())
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a report is meant to be read
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(dir=out, prefix=f".{REPORT_DIR}-old-"))
            os.replace(target, old / REPORT_DIR)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _is_our_csv(path: Path) -> bool:
    """True when ``path`` is missing or a companies.csv we wrote (not the user's input)."""
    if not path.exists():
        return True
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        return fh.readline().strip().startswith(",".join(COMPANY_COLUMNS[:2]))


def write_exports(store: Store, out: Path, audit: views.Audit, csv_name: str = COMPANIES_CSV) -> None:
    """companies.csv and scores.json beside the report; results.json/contacts.csv if missing.

    When ``companies.csv`` in the directory is an input list (``auditor demo``
    writes its companies there), it is left alone and the ranking goes to
    ``companies-scored.csv``.
    """
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(COMPANY_COLUMNS)
    for rk in audit.ranked:
        c = rk.card
        writer.writerow([
            rk.rank or "", c.company.name, c.company.website, c.company.country or "",
            c.company.industry or "", _csv_num(c.availability), _csv_num(c.responsiveness),
            _csv_num(c.total), "" if c.unknown_share is None else f"{c.unknown_share:.3f}",
        ])
    if csv_name != COMPANIES_CSV:
        log.warning("%s is an input list, not a report export; the ranking goes to %s",
                    out / COMPANIES_CSV, out / csv_name)
    atomic_write(out / csv_name, buf.getvalue())
    doc = {
        "tool": {"name": "contact-auditor", "version": audit.version},
        "run": {"id": audit.run.get("id"), "started": audit.run.get("started"),
                "finished": audit.run.get("finished")},
        "weights": audit.weights.source,
        "companies": [
            {**rk.card.to_dict(), "rank": rk.rank, "industry_rank": rk.industry_rank,
             "country_rank": rk.country_rank}
            for rk in audit.ranked
        ],
    }
    atomic_write(out / SCORES_JSON, json.dumps(doc, ensure_ascii=False, indent=1, default=str))
    if not (out / "results.json").exists() or not (out / "contacts.csv").exists():
        export(store, out)


def _csv_num(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
