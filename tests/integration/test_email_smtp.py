"""The email validator against real loopback mail servers and the lab's DNS server.

The zone is a dict of records (tests/support/dns.py), served by the lab's real DNS
server, so every SMTP behaviour and DNS failure sits under a name of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import aiosmtplib
import pytest

from auditor.lab.dns import LabDNSServer
from auditor.lab.smtp import LabMailServers
from auditor.net.resolver import DnsResolver
from auditor.validate.email import EmailCheckConfig, EmailValidator
from tests.support.dns import serve_records

pytestmark = pytest.mark.integration

TIMEOUT = 2.0
GREYLIST_DELAY = 1.0


# One loopback address per lab mail host.
HOSTS = {
    "mailboxes": ("127.0.0.2", ["info", "sales"]),
    "accept-all": ("127.0.0.3", []),
    "greylist": ("127.0.0.4", ["info"]),
    "policy": ("127.0.0.5", ["info"]),
    "too-many-rcpt": ("127.0.0.6", ["info", "sales"]),
    "tarpit": ("127.0.0.7", ["info"]),
    "drop": ("127.0.0.8", ["info"]),
    "starttls": ("127.0.0.9", ["info"]),
    "421": ("127.0.0.10", ["info"]),
    "silent": ("127.0.0.11", []),
    "starttls-broken": ("127.0.0.12", ["info"]),
    "garbage": ("127.0.0.13", ["info"]),
}
SHARED_IP = "127.0.0.14"  # one MX host for several domains
BACKUP_IP = "127.0.0.15"  # a working backup MX
SILENT2_IP = "127.0.0.16"  # a second silent host, for the preflight
CLOSED_IP = "127.0.0.17"  # nothing listens: connection refused


def _zone() -> tuple[dict[str, dict[str, list[str]]], dict[str, str]]:
    records: dict[str, dict[str, list[str]]] = {}

    def domain(name: str, mx: list[str] | None = None, a: list[str] | None = None) -> None:
        records[name] = {}
        if mx is not None:
            records[name]["MX"] = mx
        if a is not None:
            records[name]["A"] = a

    def host(name: str, ip: str) -> None:
        records[name] = {"A": [ip]}

    for behaviour, (ip, _) in HOSTS.items():
        domain(f"{behaviour}.example", [f"10 mx.{behaviour}.example."])
        host(f"mx.{behaviour}.example", ip)
    host("mx.shared.example", SHARED_IP)
    for name in ("a-shared.example", "b-shared.example", "c-shared.example"):
        domain(name, ["10 mx.shared.example."])
    host("backup.example.net", BACKUP_IP)
    host("closed.example.net", CLOSED_IP)
    host("silent2.example.net", SILENT2_IP)
    domain("fallback.example", ["20 backup.example.net.", "10 closed.example.net."])
    domain("deferred.example", ["10 mx.421.example.", "20 backup.example.net."])
    domain("silent2.example", ["10 silent2.example.net."])
    for name in ("grey-a.example", "grey-b.example"):  # fresh greylist triplets per test
        domain(name, ["10 mx.greylist.example."])
    domain("nullmx.example", ["0 ."])
    domain("implicit.example", None, ["127.0.0.2"])
    domain("nomail.example")
    domain("deadmx.example", ["10 nowhere.example.net."])
    return records, {"servfail.example": "servfail", "slowdns.example": "timeout"}


@pytest.fixture(scope="module")
def dns_server() -> Iterator[LabDNSServer]:
    records, failures = _zone()
    with serve_records(records, failures) as server:
        yield server


@pytest.fixture(scope="module")
def lab() -> Iterator[LabMailServers]:
    specs = [(ip, behaviour, boxes) for behaviour, (ip, boxes) in HOSTS.items()]
    specs += [(SHARED_IP, "mailboxes", ["info", "sales"]), (BACKUP_IP, "mailboxes", ["info"]),
              (SILENT2_IP, "silent", [])]
    with LabMailServers(specs, tarpit_delay=30, greylist_delay=GREYLIST_DELAY) as servers:
        yield servers


@pytest.fixture()
def make(dns_server: LabDNSServer, lab: LabMailServers):
    lab.reset_counters()

    def factory(**overrides: object) -> EmailValidator:
        settings: dict[str, object] = dict(
            smtp_port=lab.port, timeout=TIMEOUT, greylist_retry_delay=GREYLIST_DELAY,
            allow_private=True, helo="checker.lab.example", mail_from="audit@checker.lab.example",
        )
        settings.update(overrides)
        resolver = DnsResolver(f"127.0.0.1:{dns_server.port}", timeout=1.0)
        return EmailValidator(resolver, EmailCheckConfig(**settings))  # type: ignore[arg-type]

    return factory


def run(validator: EmailValidator, addresses: list[str]):
    return asyncio.run(validator.validate_many(addresses))


def test_every_behaviour_gets_its_verdict(make, lab: LabMailServers) -> None:
    validator = make()
    expected = {
        "info@mailboxes.example": ("active", "mailbox-exists"),
        "nobody@mailboxes.example": ("inactive", "no-such-mailbox"),
        "info@accept-all.example": ("unknown", "accept-all"),
        "info@greylist.example": ("active", "mailbox-exists"),
        "ghost@greylist.example": ("inactive", "no-such-mailbox"),
        "info@policy.example": ("unknown", "blocked-by-policy"),
        "info@too-many-rcpt.example": ("active", "mailbox-exists"),
        "nobody@too-many-rcpt.example": ("inactive", "no-such-mailbox"),
        "sales@too-many-rcpt.example": ("active", "mailbox-exists"),
        "info@tarpit.example": ("unknown", "smtp-timeout"),
        "info@drop.example": ("unknown", "smtp-error"),
        "info@starttls.example": ("active", "mailbox-exists"),
        "nobody@starttls.example": ("inactive", "no-such-mailbox"),
        "info@421.example": ("unknown", "greylisted"),
        "info@silent.example": ("unknown", "smtp-timeout"),
        "info@starttls-broken.example": ("active", "mailbox-exists"),
        "info@garbage.example": ("unknown", "smtp-error"),
    }
    start = time.monotonic()
    results = run(validator, list(expected))
    elapsed = time.monotonic() - start
    got = {k: (v.verdict, v.reason) for k, v in results.items()}
    assert got == expected
    # Timeouts ran concurrently with everything else, and the greylist wait happened once.
    assert elapsed < 3 * TIMEOUT + GREYLIST_DELAY + 3
    assert lab.data_commands == 0
    assert max(lab.max_concurrent.values()) == 1
    assert "greylisted" in results["info@greylist.example"].flags
    assert "accept-all" in results["info@accept-all.example"].flags
    # The greylisted host saw: first pass, catch-all probe, re-probe, catch-all re-probe.
    assert lab.sessions[HOSTS["greylist"][0]] == 4
    # The too-many-rcpt host: a 452 to the second RCPT opened new sessions, no verdict from it.
    assert lab.sessions[HOSTS["too-many-rcpt"][0]] >= 3
    assert all(v.kind == "email" and v.message for v in results.values())


def test_one_session_per_mx_per_batch(make, lab: LabMailServers) -> None:
    addresses = [f"{local}@{d}-shared.example" for d in "abc" for local in ("info", "sales", "nobody")]
    results = run(make(catch_all_probe=False), addresses)
    assert lab.sessions[SHARED_IP] == 1
    assert lab.rcpts[SHARED_IP] == 9
    assert lab.command_count("MAIL", SHARED_IP) == 9
    assert lab.command_count("RSET", SHARED_IP) == 8  # between recipients
    assert lab.command_count("QUIT", SHARED_IP) == 1
    assert lab.data_commands == 0
    assert [r.verdict for r in results.values()] == ["active", "active", "inactive"] * 3

    lab.reset_counters()
    results = run(make(), addresses)
    # The real recipients in one session, the three domains' catch-all probes in one more.
    assert lab.sessions[SHARED_IP] == 2
    assert lab.rcpts[SHARED_IP] == 9 + 3
    assert lab.max_concurrent[SHARED_IP] == 1
    probe = next(c for c in results["info@a-shared.example"].checks if c.name == "catch-all")
    assert probe.verdict == "active" and probe.reason == "not-accept-all"
    local = probe.evidence["probe"].split("@")[0]
    assert len(local) == 24 and probe.evidence["probe"].endswith("@a-shared.example")


def test_session_size_and_concurrency_limits(make, lab: LabMailServers) -> None:
    addresses = [f"user{i}@a-shared.example" for i in range(7)]
    run(make(catch_all_probe=False, max_recipients_per_session=3), addresses)
    assert lab.sessions[SHARED_IP] == 3  # 3 + 3 + 1
    assert lab.max_concurrent[SHARED_IP] == 1
    lab.reset_counters()
    run(make(catch_all_probe=False, max_recipients_per_session=1, per_mx_concurrency=2), addresses[:4])
    assert lab.sessions[SHARED_IP] == 4
    assert lab.max_concurrent[SHARED_IP] <= 2


def test_catch_all_result_is_cached_per_domain(make, lab: LabMailServers) -> None:
    validator = make()
    first = run(validator, ["a@accept-all.example"])
    second = run(validator, ["b@accept-all.example"])
    assert first["a@accept-all.example"].reason == second["b@accept-all.example"].reason == "accept-all"
    assert lab.sessions[HOSTS["accept-all"][0]] == 3  # two real sessions, one catch-all probe


def test_greylisted_address_is_reprobed_once_after_the_delay(make, lab: LabMailServers) -> None:
    start = time.monotonic()
    result = run(make(catch_all_probe=False), ["info@grey-a.example", "nope@grey-a.example"])
    elapsed = time.monotonic() - start
    ok, gone = result["info@grey-a.example"], result["nope@grey-a.example"]
    assert (ok.verdict, ok.reason, ok.flags) == ("active", "mailbox-exists", ("greylisted",))
    assert (gone.verdict, gone.reason) == ("inactive", "no-such-mailbox")
    rcpt = next(c for c in ok.checks if c.name == "smtp-rcpt")
    assert rcpt.evidence["earlier_attempts"][0]["code"] == 450
    assert elapsed >= GREYLIST_DELAY
    assert lab.sessions[HOSTS["greylist"][0]] == 2  # first try, one re-probe: no tight loop


def test_greylist_still_deferred_stays_unknown(make, lab: LabMailServers) -> None:
    result = run(make(greylist_retry_delay=0.05), ["info@grey-b.example"])
    verdict = result["info@grey-b.example"]
    assert (verdict.verdict, verdict.reason) == ("unknown", "greylisted")
    assert lab.sessions[HOSTS["greylist"][0]] == 4  # never more than one retry


def test_slow_servers_cost_at_most_the_timeout(make) -> None:
    addresses = ["info@tarpit.example", "info@silent.example"]
    start = time.monotonic()
    results = run(make(preflight=False), addresses)
    assert time.monotonic() - start < TIMEOUT * 3
    for address in addresses:
        result = results[address]
        assert (result.verdict, result.reason) == ("unknown", "smtp-timeout")
        rcpt = next(c for c in result.checks if c.name == "smtp-rcpt")
        assert "greeting" in rcpt.evidence["transcript"][0]["error"]
        assert rcpt.duration_ms < TIMEOUT * 1000 * 1.5


def test_dropped_connection_keeps_the_transcript(make) -> None:
    result = run(make(), ["info@drop.example"])["info@drop.example"]
    rcpt = next(c for c in result.checks if c.name == "smtp-rcpt")
    assert (rcpt.verdict, rcpt.reason) == ("unknown", "smtp-error")
    sent = [entry["send"] for entry in rcpt.evidence["transcript"]]
    assert sent[:2] == [None, "EHLO checker.lab.example"]
    assert sent[-1].startswith("MAIL FROM:") and rcpt.evidence["transcript"][-1]["error"] == "connection lost"


def test_starttls_is_used_and_recorded(make, lab: LabMailServers) -> None:
    result = run(make(catch_all_probe=False), ["info@starttls.example"])["info@starttls.example"]
    rcpt = next(c for c in result.checks if c.name == "smtp-rcpt")
    assert rcpt.evidence["tls"]["version"].startswith("TLS")
    assert lab.command_count("STARTTLS", HOSTS["starttls"][0]) == 1
    assert rcpt.evidence["mx"] == "mx.starttls.example" and rcpt.evidence["ip"] == HOSTS["starttls"][0]
    assert rcpt.evidence["port"] == lab.port
    entry = rcpt.evidence["transcript"][-1]
    assert entry["send"] == "RCPT TO:<info@starttls.example>" and entry["code"] == 250
    assert entry["enhanced"] == "2.1.5"


def test_broken_starttls_falls_back_to_plain(make) -> None:
    result = run(make(catch_all_probe=False), ["info@starttls-broken.example"])["info@starttls-broken.example"]
    rcpt = next(c for c in result.checks if c.name == "smtp-rcpt")
    assert result.verdict == "active"
    assert rcpt.evidence["tls"].startswith("failed, retried without TLS")


def test_next_mx_on_connection_failure_and_421(make) -> None:
    results = run(make(catch_all_probe=False), ["info@fallback.example", "info@deferred.example"])
    for address in results:
        verdict = results[address]
        assert (verdict.verdict, verdict.reason) == ("active", "mailbox-exists"), address
        rcpt = next(c for c in verdict.checks if c.name == "smtp-rcpt")
        assert rcpt.evidence["ip"] == BACKUP_IP
        assert rcpt.evidence["failed_hosts"][0]["ip"] in (CLOSED_IP, HOSTS["421"][0])


def test_dns_outcomes(make, lab: LabMailServers) -> None:
    results = run(make(), [
        "a@nullmx.example", "a@nxdomain-here.example", "a@servfail.example", "a@slowdns.example",
        "a@nomail.example", "a@deadmx.example", "info@implicit.example", "not an address",
    ])
    got = {k: (v.verdict, v.reason) for k, v in results.items()}
    assert got == {
        "a@nullmx.example": ("inactive", "null-mx"),
        "a@nxdomain-here.example": ("inactive", "nxdomain"),
        "a@servfail.example": ("unknown", "dns-servfail"),
        "a@slowdns.example": ("unknown", "dns-timeout"),
        "a@nomail.example": ("inactive", "no-mail-host"),
        "a@deadmx.example": ("inactive", "no-mail-host"),
        "info@implicit.example": ("active", "mailbox-exists"),
        "not an address": ("inactive", "invalid-syntax"),
    }
    assert "implicit-mx" in results["info@implicit.example"].flags
    dns_check = next(c for c in results["a@nullmx.example"].checks if c.name == "email-dns")
    assert dns_check.evidence["answers"][0]["records"] == ["0 ."]


def test_private_mail_hosts_are_never_contacted(make, lab: LabMailServers) -> None:
    results = run(make(allow_private=False), ["info@mailboxes.example", "info@implicit.example"])
    assert {(v.verdict, v.reason) for v in results.values()} == {("unknown", "mx-private")}
    assert sum(lab.sessions.values()) == 0


def test_dns_only_and_lookup_cache(make, lab: LabMailServers, dns_server: LabDNSServer) -> None:
    validator = make(smtp=False)
    dns_server.clear_queries()
    first = run(validator, ["info@mailboxes.example", "sales@mailboxes.example"])
    sent = validator.resolver.queries_sent  # type: ignore[attr-defined]
    assert sent == 3  # MX, then A and AAAA of the one MX host
    assert dns_server.queries == {
        ("mailboxes.example", "MX"): 1, ("mx.mailboxes.example", "A"): 1, ("mx.mailboxes.example", "AAAA"): 1,
    }
    run(validator, ["other@mailboxes.example"])
    assert validator.resolver.queries_sent == sent  # type: ignore[attr-defined]
    assert {(v.verdict, v.reason) for v in first.values()} == {("unknown", "mx-found")}
    assert sum(lab.sessions.values()) == 0


def test_preflight_declares_port_blocked_once(make, lab: LabMailServers, caplog: pytest.LogCaptureFixture) -> None:
    """No greeting within the timeout from every probed host -> port-25-blocked, not N timeouts.

    On loopback a firewall's silent DROP cannot be made without root, so the silent
    and tarpit hosts stand in for it: TCP opens but no SMTP greeting ever comes,
    which is what a filtering middlebox looks like too.
    """
    validator = make()
    addresses = ["info@silent.example", "info@tarpit.example", "info@silent2.example", "info@mailboxes.example"]
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="auditor.validate.email"):
        results = run(validator, addresses)
        again = run(validator, ["sales@mailboxes.example"])
    assert time.monotonic() - start < TIMEOUT * 3
    assert {(v.verdict, v.reason) for v in results.values()} == {("unknown", "port-25-blocked")}
    assert again["sales@mailboxes.example"].reason == "port-25-blocked"
    assert lab.sessions[HOSTS["mailboxes"][0]] == 0  # waited for the preflight, never connected
    dns_check = next(c for c in results["info@mailboxes.example"].checks if c.name == "email-dns")
    assert dns_check.verdict == "active"
    blocked = [r for r in caplog.records if "port" in r.getMessage() and "blocked" in r.getMessage()]
    assert len(blocked) == 1


def test_preflight_passes_when_one_host_greets(make, lab: LabMailServers) -> None:
    results = run(make(catch_all_probe=False), ["info@silent.example", "info@mailboxes.example", "info@tarpit.example"])
    assert results["info@mailboxes.example"].reason == "mailbox-exists"
    assert results["info@silent.example"].reason == "smtp-timeout"


def test_validate_single_and_never_raises(make) -> None:
    validator = make()
    verdict = asyncio.run(validator.validate("Info@MailBoxes.Example"))
    assert verdict.value == "info@mailboxes.example" and verdict.verdict == "active"
    odd = run(validator, ["", "@", "a@@b.example", "image@2x.png"])
    assert all(v.verdict in ("inactive", "unknown") for v in odd.values())
    # A non-ASCII local part needs SMTPUTF8, which the lab host does not offer.
    utf8 = run(validator, ["jörg@mailboxes.example"])["jörg@mailboxes.example"]
    assert (utf8.verdict, utf8.reason) == ("unknown", "smtputf8-unsupported")
    names = [c.name for c in verdict.checks]
    assert names == ["email-syntax", "email-dns", "smtp-rcpt", "catch-all"]
    assert all(c.started_at > 0 and c.duration_ms >= 0 for c in verdict.checks)


def test_the_smtp_client_is_injected(dns_server: LabDNSServer, lab: LabMailServers) -> None:
    """Every session goes through the client class handed in (here one that remembers its hosts)."""
    opened: list[str] = []

    class Recording(aiosmtplib.SMTP):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            opened.append(str(kwargs["hostname"]))

    config = EmailCheckConfig(
        smtp_port=lab.port, timeout=TIMEOUT, allow_private=True, catch_all_probe=False,
        helo="checker.lab.example", mail_from="audit@checker.lab.example",
    )
    resolver = DnsResolver(f"127.0.0.1:{dns_server.port}", timeout=1.0)
    validator = EmailValidator(resolver, config, smtp_client=Recording)
    result = run(validator, ["info@mailboxes.example"])["info@mailboxes.example"]
    assert (result.verdict, result.reason) == ("active", "mailbox-exists")
    assert opened == [HOSTS["mailboxes"][0]]
