"""``history.csv`` and ``transitions.csv``: the waves of an audit as data (written once it has two waves)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from auditor.store import waves as store_waves
from auditor.waves.transitions import Transition, transitions

HISTORY_COLUMNS = ("wave", "time", "company", "kind", "value", "verdict", "reason")
TRANSITION_COLUMNS = ("wave_from", "wave_to", "company", "kind", "value", "change", "verdict_from", "verdict_to",
                      "reason_from", "reason_to")


def audit_transitions(engine: Engine) -> list[Transition]:
    """Every transition between the audit's consecutive finished waves."""
    return transitions(store_waves.history(engine), store_waves.wave_companies_rows(engine))


def _csv(header: tuple[str, ...], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(header)
    out.writerows(rows)
    return buf.getvalue()


def write_history(engine: Engine, out_dir: Path, write: Callable[[Path, str], None]) -> bool:
    """Write both files through ``write`` (atomic) when the audit has two finished waves or more."""
    if len(store_waves.finished_waves(engine)) < 2:
        return False
    history = [[r["wave"], datetime.fromtimestamp(r["time"], UTC).isoformat(timespec="seconds"), r["company"],
                r["kind"], r["value"], r["verdict"] or "", r["reason"] or ""] for r in store_waves.history(engine)]
    write(out_dir / "history.csv", _csv(HISTORY_COLUMNS, history))
    changes = [[t.wave_from, t.wave_to, t.company, t.kind, t.value, t.change, t.verdict_from or "",
                t.verdict_to or "", t.reason_from or "", t.reason_to or ""] for t in audit_transitions(engine)]
    write(out_dir / "transitions.csv", _csv(TRANSITION_COLUMNS, changes))
    return True
