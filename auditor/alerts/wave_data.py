"""What the score and claim alerts read of a wave: its stored points scored again, its 24/7 checks.

Per-wave scores are not stored, so a wave's are computed from what it kept
(``wave_companies``, ``wave_points``: kind, value, verdict, reason) with the
pure scorer; both waves of a comparison are scored from the same kind of rows,
so a drop is a change on the sites, not in what the store keeps. A 24/7
claim's checks are availability's observations of the latest wave only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from auditor.models import Company, CompanyResult, ContactPoint, Verdict
from auditor.score import Weights, score_company
from auditor.store import Store
from auditor.store import waves as store_waves
from auditor.store.schema import wave_companies, wave_points
from auditor.waves.availability import (
    ChannelGrid,
    Observation,
    build_grids,
    company_zone,
    line_observations,
    link_outcome,
    merge_chat,
)
from auditor.waves.availability_data import (
    LINK_KINDS,
    ledger_observations,
    load_availability,
    read_checks,
    read_line_ledger,
)


def wave_scores(engine: Engine, number: int, companies: Mapping[str, Company],
                weights: Weights | None = None) -> dict[str, tuple[str, float | None]]:
    """Company key -> (name, total score) for wave ``number``, scored from its stored rows."""
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(wave_companies).where(wave_companies.c.wave == number))]
        points = [dict(r._mapping) for r in conn.execute(select(wave_points).where(wave_points.c.wave == number))]
    return rows_scores(rows, points, companies, weights)


def rows_scores(rows: Iterable[Mapping[str, Any]], points: Iterable[Mapping[str, Any]],
                companies: Mapping[str, Company], weights: Weights | None = None) -> (
        dict[str, tuple[str, float | None]]):
    """Company key -> (name, total score) from rows shaped as a wave keeps them (pure).

    ``rows``: company_key, name, status; ``points``: company_key, kind, value,
    page_url, verdict, reason. A wave's scores and ``auditor check``'s against
    its baseline both come from here, so both sides of a comparison are scored alike.
    """
    by_company: dict[str, list[ContactPoint]] = {}
    verdicts: dict[str, dict[tuple[str, str], Verdict]] = {}
    for p in points:
        by_company.setdefault(p["company_key"], []).append(
            ContactPoint(p["kind"], p["value"], p["value"], None, "text", str(p.get("page_url") or "")))
        if p.get("verdict"):
            verdicts.setdefault(p["company_key"], {})[(p["kind"], p["value"])] = Verdict(
                p["kind"], p["value"], p["verdict"], p.get("reason") or "")
    out: dict[str, tuple[str, float | None]] = {}
    for r in rows:
        key = str(r["company_key"])
        known = companies.get(key)
        row, _, website = key.partition(":")
        company = known or Company(int(row) if row.isdigit() else 0, r["name"], website)
        result = CompanyResult(company, contacts=tuple(by_company.get(key, ())), status=r["status"])
        out[key] = (r["name"], score_company(result, verdicts.get(key, {}), weights).total)
    return out


def wave_claim_grids(engine: Engine, store: Store, out_dir: Path, number: int) -> list[ChannelGrid]:
    """The grids of the channels claiming 24/7, built from wave ``number``'s checks alone.

    Availability's grids hold every wave's checks; their hours and zones are
    kept, and the observations (line ledger, the store's channel checks, the stored
    verdicts of a wave without recorded checks) are read again for this wave.
    """
    from auditor.pipeline import LEDGER_FILE  # the probe's file name is the pipeline's to say

    claimed = {(g.company_key, g.kind, g.value): g for g in load_availability(engine, store, out_dir).grids
               if g.claims_24_7}
    if not claimed:
        return []
    starts = [(w.number, w.started) for w in store_waves.list_waves(engine)]
    zones = {r.company.key: company_zone(r.company.country, [cp.value for cp in r.contacts if cp.kind == "phone"])
             for r in store.results()}
    owners: dict[str, list[str]] = {}
    for key, kind, value in claimed:
        if kind == "phone":
            owners.setdefault(value, []).append(key)
    observations = line_observations(read_line_ledger(out_dir / LEDGER_FILE), owners, starts, zones)
    ledgered = ledger_observations(read_checks(store, out_dir), zones, starts)
    covered = {(o.company_key, o.kind, o.value) for o in ledgered if o.wave == number}
    started = dict(starts).get(number)
    for r in store_waves.history(engine):
        point = (r["company_key"], r["kind"], r["value"])
        if int(r["wave"]) == number and point in claimed and r["kind"] in LINK_KINDS and r.get("verdict") \
                and point not in covered:
            at = datetime.fromtimestamp(started or float(r["time"]), zones.get(point[0]) or ZoneInfo("UTC"))
            ledgered.append(Observation(*point, at, link_outcome(r["verdict"]), "link", str(r.get("reason") or ""),
                                        number))
    mine = [o for o in merge_chat(observations + ledgered)
            if o.wave == number and (o.company_key, o.kind, o.value) in claimed]
    return build_grids(mine, {k: g.zone for k, g in claimed.items() if k[1] != "phone"},
                       {k: g.hours for k, g in claimed.items()})
