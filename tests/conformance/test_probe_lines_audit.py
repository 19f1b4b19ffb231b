"""`auditor audit --probe-lines` end to end: a lab company's published number is called
through a SIP trunk whose far end is sipp, and the phone verdict becomes the line's answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from auditor.lab import Lab
from tests.conformance.test_sipp import sipp

ROOT = Path(__file__).resolve().parents[2]


def test_audit_with_line_probe_cancels_on_ring(lab: Lab, tmp_path: Path) -> None:
    csv_path = lab.write_companies_csv(tmp_path / "c.csv", ["robotfirma.de"])
    secret = "line-probe-s3cret-value"
    with sipp(tmp_path, "ring_cancel.xml", CODE="180", REASON="Ringing") as far_end:
        config = tmp_path / "probes.toml"
        config.write_text(
            f'[sip]\nhost = "127.0.0.1"\nport = {far_end.port}\ntransport = "udp"\nusername = "probe"\n'
            'password_env = "AUDITOR_TEST_SIP_PASSWORD"\nt1 = 0.1\ncalls_per_minute = 600\n'
        )
        env = {**os.environ, **lab.env(), "AUDITOR_TEST_SIP_PASSWORD": secret}
        proc = subprocess.run(
            [sys.executable, "-m", "auditor.cli", "audit", str(csv_path), "--out", str(tmp_path / "out"),
             "--config", str(config), "--probe-lines", "--nameserver", lab.nameserver, "--allow-private-targets",
             "--delay", "0", "--no-progress", "--no-smtp", "--smtp-port", str(lab.smtp_port)],
            capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Line probe: 1 call(s) placed" in proc.stderr
    assert far_end.received("CANCEL"), "the call must be cancelled as soon as it rings"
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    phone = next(c for c in results["companies"][0]["contacts"] if c["kind"] == "phone")
    assert (phone["validation"]["verdict"], phone["validation"]["reason"]) == ("active", "rings")
    assert {c["name"] for c in phone["validation"]["checks"]} >= {"phone-plan", "sip-line"}
    ledger = json.loads((tmp_path / "out" / "line-probe-ledger.json").read_text())
    assert phone["value"] in ledger["calls"]
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"the SIP password leaked into {path}"
