"""Waves end to end (issue 15): the lab's world changes between two waves, the real crawler and validators see it.

Wave 1 runs on a world where Alfa publishes two numbers and Beta one; then the
lab is stopped and a second world served on the same ports: Alfa's contact page
drops a number and adds an email address, Beta's domain no longer resolves (its
site is down). `auditor wave DIR` must keep wave 1, record wave 2, and export
the history, the transitions and the report's timeline.
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from auditor.lab import Lab
from auditor.lab.world import World, parse_world
from auditor.lab.worldmodel import WorldCompany
from tests.integration.test_cli import ROOT, auditor

pytestmark = pytest.mark.integration

HEADER = '[world]\nname = "waves"\n'
HOME = "[[company.pages]]\npath = \"/\"\nmain = '<h1>Firma</h1><p><a href=\"/kontakt\">Kontakt</a></p>'\n"


def _company(name: str, domain: str, contact: str, down: bool = False) -> str:
    text = f'[[company]]\nname = "{name}"\ndomain = "{domain}"\ncountry = "DE"\n{HOME}'
    text += f"[[company.pages]]\npath = \"/kontakt\"\nmain = '{contact}'\n"
    return text + ('[company.dns]\nbehaviour = "nxdomain"\n' if down else "")


def _world(second: bool) -> World:
    alfa = ("<p>Telefon: +49 30 23125 100</p><p>Email: info@alfa-gmbh.de</p>" if second
            else "<p>Telefon: +49 30 23125 100</p><p>Hotline: +49 30 23125 101</p>")
    beta = "<p>Telefon: +49 30 23125 200</p>"
    return parse_world(HEADER + _company("Alfa <GmbH>", "alfa-gmbh.de", alfa)
                       + _company("Beta AG", "beta-ag.de", beta, down=second), source="<waves world>")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_second_wave_records_what_changed_on_the_sites(tmp_path: Path) -> None:
    out = tmp_path / "audit"
    first = Lab(_world(False)).start()
    try:
        http_port, https_port, dns_port = first.http_port, first.https_port, first.dns_port
        csv_path = first.write_companies_csv(tmp_path / "c.csv")
        env = {**os.environ, **first.env()}
        run = auditor("audit", str(csv_path), "--out", str(out), "--nameserver", first.nameserver,
                      "--allow-private-targets", "--no-progress", "--delay", "0", "--timeout", "5", "--no-smtp",
                      env=env)
        assert run.returncode == 0, run.stderr
    finally:
        first.stop()
    assert not (out / "history.csv").exists()  # one wave: nothing users see changes
    with Lab(_world(True), http_port=http_port, https_port=https_port, dns_port=dns_port) as second:
        env = {**os.environ, **second.env()}
        run = auditor("wave", str(out), env=env)  # the stored configuration: nameserver, --no-smtp, ...
        assert run.returncode == 0, run.stderr
        assert "Wave 2" in run.stdout
    history = {(r["wave"], r["company"], r["kind"], r["value"]) for r in _rows(out / "history.csv")}
    assert history == {
        ("1", "Alfa <GmbH>", "phone", "+493023125100"), ("1", "Alfa <GmbH>", "phone", "+493023125101"),
        ("1", "Beta AG", "phone", "+493023125200"),
        ("2", "Alfa <GmbH>", "phone", "+493023125100"), ("2", "Alfa <GmbH>", "email", "info@alfa-gmbh.de"),
    }
    changes = [(r["wave_from"], r["wave_to"], r["company"], r["change"], r["kind"], r["value"])
               for r in _rows(out / "transitions.csv")]
    assert changes == [
        ("1", "2", "Alfa <GmbH>", "appeared", "email", "info@alfa-gmbh.de"),
        ("1", "2", "Alfa <GmbH>", "gone", "phone", "+493023125101"),
        ("1", "2", "Beta AG", "site-down", "", ""),
    ]
    gone = next(r for r in _rows(out / "transitions.csv") if r["change"] == "gone")
    assert gone["verdict_from"] and gone["reason_from"] and not gone["verdict_to"]  # wave 1's evidence kept
    timeline = (out / "report" / "timeline.html").read_text(encoding="utf-8")
    assert "Alfa &lt;GmbH&gt;" in timeline and "Alfa <GmbH>" not in timeline  # escaped
    assert "+493023125101" in timeline or "+49 30 23125 101" in timeline
    assert "site stopped answering" in timeline
    assert 'href="timeline.html"' in (out / "report" / "index.html").read_text(encoding="utf-8")



def test_ctrl_c_in_a_wave_keeps_the_earlier_waves_and_the_next_wave_starts(lab: Lab, tmp_path: Path) -> None:
    companies: list[str | WorldCompany] = ["kovacs-szerviz.hu", "robotfirma.de", "sitemapco.pl", "teashop.co.uk",
                                           "bigcatalog.cz"]
    csv_path = lab.write_companies_csv(tmp_path / "c.csv", companies)
    out = tmp_path / "audit"
    common = ["--nameserver", lab.nameserver, "--allow-private-targets", "--no-progress", "--timeout", "5",
              "--no-report"]
    first = auditor("audit", str(csv_path), "--out", str(out), "--delay", "0", "--no-validate", *common)
    assert first.returncode == 0, first.stderr
    db = out / "audit.sqlite"

    def query(sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(db, timeout=5) as conn:
            return list(conn.execute(sql))

    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", "wave", str(out), "--delay", "1"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            if query("SELECT count(*) FROM companies WHERE status != 'pending'")[0][0] >= 1 and \
                    query("SELECT count(*) FROM waves WHERE status = 'running'")[0][0] == 1:
                break
        except sqlite3.Error:
            continue
    assert proc.poll() is None, "the wave ended before the test could interrupt it"
    busy = auditor("wave", str(out))  # a second wave while this one runs: refused, nothing touched
    assert busy.returncode == 2 and "still running" in busy.stderr, busy.stderr
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, f"exit {proc.returncode}: {stderr[-2000:]}"
    assert query("SELECT number, status FROM waves ORDER BY number") == [(1, "finished"), (2, "interrupted")]
    assert query("SELECT count(DISTINCT company_key) FROM wave_companies WHERE wave = 1")[0][0] == len(companies)
    assert query("SELECT count(*) FROM wave_points WHERE wave = 2")[0][0] == 0  # a cut wave is not history
    assert query("PRAGMA integrity_check")[0][0] == "ok"
    again = auditor("wave", str(out), "--delay", "0")
    assert again.returncode == 0, again.stderr
    assert {r["wave"] for r in _rows(out / "history.csv")} == {"1", "3"}
