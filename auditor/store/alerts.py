"""Alert deliveries in the store: one row per (event, destination), written before and after each attempt.

A delivery is marked ``sending`` before its attempt and ``delivered`` or
``failed`` after it, each in its own transaction: a notifier that crashed in
between leaves ``sending``, which a later run turns into ``unknown`` and never
sends again (the alert may have arrived). ``failed`` ones are retried.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, select, update

from auditor.store.engine import upsert, writer
from auditor.store.schema import alert_deliveries as table


class AlertDeliveries:
    """The ``alert_deliveries`` table of an audit's store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, event: str, destination: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.event == event,
                                                   table.c.destination == destination)).first()
        return dict(row._mapping) if row else None

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.event,
                                                                                   table.c.destination))]

    def failed_events(self) -> set[str]:
        """Events with a delivery that failed (to be retried)."""
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(select(table.c.event).where(table.c.status == "failed"))}

    def begin(self, event: str, destination: str, alerts: int) -> None:
        """Record an attempt as under way (``sending``) before it is made."""
        now = time.time()
        with writer(self.engine).begin() as conn:
            stmt = upsert(conn, table).values(event=event, destination=destination, status="sending", attempts=1,
                                              alerts=alerts, first_attempt=now, last_attempt=now)
            conn.execute(stmt.on_conflict_do_update(
                index_elements=[table.c.event, table.c.destination],
                set_={"status": "sending", "attempts": table.c.attempts + 1, "alerts": alerts,
                      "last_attempt": now}))

    def delivered(self, event: str, destination: str) -> None:
        self._set(event, destination, status="delivered", delivered=time.time(), error_tag=None, error=None)

    def failed(self, event: str, destination: str, tag: str, message: str) -> None:
        self._set(event, destination, status="failed", error_tag=tag, error=message[:500])

    def unknown(self, event: str, destination: str, tag: str, message: str) -> None:
        self._set(event, destination, status="unknown", error_tag=tag, error=message[:500])

    def _set(self, event: str, destination: str, **values: Any) -> None:
        with writer(self.engine).begin() as conn:
            conn.execute(update(table).where(table.c.event == event, table.c.destination == destination)
                         .values(**values))
