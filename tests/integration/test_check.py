"""`auditor check URL`: a business audits its own site; gates, JSON and JUnit for CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

from auditor.lab import Lab

ROOT = Path(__file__).resolve().parents[2]


def check(lab: Lab, domain: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if hasattr(lab, "network_options"):
        net = lab.network_options()
        env["AUDITOR_HTTP_PORT_OVERRIDES"] = json.dumps(net.http_port_overrides)
        if net.ca_file:
            env["AUDITOR_CA_FILE"] = str(net.ca_file)
    args = ["--nameserver", lab.nameserver, "--allow-private-targets", "--delay", "0", "--timeout", "5",
            "--smtp-timeout", "3", "--greylist-delay", "1", "--helo", "check.auditor.test",
            "--mail-from", "probe@check.auditor.test", "--out", str(tmp / domain), "--no-report"]
    if getattr(lab, "smtp_port", None):
        args += ["--smtp-port", str(lab.smtp_port)]
    return subprocess.run([sys.executable, "-m", "auditor.cli", "check", lab.website(domain), *args, *extra],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)


def test_text_summary_and_json(lab: Lab, tmp_path: Path) -> None:
    out = check(lab, "teashop.co.uk", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contact audit of" in out.stdout and "Score" in out.stdout
    doc = json.loads(check(lab, "teashop.co.uk", tmp_path, "--json").stdout)
    assert doc["contacts"] and {"kind", "value", "verdict", "reason"} <= set(doc["contacts"][0])
    assert doc["score"]["total"] is not None and doc["failed_gates"] == []


def test_gates_fail_with_exit_code_1_and_junit(lab: Lab, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    out = check(lab, "teashop.co.uk", tmp_path, "--fail-under", "101", "--junit", str(junit))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAILED: score" in out.stdout
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and int(suite.get("failures", "0")) >= 1
    assert any(case.get("classname") == "gates" for case in suite.iter("testcase"))


def test_unreachable_site_fails_the_gate(lab: Lab, tmp_path: Path) -> None:
    out = check(lab, "vanished-startup.es", tmp_path, "--json")
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert any("could not be audited" in reason for reason in doc["failed_gates"])


def test_bad_url_is_a_usage_error(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "auditor.cli", "check", "not a url"], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2 and "not an http(s) website" in out.stderr


def test_fail_on_inactive(lab: Lab, tmp_path: Path) -> None:
    out = check(lab, "other.com.tr", tmp_path, "--fail-on-inactive", "--json")
    doc = json.loads(out.stdout)
    inactive = [(c["kind"], c["value"], c["reason"]) for c in doc["contacts"] if c["verdict"] == "inactive"]
    # the lab world gives other.com.tr a null MX: its address, and only it, is inactive for that reason
    assert inactive == [("email", "destek@other.com.tr", "null-mx")]
    assert out.returncode == 1
    assert doc["failed_gates"] == ["1 published contact point(s) are inactive"]
    null_mx = "The domain publishes a null MX (RFC 7505): it accepts no mail."
    page = lab.website("other.com.tr").rstrip("/") + "/iletisim"
    assert doc["fix_first"][0] == f"Fix or remove the dead email destek@other.com.tr on {page}: {null_mx}"
