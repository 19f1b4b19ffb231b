"""The email validator against a real Postfix MX and dnsmasq: the servers users meet.

Postfix rejects unknown users of its virtual mailbox table with its own reply
(550 5.1.1 ... User unknown in virtual mailbox table); the validator must read
that as no-such-mailbox, accept listed mailboxes, and never send DATA.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from auditor.net.resolver import DnsResolver
from auditor.validate.email import EmailCheckConfig, EmailValidator
from tests.support.servers import dnsmasq, postfix

DOMAIN = "auditor-conformance.de"  # answered only by the dnsmasq on loopback


@pytest.fixture(scope="module")
def mx() -> tuple[int, Path]:
    with postfix(DOMAIN, ["info", "ugyfelszolgalat"]) as (port, maillog):
        yield port, maillog


def _zone() -> list[str]:
    return [
        f"--local=/{DOMAIN}/",
        f"--mx-host={DOMAIN},mx.{DOMAIN},10",
        f"--host-record=mx.{DOMAIN},127.0.0.1",
        f"--mx-host=nullmx.{DOMAIN},.,0",
        f"--host-record=nomx.{DOMAIN},127.0.0.1",
    ]


def test_postfix_mailboxes_and_rejections(mx: tuple[int, Path]) -> None:
    port, maillog = mx
    with dnsmasq(_zone()) as nameserver:
        config = EmailCheckConfig(
            smtp_port=port, helo="probe.auditor.test", mail_from="probe@auditor.test", timeout=10,
            allow_private=True, greylist_retry_delay=1, catch_all_probe=True,
        )
        validator = EmailValidator(DnsResolver(nameserver, timeout=3), config)
        found = asyncio.run(validator.validate_many([
            f"info@{DOMAIN}", f"ugyfelszolgalat@{DOMAIN}", f"nobody@{DOMAIN}",
            f"info@nullmx.{DOMAIN}", f"info@missing.{DOMAIN}",
        ]))
    assert (found[f"info@{DOMAIN}"].verdict, found[f"info@{DOMAIN}"].reason) == ("active", "mailbox-exists")
    assert found[f"ugyfelszolgalat@{DOMAIN}"].verdict == "active"
    nobody = found[f"nobody@{DOMAIN}"]
    assert (nobody.verdict, nobody.reason) == ("inactive", "no-such-mailbox")
    transcript = next(c for c in nobody.checks if c.name == "smtp-rcpt").evidence["transcript"]
    assert any("User unknown" in str(step.get("text", "")) for step in transcript), transcript
    assert (found[f"info@nullmx.{DOMAIN}"].verdict, found[f"info@nullmx.{DOMAIN}"].reason) == ("inactive", "null-mx")
    assert (found[f"info@missing.{DOMAIN}"].verdict, found[f"info@missing.{DOMAIN}"].reason) == ("inactive", "nxdomain")
    # Postfix's own account of every session: RCPT yes, DATA never.
    sessions = [line for line in maillog.read_text(errors="replace").splitlines()
                if "disconnect from" in line and "rcpt=" in line]
    assert sessions, "Postfix logged no SMTP session"
    assert not any(" data=" in line or " bdat=" in line for line in sessions), sessions


def test_postfix_is_not_a_catch_all(mx: tuple[int, Path]) -> None:
    port, _ = mx
    with dnsmasq(_zone()) as nameserver:
        config = EmailCheckConfig(smtp_port=port, helo="probe.auditor.test", mail_from="probe@auditor.test",
                                  timeout=10, allow_private=True)
        verdict = asyncio.run(EmailValidator(DnsResolver(nameserver, timeout=3), config).validate(f"info@{DOMAIN}"))
    catch_all = next(c for c in verdict.checks if c.name == "catch-all")
    # Postfix rejected the random address, so the real mailbox's acceptance means something.
    assert (catch_all.verdict, catch_all.reason) == ("active", "not-accept-all")
    assert (verdict.verdict, verdict.reason) == ("active", "mailbox-exists")
    assert "accept-all" not in verdict.flags
