"""`auditor demo`, the README's first command, end to end: lab, audit, validation, report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parents[2]


def test_demo_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "auditor.cli", "demo", "--out", str(out), "--no-progress"],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    print(f"\nauditor demo took {elapsed:.1f} s")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "auditor" / "schema" / "results.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(results, schema)
    companies = results["companies"]
    assert len(companies) >= 30
    assert len({c["country"] for c in companies if c["country"]}) >= 6
    assert len({c["industry"] for c in companies if c["industry"]}) >= 5
    kinds = {p["kind"] for c in companies for p in c["contacts"]}
    assert kinds == {"phone", "email", "chat", "messaging", "form", "hours"}
    verdicts = {p["validation"]["verdict"] for c in companies for p in c["contacts"] if "validation" in p}
    assert verdicts == {"active", "inactive", "unknown"}
    index = out / "report" / "index.html"
    assert index.exists() and (out / "companies.csv").exists() and (out / "contacts.csv").exists()
    assert "Report:" in proc.stdout and str(index) in proc.stdout
    pages = list((out / "report" / "companies").glob("*.html"))
    assert len(pages) == len(companies)
    # the opt-in live probes run against the lab's own trunk and mailbox
    checks = {c["name"] for co in companies for p in co["contacts"] for c in p.get("validation", {}).get("checks", [])}
    assert "sip-line" in checks
    assert "Line probe:" in proc.stderr and "Mystery-shopper inquiries:" in proc.stdout
    assert "human-reply" in proc.stdout and "bounced" in proc.stdout
    # a second wave after some lab lines changed: the time views have content
    assert "Wave 2 of" in proc.stdout
    changes = (out / "transitions.csv").read_text(encoding="utf-8")
    assert "Duna Telekom Zrt.,phone,+3680555123,verdict-changed,active,inactive" in changes
    panel = (out / "panel.csv").read_text(encoding="utf-8")
    assert "2,panel,,claims-24-7-held," in panel and "1,panel,,numbers-inactive," in panel
    assert ",company,Cestovka Vltava s.r.o.,chat-checks-no-operator,2,2,1" in panel
    grid = (out / "report" / "availability.html").read_text(encoding="utf-8")
    assert "24/7 claim failed" in grid and "Northgate Building Society" in grid  # its 24/7 line went unanswered
    assert "Panel figures per wave" in (out / "report" / "timeline.html").read_text(encoding="utf-8")
