"""The waves of an audit as data, written once it has two finished waves.

``history.csv`` (one row per contact point per wave), ``transitions.csv`` (what
changed between waves), ``availability.csv`` (every channel's checks by hour of
week, beside its published hours) and ``panel.csv`` (the panel figures per wave,
industry and country). Every export also records the current chat, messaging and
form checks in the store's channel checks, so that the next wave does not erase when they
ran and what the chat provider said (see :mod:`auditor.waves.availability_data`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from auditor.store import Store
from auditor.store import waves as store_waves
from auditor.waves.availability import DAYS_SHORT, ChannelGrid
from auditor.waves.availability_data import Availability, load_availability, record_checks
from auditor.waves.transitions import Transition, wave_transitions

HISTORY_COLUMNS = ("wave", "time", "company", "kind", "value", "verdict", "reason")
TRANSITION_COLUMNS = ("wave_from", "wave_to", "company", "kind", "value", "change", "verdict_from", "verdict_to",
                      "reason_from", "reason_to")
AVAILABILITY_COLUMNS = ("company", "country", "industry", "kind", "value", "zone", "published_hours",
                        "claims_24_7", "claim", "day", "hour", "published", "checks", "up", "down", "no_answer",
                        "unknown")
PANEL_COLUMNS = ("wave", "scope", "group", "metric", "numerator", "denominator", "value")


def audit_transitions(engine: Engine) -> list[Transition]:
    """Every transition between the audit's consecutive finished waves, read a wave at a time."""
    return list(wave_transitions((w.number, points, companies)
                                 for w, points, companies in store_waves.wave_by_wave(engine)))


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}".rstrip("0").rstrip(".")


def availability_rows(data: Availability) -> list[list[Any]]:
    """One row per channel and hour of week in which it was checked (cells never checked are left out)."""
    rows: list[list[Any]] = []
    for grid in data.grids:
        info = data.companies.get(grid.company_key)
        published = grid.hours.text if grid.hours else ""
        for (day, hour), cell in sorted(grid.cells.items()):
            rows.append([
                info.name if info else grid.company_key, (info.country if info else "") or "",
                (info.industry if info else "") or "", grid.kind, grid.value, grid.zone, published,
                "yes" if grid.claims_24_7 else "no", grid.claim, DAYS_SHORT[day], hour,
                _published(grid, day, hour), sum(cell.values()), cell["up"], cell["down"], cell["no-answer"],
                cell["unknown"]])
    return rows


def _published(grid: ChannelGrid, day: int, hour: int) -> str:
    if grid.hours is None:
        return ""
    return "open" if grid.hours.open_hour(day, hour) else "closed"


def panel_rows(data: Availability) -> list[list[Any]]:
    return [["" if f.wave is None else f.wave, f.scope, f.group, f.metric, f.numerator, f.denominator,
             _num(f.value)] for f in data.figures]


def _csv(header: tuple[str, ...], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(header)
    out.writerows(rows)
    return buf.getvalue()


def write_history(engine: Engine, out_dir: Path, write: Callable[[Path, str], None],
                  store: Store | None = None) -> bool:
    """Write the waves' files through ``write`` (atomic) when the audit has two finished waves or more.

    With ``store``, the current checks are recorded in the store's channel checks first
    (on every export, whatever the number of waves). One pass over the waves,
    one wave in memory at a time: each wave's rows go to ``history.csv`` as
    the transitions are computed from them.
    """
    if store is not None:
        record_checks(store, out_dir)
    if len(store_waves.finished_waves(engine)) < 2:
        return False
    history, changes = io.StringIO(), io.StringIO()
    history_csv, changes_csv = csv.writer(history), csv.writer(changes)
    history_csv.writerow(HISTORY_COLUMNS)
    changes_csv.writerow(TRANSITION_COLUMNS)

    def waves() -> Iterator[tuple[int, list[dict[str, Any]], list[dict[str, Any]]]]:
        for wave, points, companies in store_waves.wave_by_wave(engine):
            time = datetime.fromtimestamp(wave.started, UTC).isoformat(timespec="seconds")
            history_csv.writerows([r["wave"], time, r["company"], r["kind"], r["value"], r["verdict"] or "",
                                   r["reason"] or ""] for r in points)
            yield wave.number, points, companies

    changes_csv.writerows([t.wave_from, t.wave_to, t.company, t.kind, t.value, t.change, t.verdict_from or "",
                           t.verdict_to or "", t.reason_from or "", t.reason_to or ""]
                          for t in wave_transitions(waves()))
    write(out_dir / "history.csv", history.getvalue())
    write(out_dir / "transitions.csv", changes.getvalue())
    if store is not None:
        data = load_availability(engine, store, out_dir)
        write(out_dir / "availability.csv", _csv(AVAILABILITY_COLUMNS, availability_rows(data)))
        write(out_dir / "panel.csv", _csv(PANEL_COLUMNS, panel_rows(data)))
    return True
