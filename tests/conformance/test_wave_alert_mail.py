"""A wave's email alert through a real Postfix into a real mailbox (issue 15's test line).

`auditor wave DIR --config notify.toml` submits its alert to Postfix's
submission port (STARTTLS, a login Postfix checks against Dovecot, the password
from a file); Postfix delivers it into the recipient's Maildir and the test
reads it back over Dovecot's IMAP, as the recipient would. The message carries
the wave's transitions (a number gone, a site down) with the JSON payload, and
neither the submission password nor anything else secret; ``--alerts-only``
afterwards sends nothing twice. Then `auditor check URL --baseline DIR@1`
mails a business the same kind of alert for its own site, through the same server.
"""

from __future__ import annotations

import email
import imaplib
import json
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from auditor.lab import Lab
from tests.conformance.test_inquiries_mail import Relay, postfix_relay
from tests.integration.test_cli import auditor
from tests.integration.test_waves import _world
from tests.support.dovecot import Dovecot, Tls, dovecot, make_tls
from tests.support.requirements import need_binary, need_root

pytestmark = pytest.mark.integration

SENDER = "auditor@auditor.test"
OPS = "ops@auditor.test"
PASSWORD = "Wv7-submission-Qx2p"  # the auditor's submission login
OPS_PASSWORD = "ops-reads-mail"


@dataclass(frozen=True)
class Mail:
    dv: Dovecot
    relay: Relay
    tls: Tls
    password_file: Path


@pytest.fixture(scope="module")
def mail() -> Iterator[Mail]:
    need_binary("postfix", "postfix")
    need_binary("dovecot", "dovecot-imapd")
    need_root("Postfix conformance")
    tmp = Path(tempfile.mkdtemp(prefix="auditor-wave-mail-"))
    tls = make_tls(tmp / "tls")
    password_file = tmp / "smtp-password"
    password_file.write_text(PASSWORD + "\n")
    password_file.chmod(0o600)
    users = {SENDER: PASSWORD, OPS: OPS_PASSWORD}
    try:
        with dovecot(users, tls) as dv, postfix_relay(dv, tls, ["auditor.test"], list(users), {}) as relay:
            yield Mail(dv, relay, tls, password_file)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _config(path: Path, mail: Mail) -> Path:
    path.write_text(f"""
[notify]
destinations = ["mailto:{OPS}"]
backoff = 0.1

[notify.email]
from = "{SENDER}"
host = "127.0.0.1"
port = {mail.relay.submission_port}
security = "starttls"
user = "{SENDER}"
password_file = "{mail.password_file}"
ca_file = "{mail.tls.ca}"
helo = "auditor.auditor.test"
""", encoding="utf-8")
    return path


def _inbox(mail: Mail) -> list[EmailMessage]:
    """``OPS``'s INBOX, read over IMAP (TLS, the recipient's own login)."""
    ctx = ssl.create_default_context(cafile=str(mail.tls.ca))
    with imaplib.IMAP4_SSL("127.0.0.1", mail.dv.imaps_port or 0, ssl_context=ctx) as conn:
        conn.login(OPS, OPS_PASSWORD)
        conn.select("INBOX", readonly=True)
        _typ, data = conn.search(None, "ALL")
        out = []
        for number in data[0].split():
            _typ, parts = conn.fetch(number, "(RFC822)")
            raw = next(p[1] for p in parts if isinstance(p, tuple))
            out.append(email.message_from_bytes(raw, policy=default))
        return out  # type: ignore[return-value]


def _wait_delivered(mail: Mail, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while mail.dv.count(OPS) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"no alert in {OPS}'s Maildir; Postfix log:\n"
                                 f"{mail.relay.maillog.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def test_a_waves_email_alert_lands_in_a_postfix_mailbox_without_secrets(mail: Mail, tmp_path: Path) -> None:
    out, config = tmp_path / "audit", _config(tmp_path / "notify.toml", mail)
    first = Lab(_world(False)).start()
    try:
        ports = {"http_port": first.http_port, "https_port": first.https_port, "dns_port": first.dns_port}
        companies = first.write_companies_csv(tmp_path / "c.csv")
        run = auditor("audit", str(companies), "--out", str(out), "--nameserver", first.nameserver,
                      "--allow-private-targets", "--no-progress", "--delay", "0", "--timeout", "5", "--no-smtp",
                      env={**os.environ, **first.env()})
        assert run.returncode == 0, run.stderr
    finally:
        first.stop()
    with Lab(_world(True), **ports) as second:
        env = {**os.environ, **second.env()}
        run = auditor("wave", str(out), "--config", str(config), env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"-> mailto:{OPS}: delivered" in run.stdout, run.stdout
        _wait_delivered(mail, 1)
        again = auditor("wave", str(out), "--config", str(config), "--alerts-only", env=env)
        assert again.returncode == 0 and "already-delivered" in again.stdout, again.stdout + again.stderr
        check = auditor("check", second.website("alfa-gmbh.de"), "--out", str(tmp_path / "check"), "--nameserver",
                        second.nameserver, "--allow-private-targets", "--delay", "0", "--timeout", "5", "--no-smtp",
                        "--no-report", "--baseline", f"{out}@1", "--config", str(config), env=env)
        assert check.returncode == 1 and f"mailto:{OPS}: delivered" in check.stderr, check.stdout + check.stderr
        _wait_delivered(mail, 2)
    consoles = run.stdout + run.stderr + again.stdout + again.stderr + check.stdout + check.stderr

    msg, checked = _inbox(mail)  # the wave's once (the re-run sent nothing), then the check's
    assert "check-" in checked["Subject"] and "1 contact-gone" in checked["Subject"]
    assert "- contact-gone: alfa-gmbh.de: phone +493023125101: " in checked.get_body(("plain",)).get_content()
    assert msg["From"] == SENDER and msg["To"] == OPS and msg["Auto-Submitted"] == "auto-generated"
    assert "wave-2" in msg["Subject"] and "1 contact-gone" in msg["Subject"] and "1 site-down" in msg["Subject"]
    assert msg["Message-ID"].endswith("@auditor.test>")
    text = msg.get_body(("plain",)).get_content()
    assert "- contact-gone: Alfa <GmbH>: phone +493023125101: " in text and "Report: file://" in text
    assert "- site-down: Beta AG: site: site-down" in text
    (attachment,) = [p for p in msg.iter_attachments() if p.get_filename() == "alerts.json"]
    body = json.loads(attachment.get_content())
    assert body["event"] == "wave-2" and body["wave"] == 2
    assert {(a["alert"], a["value"]) for a in body["alerts"]} == {("contact-gone", "+493023125101"),
                                                                  ("site-down", None)}
    # Postfix's account: the alert came in over the authenticated submission port and was delivered
    log = mail.relay.maillog.read_text(errors="replace")
    assert f"sasl_username={SENDER}" in log and "status=sent" in log
    raw = [p.read_bytes() for sub in ("new", "cur") for p in (mail.dv.maildir(OPS) / sub).glob("*")]
    assert len(raw) == 2
    for secret in (PASSWORD, OPS_PASSWORD):
        assert not [m for m in raw if secret.encode() in m]
        assert secret not in consoles
        for path in (p for p in tmp_path.rglob("*") if p.is_file() and p.name != "smtp-password"):
            assert secret.encode() not in path.read_bytes(), path
