"""A wave's transitions reach a webhook and a mailbox once, and no secret reaches anything the run writes.

The lab's world changes between two waves (a number goes, Beta's site goes
down); `auditor wave DIR --config notify.toml` must POST the alerts to the
loopback webhook (its URL, with a secret path, from the environment; a bearer
token from the environment) and mail them through an authenticated submission
server (password from a file). `--alerts-only` afterwards sends nothing twice.
Every byte written (audit folder, database, log, report, exports) and the
console are searched for the three secrets.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.lab import Lab
from tests.integration.test_alerts import HOOK_SECRET, PASSWORD, TOKEN, Hook, Mailbox
from tests.integration.test_cli import auditor
from tests.integration.test_waves import _world

pytestmark = pytest.mark.integration


def test_wave_alerts_are_sent_once_and_keep_every_secret(tmp_path: Path) -> None:
    hook, mailbox = Hook(), Mailbox()
    out = tmp_path / "audit"
    (tmp_path / "smtp-password").write_text(PASSWORD, encoding="utf-8")
    config = tmp_path / "notify.toml"
    config.write_text(f"""
[notify]
destinations = ["webhook:env:AUDITOR_TEST_HOOK_URL", "mailto:ops@lab.example"]
backoff = 0.1

[notify.webhook]
token_env = "AUDITOR_TEST_HOOK_TOKEN"

[notify.email]
from = "auditor@lab.example"
host = "127.0.0.1"
port = {mailbox.port}
security = "none"
user = "alerts"
password_file = "{tmp_path / 'smtp-password'}"
""", encoding="utf-8")
    secrets = {"AUDITOR_TEST_HOOK_URL": f"{hook.url}/{HOOK_SECRET}", "AUDITOR_TEST_HOOK_TOKEN": TOKEN}
    consoles: list[str] = []
    try:
        first = Lab(_world(False)).start()
        try:
            ports = first.http_port, first.https_port, first.dns_port
            csv_path = first.write_companies_csv(tmp_path / "c.csv")
            run = auditor("audit", str(csv_path), "--out", str(out), "--nameserver", first.nameserver,
                          "--allow-private-targets", "--no-progress", "--delay", "0", "--timeout", "5", "--no-smtp",
                          env={**os.environ, **first.env()})
            assert run.returncode == 0, run.stderr
        finally:
            first.stop()
        with Lab(_world(True), http_port=ports[0], https_port=ports[1], dns_port=ports[2]) as second:
            env = {**os.environ, **second.env(), **secrets}
            run = auditor("wave", str(out), "--config", str(config), env=env)
            consoles += [run.stdout, run.stderr]
            assert run.returncode == 0, run.stderr
            assert "-> webhook:env:AUDITOR_TEST_HOOK_URL: delivered" in run.stdout
            assert "-> mailto:ops@lab.example: delivered" in run.stdout
            again = auditor("wave", str(out), "--config", str(config), "--alerts-only", env=env)
            consoles += [again.stdout, again.stderr]
            assert again.returncode == 0, again.stderr
            assert again.stdout.count("already-delivered") == 2
        (request,) = hook.requests
        assert request["path"] == f"/{HOOK_SECRET}" and request["headers"]["Authorization"] == f"Bearer {TOKEN}"
        alerts = {(a["alert"], a["company"], a["value"]) for a in request["body"]["alerts"]}
        assert alerts == {("contact-gone", "Alfa <GmbH>", "+493023125101"), ("site-down", "Beta AG", None)}
        assert request["body"]["wave"] == 2 and request["body"]["report"].endswith("timeline.html")
        assert len(mailbox.messages) == 1 and b"site-down" in mailbox.messages[0][1]
    finally:
        hook.close()
        mailbox.close()
    written = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "audit.sqlite" for p in written) and any(p.suffix == ".html" for p in written)
    for secret in (TOKEN, PASSWORD, HOOK_SECRET):
        for path in written:
            assert secret.encode() not in path.read_bytes(), f"{secret!r} in {path}"
        for text in consoles:
            assert secret not in text
        assert secret.encode() not in mailbox.messages[0][1]
