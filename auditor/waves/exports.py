"""``history.csv`` and ``transitions.csv``: the waves of an audit as data (written once it has two waves)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from auditor.store import waves as store_waves
from auditor.waves.transitions import Transition, wave_transitions

HISTORY_COLUMNS = ("wave", "time", "company", "kind", "value", "verdict", "reason")
TRANSITION_COLUMNS = ("wave_from", "wave_to", "company", "kind", "value", "change", "verdict_from", "verdict_to",
                      "reason_from", "reason_to")


def audit_transitions(engine: Engine) -> list[Transition]:
    """Every transition between the audit's consecutive finished waves, read a wave at a time."""
    return list(wave_transitions((w.number, points, companies)
                                 for w, points, companies in store_waves.wave_by_wave(engine)))


def write_history(engine: Engine, out_dir: Path, write: Callable[[Path, str], None]) -> bool:
    """Write both files through ``write`` (atomic) when the audit has two finished waves or more.

    One pass over the waves, one wave in memory at a time: each wave's rows go
    to ``history.csv`` as the transitions are computed from them.
    """
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
    return True
