"""A check against a baseline: one site's contact points now, compared with an earlier audit or wave.

``auditor check URL --baseline DIR`` (or ``DIR@N`` for wave N of DIR) takes
the baseline's rows for the same site and the check's own, and runs the same
transition rules the waves use; what got worse (a contact point died or went,
the site went down, a new one is inactive) is a new failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor import reasons
from auditor.alerts import rules
from auditor.alerts.changes import alert_kind
from auditor.alerts.rules import ClaimChannel, WaveAlert
from auditor.alerts.wave_data import rows_scores
from auditor.config import ConfigError
from auditor.harvest.inputs import normalize_website
from auditor.models import Company
from auditor.net.domains import registrable_domain
from auditor.score import Weights
from auditor.store import Store, open_store
from auditor.store import waves as store_waves
from auditor.waves.availability_data import load_availability
from auditor.waves.transitions import Transition, transitions

FAILURES = ("contact-died", "contact-gone", "site-down")
_SITE = "site"  # both sides' one company, under one key


@dataclass(frozen=True)
class Baseline:
    """The baseline's rows for one site: where they came from, its company row and contact-point rows."""

    label: str
    company: dict[str, Any]
    points: list[dict[str, Any]]


def parse_ref(ref: str) -> tuple[Path, int | None]:
    """``DIR`` or ``DIR@N``."""
    path, at, wave = ref.rpartition("@")
    if at and wave.isdigit() and path:
        return Path(path), int(wave)
    return Path(ref), None


def _site(url: str) -> str:
    website = normalize_website(url) or url
    host = website.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    return registrable_domain(host) or host


def current_rows(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The store's latest state as (company rows, point rows), the shape of wave history."""
    companies, points = [], []
    for result in store.results():
        c = result.company
        companies.append({"company_key": c.key, "name": c.name, "status": result.status})
        verdicts = store.verdicts(c.key)
        for cp in result.contacts:
            v = verdicts.get((cp.kind, cp.value))
            points.append({"company_key": c.key, "kind": cp.kind, "value": cp.value, "page_url": cp.page_url,
                           "verdict": v.verdict if v else None, "reason": v.reason if v else None})
    return companies, points


def _website(company_key: str) -> str:
    """A company key is ``row:website``."""
    return company_key.split(":", 1)[1] if ":" in company_key else company_key


def load_baseline(ref: str, url: str) -> Baseline:
    """The rows of ``url``'s site in the baseline ``ref``; ConfigError when it has none."""
    path, wave = parse_ref(ref)
    if not (path / "audit.sqlite").exists():
        raise ConfigError(f"--baseline {ref}: no audit in {path}")
    store = open_store(path)
    engine = store.engine  # type: ignore[attr-defined]
    try:
        finished = [w.number for w in store_waves.finished_waves(engine)]
        if wave is not None:
            if wave not in finished:
                raise ConfigError(f"--baseline {ref}: wave {wave} is not a finished wave of {path} "
                                  f"(finished: {', '.join(map(str, finished)) or 'none'})")
            companies = [dict(r) for r in store_waves.wave_companies_rows(engine) if r["wave"] == wave]
            points = [dict(r) for r in store_waves.history(engine) if r["wave"] == wave]
            label = f"{path}@{wave}"
        else:
            companies, points = current_rows(store)
            label = str(path)
    finally:
        store.close()
    site = _site(url)
    match = [c for c in companies if _site(_website(str(c["company_key"]))) == site]
    if not match:
        raise ConfigError(f"--baseline {ref}: no company of {label} has the site {site}")
    company = match[0]
    return Baseline(label, company, [p for p in points if p["company_key"] == company["company_key"]])


def _as_wave(number: int, company: Mapping[str, Any], points: Iterable[Mapping[str, Any]]) -> tuple[
        dict[str, Any], list[dict[str, Any]]]:
    row = {"wave": number, "company_key": _SITE, "name": company["name"], "status": company["status"]}
    return row, [{**p, "wave": number, "company_key": _SITE} for p in points]


def compare(baseline: Baseline, now_company: Mapping[str, Any], now_points: Iterable[Mapping[str, Any]]) -> (
        list[tuple[str, Transition]]):
    """Every change from the baseline to now, with its alert kind (pure)."""
    a, pa = _as_wave(1, baseline.company, baseline.points)
    b, pb = _as_wave(2, now_company, now_points)
    return [(alert_kind(t), t) for t in transitions([*pa, *pb], [a, b])]


def new_failures(changes: Iterable[tuple[str, Transition]]) -> list[tuple[str, Transition]]:
    """What got worse: a contact point died or went, the site went down, a new contact point is inactive."""
    return [(k, t) for k, t in changes
            if k in FAILURES or (k == "contact-new" and t.verdict_to == "inactive")]


def rule_alerts(baseline: Baseline, now_company: Mapping[str, Any], now_points: Iterable[Mapping[str, Any]],
                claims: Iterable[ClaimChannel], kinds: Iterable[str], score_drop: float,
                company: Company | None = None, weights: Weights | None = None) -> list[WaveAlert]:
    """The check's score drop against the baseline and its failed 24/7 claims, by the waves' rules (pure).

    Both sides are scored from the same kind of rows (see
    :func:`auditor.alerts.wave_data.rows_scores`) with the check's company and
    weights, so a drop is a change on the site. ``claims``: the check's own
    channel grids (its calls and chat checks); the baseline is wave 1, the check wave 2.
    """
    wanted = set(kinds)
    out: list[WaveAlert] = []
    if reasons.SCORE_DROP in wanted:
        a, pa = _as_wave(1, baseline.company, baseline.points)
        b, pb = _as_wave(2, now_company, now_points)
        known = {_SITE: company} if company is not None else {}
        out += rules.score_drops(rows_scores([a], pa, known, weights), rows_scores([b], pb, known, weights),
                                 score_drop, 1, 2)
    if reasons.CLAIM_24_7_FAILED in wanted:
        name = str(now_company["name"])
        out += rules.claim_failures(claims, {str(now_company["company_key"]): name}, 1, 2)
    return out


def claim_channels(store: Store, out_dir: Path) -> list[Any]:
    """The channels of the audit in ``out_dir`` whose page claims 24/7, with this audit's checks (the I/O)."""
    return [g for g in load_availability(store.engine, store, out_dir).grids  # type: ignore[attr-defined]
            if g.claims_24_7]
