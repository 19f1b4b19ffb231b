"""Run a wave: the companies of an existing audit harvested, validated and exported again.

A pipeline entry: it calls the pipeline's own stages (harvest, validate,
export) between the store's begin/finish of a wave. While the wave runs a
thread refreshes its heartbeat, so another process can tell a live wave from a
crashed one. Ctrl-C (or any error) marks the wave ``interrupted``: the earlier
waves' rows are untouched and the unfinished one never becomes history.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from auditor import __version__, pipeline
from auditor.config import Settings
from auditor.export import export
from auditor.harvest.render import render_summary
from auditor.pipeline import AuditRun, Notify, Outcome, to_stderr
from auditor.store import open_store
from auditor.store import waves as store_waves


class _Heartbeat:
    """Refresh the running wave's heartbeat every ``HEARTBEAT_SECONDS`` until stopped."""

    def __init__(self, engine: Engine, number: int, every: float = store_waves.HEARTBEAT_SECONDS) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(engine, number, every), daemon=True,
                                        name=f"wave-{number}-heartbeat")

    def _run(self, engine: Engine, number: int, every: float) -> None:
        while not self._stop.wait(every):
            store_waves.beat(engine, number)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def stored_settings(out_dir: Path) -> dict[str, Any]:
    """The configuration the audit in ``out_dir`` last ran with (empty when none was stored)."""
    store = open_store(out_dir)
    try:
        return dict(store.run_info().get("settings") or {})
    finally:
        store.close()


def abandon_stale(out_dir: Path) -> int | None:
    """Mark a running wave whose process is gone as ``crashed``; its number (None: no stale wave)."""
    store = open_store(out_dir)
    engine: Engine = store.engine  # type: ignore[attr-defined]
    try:
        running = [w for w in store_waves.list_waves(engine) if w.status == "running"]
        if not running or not store_waves.is_stale(running[-1]):
            return None
        store_waves.abandon_wave(engine, running[-1].number, "crashed")
        return running[-1].number
    finally:
        store.close()


def run_wave(out_dir: Path, settings: Settings, notify: Notify = to_stderr) -> tuple[AuditRun, int]:
    """Audit every company of ``out_dir`` again as a new wave; the outcome and the wave's number.

    Raises ``WaveBusy`` while another wave of the audit runs (or looks crashed).
    """
    store = open_store(out_dir)
    engine: Engine = store.engine  # type: ignore[attr-defined]
    try:
        number = store_waves.begin_wave(engine, settings.to_dict())
        finished = False
        try:
            with _Heartbeat(engine, number):
                store.start_run(settings.to_dict(), __version__, resume=True)
                stats = pipeline.harvest(store.companies(), out_dir, settings)
                if stats.get("finish_reason") == "shutdown":
                    export(store, out_dir)
                    notify(f"Interrupted: wave {number} is recorded as interrupted; earlier waves are kept")
                    return AuditRun(Outcome.INTERRUPTED), number
                counts = pipeline.validate(store, out_dir, settings, notify=notify) if settings.validate else None
                store_waves.finish_wave(engine, number)
                finished = True
                summary = export(store, out_dir)
                if counts is not None:
                    summary["verdicts"] = dict(counts)
                summary["wave"] = number
                summary["rendering"] = render_summary(stats)
                store.finish_run(summary)
                return AuditRun(Outcome.DONE, summary), number
        finally:
            if not finished:
                store_waves.abandon_wave(engine, number)
    finally:
        store.close()
