"""Channel checks in the store: each chat, messaging and form check with its time and operator state.

Written once per check (the key is company, kind, value and the check's start
time, so recording the same verdicts again adds nothing) and read by the
availability grids and the 24/7 claim alerts. Audits made before the table
existed kept these in ``DIR/check-ledger.jsonl``: :meth:`ChannelChecks.adopt_ledger`
imports such a file once and renames it, so its checks count from then on
wherever the store is (a shared PostgreSQL store included).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from auditor.store.engine import upsert, writer
from auditor.store.schema import channel_checks as table

log = logging.getLogger(__name__)

CHECK_LEDGER = "check-ledger.jsonl"  # where audits made before the table kept their checks


def read_ledger(path: Path) -> list[dict[str, Any]]:
    """A check ledger file's entries (a torn or foreign line is skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            if isinstance(entry, dict) and {"company", "kind", "value", "at"} <= entry.keys():
                entry["at"] = float(entry["at"])
                out.append(entry)
        except (ValueError, TypeError):
            continue
    return out


class ChannelChecks:
    """The ``channel_checks`` table of an audit's store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def entries(self) -> list[dict[str, Any]]:
        """Every check, oldest first, as entries (company, kind, value, at, verdict, reason, operator)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.at, table.c.company_key, table.c.kind,
                                                       table.c.value))
            return [{"company": r.company_key, "kind": r.kind, "value": r.value, "at": float(r.at),
                     "verdict": r.verdict, "reason": r.reason, "operator": r.operator} for r in rows]

    def add(self, entries: Iterable[Mapping[str, Any]]) -> int:
        """Record the checks not recorded yet; how many were new."""
        rows = [{"company_key": str(e["company"]), "kind": str(e["kind"]), "value": str(e["value"]),
                 "at": float(e["at"]), "verdict": e.get("verdict"), "reason": e.get("reason"),
                 "operator": e.get("operator")} for e in entries]
        if not rows:
            return 0
        added = 0
        with writer(self.engine).begin() as conn:
            for row in rows:
                # RETURNING, not rowcount: through psycopg, rowcount read 0 for a row this statement inserted
                added += len(conn.execute(upsert(conn, table).values(**row).on_conflict_do_nothing()
                                          .returning(table.c.at)).all())
        return added

    def adopt_ledger(self, out_dir: Path) -> int:
        """Import ``out_dir``'s check ledger of an older audit, then rename it (imported once); how many were new."""
        path = out_dir / CHECK_LEDGER
        if not path.exists():
            return 0
        added = self.add(read_ledger(path))
        try:
            path.replace(path.with_name(path.name + ".imported"))
        except FileNotFoundError:  # another command imported it at the same moment
            pass
        log.info("store: %d check(s) of %s imported into the store (kept as %s.imported)", added, path, path.name)
        return added
