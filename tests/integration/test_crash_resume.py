"""Crash safety (issue 6): kill -9 at random moments, resume, and lose or duplicate nothing.

A generated world of 200 small companies (most with a contact page, some with a
missing zone or a broken home page) is audited once without interruption, for the
reference. Then the same audit is killed with SIGKILL three times -- once after a
random number of companies, once at a random moment after a resume started (start-up,
crawl or writing), once more after some progress -- resumed each time, and finally
killed twice more while the finished audit re-writes its results and report. After
every kill: the database passes ``PRAGMA integrity_check`` and every result file that
exists parses whole (results.json, contacts.csv, scores.json, the report's index).
At the end the results equal the reference: same companies, none twice, same pages,
contact points and failures.

The seed is printed; AUDITOR_CRASH_SEED=<seed> replays a run.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.lab import Lab
from auditor.lab.world import World, parse_world

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMPANIES = 200


def crash_world(n: int = COMPANIES) -> World:
    """``n`` companies: home -> /kontakt with a phone and an address; every tenth has no
    zone (dns-failure), every tenth-plus-one answers 500 on its home page, and every
    seventh links a 2,500-character URL (which Scrapy would drop without a callback,
    leaving the company's crawl slot taken)."""
    parts = ['[world]\nname = "crash"\n']
    for i in range(n):
        domain = f"firma-{i:03d}.de"
        parts.append(f'[[company]]\nname = "Firma {i:03d} GmbH"\ndomain = "{domain}"\ncountry = "DE"\n')
        if i % 10 == 1:
            parts.append('[[company.pages]]\npath = "/"\nstatus = 500\nmain = "<p>Fehler</p>"\n')
            continue
        long_link = f'<a href="/kontakt-{"x" * 2500}">Kontakt</a>' if i % 7 == 0 else ""
        parts.append(
            f'[[company.pages]]\npath = "/"\nmain = \'<h1>Firma</h1><p><a href="/kontakt">Kontakt</a>{long_link}</p>\'\n'
            '[[company.pages]]\npath = "/kontakt"\n'
            f"main = '<p>Telefon: +49 30 23125 {100 + i}</p><p>info@{domain}</p>'\n"
        )
        if i % 10 == 0:
            parts.append('[company.dns]\nbehaviour = "nxdomain"\n')
    return parse_world("".join(parts), source="<crash world>")


@pytest.fixture(scope="module")
def crash_lab() -> Iterator[Lab]:
    with Lab(crash_world()) as lab:
        yield lab


def _cmd(lab: Lab, *args: str) -> list[str]:
    return [sys.executable, "-m", "auditor.cli", "audit", *args, "--nameserver", lab.nameserver,
            "--allow-private-targets", "--delay", "0", "--timeout", "5", "--concurrency", "4", "--no-progress",
            "--no-validate",
            "--contact-url", "https://lab.test/crawler"]


def _done(out: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{out / 'audit.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT count(*) FROM companies WHERE status != 'pending'").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL the whole process group; True if it was still running."""
    running = proc.poll() is None
    if running:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return running


def _check_files_whole(out: Path) -> None:
    """Every result file that exists parses completely: writes are atomic."""
    db = sqlite3.connect(out / "audit.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
    if (out / "results.json").exists():
        doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
        assert "companies" in doc and "summary" in doc
    for name in ("contacts.csv", "companies.csv"):
        if (out / name).exists():
            rows = list(csv.reader((out / name).open(encoding="utf-8", newline="")))
            assert rows and all(len(r) == len(rows[0]) for r in rows), name
    if (out / "scores.json").exists():
        json.loads((out / "scores.json").read_text(encoding="utf-8"))
    index = out / "report" / "index.html"
    if index.exists():
        assert index.read_text(encoding="utf-8").rstrip().endswith("</html>")


def _snapshot(out: Path) -> dict[str, Any]:
    """Per website: status, pages, contact points and failures, order-free."""
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {
        c["website"]: (
            c["status"],
            sorted((p["url"], p["status"], p["error_tag"]) for p in c["pages"]),
            sorted((p["kind"], p["value"], p["label"] or "", p["page_url"]) for p in c["contacts"]),
            sorted(f["tag"] for f in c["failures"]),
        )
        for c in doc["companies"]
    }


def test_kill_minus_nine_and_resume(crash_lab: Lab, tmp_path: Path) -> None:
    seed = int(os.environ.get("AUDITOR_CRASH_SEED") or time.time_ns() % 1_000_000)
    rng = random.Random(seed)
    print(f"\ncrash seed {seed} (AUDITOR_CRASH_SEED={seed} replays it)")
    lab = crash_lab
    env = {**os.environ, **lab.env()}
    csv_path = lab.write_companies_csv(tmp_path / "companies.csv")

    t0 = time.monotonic()
    reference = subprocess.run(_cmd(lab, str(csv_path), "--out", str(tmp_path / "ref")), cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=300)
    assert reference.returncode == 0, reference.stderr[-3000:]
    print(f"uninterrupted run: {time.monotonic() - t0:.1f} s")
    expected = _snapshot(tmp_path / "ref")
    assert len(expected) == COMPANIES

    out = tmp_path / "crashed"
    fresh = _cmd(lab, str(csv_path), "--out", str(out))
    resume = _cmd(lab, "--resume", str(out))
    # (command, how to pick the moment): after k more companies, or after s seconds.
    plan: list[tuple[list[str], str, float]] = [
        (fresh, "companies", rng.randint(15, 60)),
        (resume, "seconds", rng.uniform(0.3, 4.0)),
        (resume, "companies", rng.randint(10, 50)),
    ]
    log: list[str] = []
    for cmd, kind, amount in plan:
        before = _done(out)
        proc = _start(cmd, env)
        deadline = time.monotonic() + 120
        if kind == "seconds":
            time.sleep(amount)
        else:
            while time.monotonic() < deadline and proc.poll() is None and _done(out) < before + amount:
                time.sleep(0.05)
        killed = _kill(proc)
        after = _done(out)
        log.append(f"{kind}={amount:.1f}: killed={killed}, companies {before} -> {after}")
        _check_files_whole(out)
    print("kills: " + "; ".join(log))
    assert 0 < _done(out), "the first run was killed before anything was stored"

    final = subprocess.run(resume, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    _check_files_whole(out)
    # Killed while a finished audit re-writes results.json, contacts.csv and the report.
    for _ in range(2):
        proc = _start(resume, env)
        time.sleep(rng.uniform(0.2, 2.5))
        _kill(proc)
        _check_files_whole(out)

    got = _snapshot(out)
    assert set(got) == set(expected), "companies lost or invented"
    differ = {site: (expected[site], got[site]) for site in expected if got[site] != expected[site]}
    assert not differ, f"results differ from the uninterrupted run: {list(differ.items())[:3]}"
    db = sqlite3.connect(out / "audit.sqlite")
    try:
        assert db.execute("SELECT count(*) FROM companies").fetchone()[0] == COMPANIES
        assert db.execute("SELECT count(*) FROM companies WHERE status = 'pending'").fetchone()[0] == 0
        dupes = db.execute("SELECT count(*) FROM (SELECT company_key, kind, value FROM contact_points"
                           " GROUP BY 1, 2, 3 HAVING count(*) > 1)").fetchone()[0]
        assert dupes == 0
        pages = db.execute("SELECT count(*) FROM pages").fetchone()[0]
        assert pages == sum(len(v[1]) for v in expected.values())
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        db.close()
