"""The `auditor` command as users run it: help, exit codes, extract, verify, resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from auditor.lab import Lab

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "pages"


def auditor(*args: str, timeout: float = 300, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, **kw)  # type: ignore[call-overload]


def test_help_reads_well() -> None:
    out = auditor("--help")
    assert out.returncode == 0
    for command in ("audit", "extract", "verify", "validate", "demo"):
        assert command in out.stdout
    audit_help = auditor("audit", "--help").stdout
    for flag in ("--resume", "--nameserver", "--allow-private-targets", "--max-pages", "--smtp-port", "--helo",
                 "--mail-from", "--contact-url"):
        assert flag in audit_help


def test_usage_errors_exit_2_and_empty_input_exits_3(tmp_path: Path) -> None:
    assert auditor("audit", "--out", str(tmp_path / "x")).returncode == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("max_pagez = 1\n")
    out = auditor("audit", "https://example.de", "--config", str(bad), "--out", str(tmp_path / "y"))
    assert out.returncode == 2 and "max_pagez" in out.stderr
    rows = tmp_path / "rows.csv"
    rows.write_text("name,website\nA,\nB,not a url\n")
    out = auditor("audit", str(rows), "--out", str(tmp_path / "z"), "--no-progress")
    assert out.returncode == 3
    assert "row 2: missing-website" in out.stderr and "row 3: invalid-website" in out.stderr
    results = json.loads((tmp_path / "z" / "results.json").read_text())
    assert [(e["row"], e["tag"]) for e in results["input_errors"]] == [(2, "missing-website"), (3, "invalid-website")]


def test_extract_json_on_a_saved_page() -> None:
    page = next(FIXTURE.glob("hu-*.html"))
    truth = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    out = auditor("extract", str(page), "--url", truth["url"], "--country", truth["country"] or "HU", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["url"] == truth["url"]
    fields = {"kind", "value", "raw", "label", "method", "page_url", "context", "confidence"}
    assert doc["contacts"] and all(fields <= set(c) for c in doc["contacts"])


def test_verify_phone_json_shape() -> None:
    out = auditor("verify", "phone", "06 1 234 5678", "--country", "HU", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {"kind", "value", "verdict", "reason", "checks"} <= set(doc)
    assert (doc["verdict"], doc["reason"]) == ("unknown", "not-dialled")
    assert {"name", "verdict", "reason", "evidence"} <= set(doc["checks"][0])
    bad = json.loads(auditor("verify", "phone", "+36 1 234", "--json").stdout)
    assert (bad["verdict"], bad["reason"]) == ("inactive", "invalid-number")


def test_resume_after_kill_loses_and_duplicates_nothing(lab: Lab, tmp_path: Path) -> None:
    companies = ["kovacs-szerviz.hu", "robotfirma.de", "sitemapco.pl", "teashop.co.uk", "bigcatalog.cz",
                 "support-sub.de"]
    csv_path = lab.write_companies_csv(tmp_path / "c.csv", companies)
    common = ["--nameserver", lab.nameserver, "--allow-private-targets", "--no-progress", "--no-validate",
              "--timeout", "5"]
    reference = auditor("audit", str(csv_path), "--out", str(tmp_path / "ref"), "--delay", "0", *common)
    assert reference.returncode == 0, reference.stderr
    # A slow crawl (one request per 0.3 s per host) killed with SIGKILL once some companies are stored.
    out = tmp_path / "crashed"
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", "audit", str(csv_path), "--out", str(out),
                             "--delay", "0.3", *common], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            db = sqlite3.connect(out / "audit.sqlite", timeout=1)
            done = db.execute("SELECT count(*) FROM companies WHERE status != 'pending'").fetchone()[0]
            db.close()
        except sqlite3.Error:
            continue
        if done >= 2:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < done < len(companies), f"kill came at {done} companies; the test needs a mid-run kill"
    resumed = auditor("audit", "--resume", str(out), "--delay", "0", *common)
    assert resumed.returncode == 0, resumed.stderr

    def harvest(path: Path) -> dict[str, set[tuple[str, str]]]:
        doc = json.loads((path / "results.json").read_text())
        return {c["website"]: {(p["kind"], p["value"]) for p in c["contacts"]} for c in doc["companies"]}

    assert harvest(out) == harvest(tmp_path / "ref")
    db = sqlite3.connect(out / "audit.sqlite")
    assert db.execute("SELECT count(*) FROM companies").fetchone()[0] == len(companies)
    dupes = db.execute("SELECT count(*) FROM (SELECT company_key, kind, value FROM contact_points"
                       " GROUP BY 1, 2, 3 HAVING count(*) > 1)").fetchone()[0]
    assert dupes == 0
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_ctrl_c_saves_finished_companies_and_resume_completes(lab: Lab, tmp_path: Path) -> None:
    companies = ["kovacs-szerviz.hu", "robotfirma.de", "sitemapco.pl", "teashop.co.uk", "bigcatalog.cz",
                 "support-sub.de"]
    csv_path = lab.write_companies_csv(tmp_path / "c.csv", companies)
    common = ["--nameserver", lab.nameserver, "--allow-private-targets", "--no-progress", "--no-validate",
              "--timeout", "5", "--no-report"]
    out = tmp_path / "interrupted"
    proc = subprocess.Popen([sys.executable, "-m", "auditor.cli", "audit", str(csv_path), "--out", str(out),
                             "--delay", "0.3", *common], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            db = sqlite3.connect(out / "audit.sqlite", timeout=1)
            done = db.execute("SELECT count(*) FROM companies WHERE status != 'pending'").fetchone()[0]
            db.close()
        except sqlite3.Error:
            continue
        if done >= 1:
            break
    proc.send_signal(signal.SIGINT)  # the first Ctrl-C: finish what is in flight, save, stop
    _stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, f"exit {proc.returncode}: {stderr[-2000:]}"
    assert "--resume" in stderr
    saved = json.loads((out / "results.json").read_text())  # whole, not half written
    finished = [c for c in saved["companies"] if c["status"] != "pending"]
    assert finished, "companies finished before the interrupt must be saved"
    resumed = auditor("audit", "--resume", str(out), "--delay", "0", *common)
    assert resumed.returncode == 0, resumed.stderr
    final = json.loads((out / "results.json").read_text())
    assert {c["website"] for c in final["companies"] if c["status"] != "pending"} == {
        lab.website(d) for d in companies
    }
