"""`auditor wave DIR --every SPEC` for real: a per-second schedule on the lab runs two waves, one at a time.

The waves are real wave processes (crawler and validators against the lab);
the schedule fires every second, so every start that falls while a wave runs
must be held (logged ``wave-delayed``) and the next wave must begin once the
previous one finished, one wave for all the starts it covered. SIGTERM stops the schedule with a consistent store.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from auditor.lab import Lab
from tests.integration.test_cli import ROOT, auditor

pytestmark = pytest.mark.integration

COMMON = ["--allow-private-targets", "--no-progress", "--timeout", "5", "--no-report", "--no-smtp", "--delay", "0"]


def _audit(lab: Lab, tmp_path: Path, companies: list[str]) -> Path:
    csv_path = lab.write_companies_csv(tmp_path / "c.csv", companies)  # type: ignore[arg-type]
    out = tmp_path / "audit"
    first = auditor("audit", str(csv_path), "--out", str(out), "--nameserver", lab.nameserver, *COMMON)
    assert first.returncode == 0, first.stderr
    return out


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=10) as conn:
        return list(conn.execute(sql))


def test_a_per_second_schedule_runs_two_waves_one_at_a_time(lab: Lab, tmp_path: Path) -> None:
    out = _audit(lab, tmp_path, ["kovacs-szerviz.hu", "robotfirma.de"])
    run = auditor("wave", str(out), "--every", "every 1s", "--tz", "Europe/Budapest", "--waves", "2", timeout=300)
    assert run.returncode == 0, run.stderr
    assert "schedule stopped after 2 wave(s)" in run.stdout and "the first at 20" in run.stdout
    waves = _query(out / "audit.sqlite", "SELECT number, status, started, finished FROM waves ORDER BY number")
    assert [(n, s) for n, s, _a, _b in waves] == [(1, "finished"), (2, "finished"), (3, "finished")]
    assert waves[2][2] >= waves[1][3]  # wave 3 started after wave 2 finished
    log = (out / "audit.log").read_text(encoding="utf-8")
    assert log.count("schedule: starting") == 2 and "schedule: starting the wave delayed since" in log
    # each wave takes longer than a second: the starts it covered were held, and made one wave, not a queue
    assert "is delayed (wave-delayed)" in log and "was skipped (" not in log
    assert {r[0] for r in _query(out / "audit.sqlite", "SELECT wave FROM wave_companies")} == {1, 2, 3}


def test_sigterm_stops_the_schedule_and_interrupts_the_running_wave_once(lab: Lab, tmp_path: Path) -> None:
    out = _audit(lab, tmp_path, ["kovacs-szerviz.hu", "robotfirma.de", "sitemapco.pl", "teashop.co.uk"])
    db = out / "audit.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", "wave", str(out), "--every", "every 1s",
                             "--tz", "UTC", "--delay", "1"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            if _query(db, "SELECT count(*) FROM waves WHERE status = 'running'")[0][0] == 1:
                break
        except sqlite3.Error:
            continue
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-2000:]
    assert "schedule stopped" in stdout
    statuses = [s for _n, s in _query(db, "SELECT number, status FROM waves ORDER BY number")]
    assert statuses[0] == "finished" and statuses[-1] in ("interrupted", "finished") and "running" not in statuses
    assert _query(db, "PRAGMA integrity_check")[0][0] == "ok"
