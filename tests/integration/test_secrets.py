"""Secrets (issue 6): credentials never end up in what an audit writes.

An audit runs (crawl, SMTP validation, report) with credential-looking environment
variables set and with passwords in the companies file (``user:password@`` in website
URLs, also in rows the reader refuses), then every byte of every file under the output
directory -- audit.log, results.json, contacts.csv, the report, audit.sqlite with its
WAL -- is searched for each secret, plain and percent-encoded.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from auditor.lab import Lab

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ENV_SECRETS = (
    "AUDITOR_SIP_PASSWORD", "AUDITOR_SMTP_PASSWORD", "AUDITOR_IMAP_PASSWORD",
    "AUDITOR_SUBMISSION_PASSWORD", "SMTP_PASSWORD", "IMAP_PASSWORD", "SIP_PASSWORD",
)


def _secret(tag: str) -> str:
    return f"S3cr3t-{tag}-{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def audited(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], str]:
    """(output dir, secret values, console output) of one audit run with secrets around."""
    tmp_path = tmp_path_factory.mktemp("secrets")
    env_values = {name: _secret(name.lower()) for name in ENV_SECRETS}
    url_secrets = [_secret("url-ok"), _secret("url-dup"), _secret("url-bad")]
    site = lab.website("kovacs-szerviz.hu")
    scheme, rest = site.split("://", 1)
    rows = [
        "name,website,country",
        f"Kovacs,{scheme}://audit:{url_secrets[0]}@{rest},HU",
        f"Kovacs again,{scheme}://other:{url_secrets[1]}@{rest},HU",  # a duplicate: reported with its row
        f"Broken,http://audit:{url_secrets[2]}@/nohost,HU",  # refused by the reader
        f"Teashop,{lab.website('teashop.co.uk')},GB",
    ]
    csv_path = tmp_path / "companies.csv"
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "auditor.cli", "audit", str(csv_path), "--out", str(out),
           "--nameserver", lab.nameserver, "--allow-private-targets", "--delay", "0", "--timeout", "5",
           "--no-progress", "--smtp-port", str(lab.smtp_port), "--smtp-timeout", "2", "--greylist-delay", "1",
           "--helo", "probe.lab.test", "--mail-from", "probe@lab.test", "-v",
           "--contact-url", "https://lab.test/crawler"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, **lab.env(), **env_values})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, [*env_values.values(), *url_secrets], proc.stdout + proc.stderr


def _needles(values: list[str]) -> set[bytes]:
    return {v.encode() for v in values} | {quote(v).encode() for v in values}


def test_no_secret_reaches_any_output_file(audited: tuple[Path, list[str], str]) -> None:
    out, values, _ = audited
    files = [p for p in out.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"audit.log", "results.json", "contacts.csv", "audit.sqlite", "index.html"} <= names, names
    assert any(p.stat().st_size for p in files if p.name == "audit.log")
    leaks = [(str(p.relative_to(out)), n.decode()) for p in files for n in _needles(values) if n in p.read_bytes()]
    assert not leaks, f"secrets written to the output: {leaks}"
    assert b"***@" in (out / "results.json").read_bytes()  # the refused rows are still reported


def test_no_secret_reaches_the_console(audited: tuple[Path, list[str], str]) -> None:
    """The console is not a file in DIR, but CI keeps it as a log: it must not echo them either."""
    _, values, console = audited
    assert not [n for n in _needles(values) if n in console.encode()]
