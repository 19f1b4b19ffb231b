"""Where availability's observations come from: the store (verdicts, waves, channel checks) and the line probe's ledger.

The I/O beside the pure :mod:`auditor.waves.availability` and :mod:`auditor.waves.panel`.

The store keeps each wave's verdict and reason per contact point, not the
checks behind them, so two things would be lost when the next wave replaces
the verdicts: the moment a chat, messaging or form check ran, and what a chat
provider said about its operators. The store's ``channel_checks`` table keeps
them (:mod:`auditor.store.checks`): each export records every such check not
recorded yet (company, kind, value, the check's start time, verdict, reason,
operator state), in the audit's store wherever it is, a shared PostgreSQL
store included; an older audit's ``DIR/check-ledger.jsonl`` is imported on
first read. Lines come from the line probe's own ledger, which holds every
call with its local time. A wave without recorded checks (made before they
were recorded) still counts with its stored verdicts, timed at the wave's start.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from auditor import reasons
from auditor.store import Store
from auditor.store import waves as store_waves
from auditor.store.checks import ChannelChecks
from auditor.waves.availability import (
    ChannelGrid,
    Hours,
    Observation,
    assign_wave,
    build_grids,
    channel_hours,
    company_zone,
    line_observations,
    link_outcome,
    merge_chat,
    operator_outcome,
)
from auditor.waves.panel import CompanyInfo, Figure, Inquiry, panel_figures

log = logging.getLogger(__name__)

LINK_KINDS = ("chat", "messaging", "form")
Key = tuple[str, str, str]


def _operator_state(verdict: Mapping[str, Any]) -> str | None:
    for check in verdict.get("checks") or ():
        if check.get("name") == "operator-status":
            return str(check.get("reason") or "").removeprefix("operator-") or None
    return None


def _checks(store: Store, out_dir: Path) -> ChannelChecks:
    """The store's channel checks, an older audit's check ledger in ``out_dir`` imported first."""
    checks = ChannelChecks(store.engine)  # type: ignore[attr-defined]
    checks.adopt_ledger(out_dir)
    return checks


def record_checks(store: Store, out_dir: Path, now: Callable[[], float] = time.time) -> int:
    """Record the current verdicts' chat, messaging and form checks in the store; how many were new."""
    entries: list[dict[str, Any]] = []
    for result in store.results():
        if not any(cp.kind in LINK_KINDS for cp in result.contacts):
            continue
        for (kind, value), verdict in store.verdicts(result.company.key).items():
            if kind not in LINK_KINDS:
                continue
            data = verdict.to_dict()
            starts = [float(c["started_at"]) for c in data["checks"] if c.get("started_at")]
            at = round(min(starts), 3) if starts else round(now(), 3)
            entries.append({"company": result.company.key, "kind": kind, "value": value, "at": at,
                            "verdict": verdict.verdict, "reason": verdict.reason,
                            "operator": _operator_state(data)})
    return _checks(store, out_dir).add(entries)


def read_checks(store: Store, out_dir: Path) -> list[dict[str, Any]]:
    """Every recorded chat, messaging and form check (company, kind, value, at, verdict, reason, operator)."""
    return _checks(store, out_dir).entries()


