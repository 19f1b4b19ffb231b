"""Waves in the store: start one (refusing while another runs), keep it alive, copy what it found.

The audit tables hold the latest wave, so every read the report and the exports
make is unchanged; a finished wave's companies and contact points (with their
verdicts) are copied into ``wave_companies`` and ``wave_points`` and never
touched again. A running wave is a row with status ``running``, the host and
pid of its process and a heartbeat: it survives a crash, and a wave whose
process is gone (same host, pid dead) or whose heartbeat stopped is reported
as stale instead of being overridden silently.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, literal, select, update

from auditor.store.engine import writer
from auditor.store.schema import (
    PER_COMPANY,
    companies,
    contact_points,
    runs,
    verdicts,
    wave_companies,
    wave_points,
    waves,
)
from auditor.store.types import INT

HEARTBEAT_SECONDS = 30.0  # how often a running wave says it is alive
STALE_AFTER = 4 * HEARTBEAT_SECONDS  # silence after which another host's wave counts as dead


@dataclass(frozen=True)
class WaveRow:
    """One wave as stored."""

    number: int
    started: float
    finished: float | None
    settings: dict[str, Any]
    status: str
    host: str | None
    pid: int | None
    heartbeat: float | None


class WaveBusy(RuntimeError):
    """A wave of this audit is running (``stale``: its process looks dead)."""

    def __init__(self, wave: WaveRow, stale: bool) -> None:
        self.wave, self.stale = wave, stale
        state = "looks dead (stale)" if stale else "is still running"
        super().__init__(f"wave {wave.number} (host {wave.host}, pid {wave.pid}) {state}")


def _row(r: Any) -> WaveRow:
    return WaveRow(r.number, r.started, r.finished, json.loads(r.settings or "{}"), r.status, r.host, r.pid,
                   r.heartbeat)


def list_waves(engine: Engine) -> list[WaveRow]:
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(select(waves).order_by(waves.c.number))]


def is_stale(wave: WaveRow, now: float | None = None, host: str | None = None) -> bool:
    """Whether a running wave's process is gone: a dead pid on this host, else a silent heartbeat."""
    if (host or socket.gethostname()) == wave.host and wave.pid is not None:
        try:
            os.kill(wave.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    return (now or time.time()) - (wave.heartbeat or wave.started) > STALE_AFTER


def snapshot(conn: Connection, number: int) -> None:
    """Copy the audit tables (the latest wave) into wave ``number``'s history rows."""
    conn.execute(delete(wave_points).where(wave_points.c.wave == number))
    conn.execute(delete(wave_companies).where(wave_companies.c.wave == number))
    conn.execute(insert(wave_companies).from_select(
        ["wave", "company_key", "name", "status"],
        select(literal(number, INT), companies.c.key, companies.c.name, companies.c.status)))
    cp, v = contact_points, verdicts
    conn.execute(insert(wave_points).from_select(
        ["wave", "company_key", "kind", "value", "page_url", "sightings", "verdict", "reason", "validated_at"],
        select(literal(number, INT), cp.c.company_key, cp.c.kind, cp.c.value, cp.c.page_url,
               cp.c.sightings, v.c.verdict, v.c.reason, v.c.validated_at)
        .outerjoin(v, (v.c.company_key == cp.c.company_key) & (v.c.kind == cp.c.kind) & (v.c.value == cp.c.value))))


def snapshot_existing_audit(conn: Connection) -> None:
    """An audit made before waves becomes wave 1 with its current data (used by the migration)."""
    run = conn.execute(select(runs).order_by(runs.c.id.desc()).limit(1)).first()
    if run is None:
        return
    conn.execute(insert(waves).values(number=1, started=run.started, finished=run.finished, settings=run.settings,
                                      status="finished" if run.finished else "interrupted"))
    snapshot(conn, 1)


def begin_wave(engine: Engine, settings: dict[str, Any]) -> int:
    """Record a new running wave and clear the audit tables for it; raise WaveBusy while one runs.

    An audit whose first run finished but has no wave yet (made after the
    migration, before any wave) is recorded as wave 1 first.
    """
    with writer(engine).begin() as conn:
        rows = [_row(r) for r in conn.execute(select(waves).order_by(waves.c.number))]
        running = [w for w in rows if w.status == "running"]
        if running:
            raise WaveBusy(running[-1], is_stale(running[-1]))
        if not rows:
            snapshot_existing_audit(conn)
            rows = [_row(r) for r in conn.execute(select(waves).order_by(waves.c.number))]
        number = (rows[-1].number if rows else 0) + 1
        now = time.time()
        conn.execute(insert(waves).values(number=number, started=now, settings=json.dumps(settings, sort_keys=True,
                                          default=str), status="running", host=socket.gethostname(),
                                          pid=os.getpid(), heartbeat=now))
        for table in PER_COMPANY:
            conn.execute(delete(table))
        conn.execute(update(companies).values(status="pending", harvested_at=None))
    return number


def beat(engine: Engine, number: int) -> None:
    with writer(engine).begin() as conn:
        conn.execute(update(waves).where(waves.c.number == number).values(heartbeat=time.time()))


def finish_wave(engine: Engine, number: int) -> None:
    """Copy what the wave found into its history rows and mark it finished, in one transaction."""
    with writer(engine).begin() as conn:
        snapshot(conn, number)
        conn.execute(update(waves).where(waves.c.number == number).values(status="finished", finished=time.time()))


def abandon_wave(engine: Engine, number: int, status: str = "interrupted") -> None:
    """Mark a wave that did not finish (Ctrl-C, a crash found stale): its partial rows are not history."""
    with writer(engine).begin() as conn:
        conn.execute(update(waves).where(waves.c.number == number).values(status=status, finished=time.time()))


def history(engine: Engine) -> list[dict[str, Any]]:
    """One row per contact point per finished wave, in wave then input order (``history.csv``)."""
    wp, wc, w = wave_points, wave_companies, waves
    with engine.connect() as conn:
        points = [dict(r._mapping) for r in conn.execute(
            select(wp.c.wave, w.c.started.label("time"), wc.c.name.label("company"), wp.c.company_key, wp.c.kind,
                   wp.c.value, wp.c.verdict, wp.c.reason, wp.c.page_url)
            .join(w, w.c.number == wp.c.wave)
            .join(wc, (wc.c.wave == wp.c.wave) & (wc.c.company_key == wp.c.company_key))
            .where(w.c.status == "finished")
            .order_by(wp.c.wave, wp.c.company_key, wp.c.kind, wp.c.value))]
    return points


def wave_by_wave(engine: Engine) -> Iterator[tuple[WaveRow, list[dict[str, Any]], list[dict[str, Any]]]]:
    """Each finished wave, oldest first, with its history rows (as ``history`` gives them) and its company rows.

    Read one wave at a time (each a lookup on the tables' primary keys), so a
    reader that goes wave by wave holds one wave, however many there are.
    """
    wp, wc = wave_points, wave_companies
    for wave in finished_waves(engine):
        with engine.connect() as conn:
            points = [{"wave": wave.number, "time": wave.started, **r._mapping} for r in conn.execute(
                select(wc.c.name.label("company"), wp.c.company_key, wp.c.kind, wp.c.value, wp.c.verdict,
                       wp.c.reason, wp.c.page_url)
                .join(wc, (wc.c.wave == wp.c.wave) & (wc.c.company_key == wp.c.company_key))
                .where(wp.c.wave == wave.number).order_by(wp.c.company_key, wp.c.kind, wp.c.value))]
            companies_rows = [dict(r._mapping) for r in conn.execute(
                select(wc).where(wc.c.wave == wave.number).order_by(wc.c.company_key))]
        yield wave, points, companies_rows


def wave_companies_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(wave_companies).join(waves, waves.c.number == wave_companies.c.wave)
            .where(waves.c.status == "finished").order_by(wave_companies.c.wave, wave_companies.c.company_key))]


def finished_waves(engine: Engine) -> list[WaveRow]:
    """The waves that finished, oldest first: the ones history and transitions are made of."""
    return [w for w in list_waves(engine) if w.status == "finished"]