def read_line_ledger(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        log.warning("%s is not readable JSON; its calls are left out of availability", path)
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class Availability:
    """Everything the availability grids, the panel figures and their exports need, read once."""

    grids: list[ChannelGrid]
    figures: list[Figure]
    companies: dict[str, CompanyInfo]
    waves: list[int]  # finished waves


def ledger_observations(entries: list[dict[str, Any]], zones: Mapping[str, ZoneInfo],
                        starts: list[tuple[int, float]]) -> list[Observation]:
    """The channel checks' ledger as observations, each in its wave (for the grids and the alerts)."""
    out: list[Observation] = []
    for e in entries:
        key, kind, value = str(e["company"]), str(e["kind"]), str(e["value"])
        at = datetime.fromtimestamp(e["at"], zones.get(key) or ZoneInfo("UTC"))
        wave = assign_wave(e["at"], starts)
        out.append(Observation(key, kind, value, at, link_outcome(e.get("verdict")), "link",
                               str(e.get("reason") or ""), wave))
        if kind == "chat" and e.get("operator"):
            state = str(e["operator"])
            out.append(Observation(key, kind, value, at, operator_outcome(state), "operator-status",
                                   f"operator-{state}", wave))
    return out


def load_availability(engine: Engine, store: Store, out_dir: Path, line_ledger: Path | None = None) -> Availability:
    """Read the store and both ledgers; build every channel's grid and the panel figures."""
    if line_ledger is None:
        from auditor.pipeline import LEDGER_FILE  # the probe's file name is the pipeline's to say

        line_ledger = out_dir / LEDGER_FILE
    rows = store_waves.list_waves(engine)
    starts = [(w.number, w.started) for w in rows]
    finished = {w.number for w in rows if w.status == "finished"}
    history = store_waves.history(engine)
    companies: dict[str, CompanyInfo] = {}
    zones: dict[str, ZoneInfo] = {}
    hours_points: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
    for result in store.results():
        c = result.company
        companies[c.key] = CompanyInfo(c.name, c.industry, c.country)
        phones = [cp.value for cp in result.contacts if cp.kind == "phone"]
        zones[c.key] = company_zone(c.country, phones)
        hours_points[c.key] = [(cp.value, cp.details) for cp in result.contacts if cp.kind == "hours"]
    for r in history:  # companies no longer in the list keep their name
        companies.setdefault(r["company_key"], CompanyInfo(str(r["company"])))

    owners: dict[str, list[str]] = {}
    for r in history:
        if r["kind"] == "phone" and r["company_key"] not in owners.get(r["value"], []):
            owners.setdefault(r["value"], []).append(r["company_key"])
    if not history:  # one audit, no wave yet: the store's current points
        for result in store.results():
            for cp in result.contacts:
                if cp.kind == "phone" and result.company.key not in owners.get(cp.value, []):
                    owners.setdefault(cp.value, []).append(result.company.key)
    observations = line_observations(read_line_ledger(line_ledger), owners, starts, zones)
    ledgered = ledger_observations(read_checks(store, out_dir), zones, starts)
    covered = {(o.wave, o.company_key, o.kind, o.value) for o in ledgered}
    started = dict(starts)
    for r in history:  # waves without recorded checks: the stored verdict at the wave's start
        if r["kind"] in LINK_KINDS and r.get("verdict") and \
                (int(r["wave"]), r["company_key"], r["kind"], r["value"]) not in covered:
            zone = zones.get(r["company_key"]) or ZoneInfo("UTC")
            at = datetime.fromtimestamp(started.get(int(r["wave"]), float(r["time"])), zone)
            ledgered.append(Observation(r["company_key"], r["kind"], r["value"], at, link_outcome(r["verdict"]),
                                        "link", str(r.get("reason") or ""), int(r["wave"])))
    observations = merge_chat(observations + ledgered)
    if starts:  # a ledger line older than wave 1 belongs to an earlier audit made in the same folder
        observations = [o for o in observations if o.at.timestamp() >= starts[0][1]]

    keys: set[Key] = {(o.company_key, o.kind, o.value) for o in observations}
    hours: dict[Key, Hours | None] = {k: channel_hours(hours_points.get(k[0], []), k[2]) for k in keys}
    channel_zones = {k: str(zones[k[0]]) for k in keys if k[0] in zones and k[1] != "phone"}
    grids = build_grids(observations, channel_zones, hours)
    figures = panel_figures(starts, history, observations, hours, companies, _inquiries(store),
                            finished=lambda n: n in finished)
    return Availability(grids, figures, companies, sorted(finished))


def _inquiries(store: Store) -> list[Inquiry]:
    """Sent mystery-shopper inquiries with their outcome, when the probe ran (else none)."""
    from auditor.probes.inquiries.store import SENT, InquiryStore, parse_iso

    try:
        tables = InquiryStore.of(store, create=False)
        if not tables.exists():
            return []
        rows = tables.sent_inquiries(SENT)
    except Exception:  # noqa: BLE001 - a probe table problem must not block the exports
        log.exception("could not read the mystery-shopper inquiries")
        return []
    out = []
    for r in rows:
        sent = parse_iso(r.get("sent_at"))
        if sent is None:
            continue
        status = str(r.get("status") or "")
        if status == reasons.PENDING and r.get("final"):
            status = reasons.NO_REPLY
        out.append(Inquiry(str(r["company_key"]), sent, status, parse_iso(r.get("first_human_at"))))
    return out

