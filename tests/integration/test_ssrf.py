"""SSRF (issue 6): without --allow-private-targets nothing connects to a non-public address.

Every protocol the tool speaks today is tested: the HTTP crawl (Scrapy), the HTTP checks
of the validators (aiohttp) and SMTP. On loopback every lab address is private, so the
plain cases assert that the lab saw nothing at all -- no HTTP request, no SMTP session --
and that the record says ``private-address-refused`` (``mx-private`` for mail).

Redirects need a first hop that is allowed. Here 127.0.0.1 plays the public Internet
(the crawl runs with the address rule patched to permit exactly that one address; the
HTTP client gets such a policy): a lab site redirects to the metadata address, to a name
answering 10.0.0.1, to another loopback address, to IPv6 and IPv4-mapped literals. A
trap listener on 127.0.0.2 and ::1 counts connections: there must be none.

Not covered here (being written by others): the SIP line probe and the browser mode.
Both must pass their connections through ``auditor.net.guard.AddressPolicy`` the same way;
their tests belong with them (sip-proxy-refused, browser request interception).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.lab import Lab
from auditor.lab.world import parse_world
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import DnsResolver
from auditor.validate.email import EmailCheckConfig, EmailValidator
from auditor.validate.http import HttpClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COMMON = ["--delay", "0", "--timeout", "3", "--no-progress", "--contact-url", "https://lab.test/crawler"]


def auditor(*args: str, env: dict[str, str] | None = None, script: Path | None = None) -> subprocess.CompletedProcess[str]:
    head = [sys.executable, str(script)] if script else [sys.executable, "-m", "auditor.cli"]
    return subprocess.run([*head, *args], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, **(env or {})})


class Trap:
    """Listeners on 127.0.0.2 and ::1 that count every connection made to them."""

    def __init__(self) -> None:
        self.accepted: list[tuple[str, Any]] = []
        self.sockets: list[socket.socket] = []
        self.ports: dict[str, int] = {}
        for family, host in ((socket.AF_INET, "127.0.0.2"), (socket.AF_INET6, "::1")):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sock.listen(16)
            sock.settimeout(0.2)
            self.sockets.append(sock)
            self.ports[host] = sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._serve, args=(s,), daemon=True) for s in self.sockets]
        for t in self._threads:
            t.start()

    def _serve(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = sock.accept()
            except OSError:
                continue
            self.accepted.append((sock.getsockname()[0], peer))
            conn.close()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        for s in self.sockets:
            s.close()


@pytest.fixture(scope="module")
def trap() -> Iterator[Trap]:
    t = Trap()
    yield t
    t.close()


def _gateway_world(trap: Trap) -> str:
    v4, v6 = trap.ports["127.0.0.2"], trap.ports["::1"]
    targets = {
        "/kontakt-metadata": "http://169.254.169.254/latest/meta-data/",
        "/kontakt-ten": "http://ten.ssrf-gateway.de/",
        "/kontakt-intra": f"http://intra.ssrf-gateway.de:{v4}/",
        "/kontakt-literal": f"http://127.0.0.2:{v4}/",
        "/kontakt-v6": f"http://[::1]:{v6}/",
        "/kontakt-mapped": f"http://[::ffff:127.0.0.2]:{v4}/",
    }
    links = "".join(f'<p><a href="{path}">Kontakt {path[9:]}</a></p>' for path in targets)
    pages = "".join(f'[[company.pages]]\npath = "{p}"\nredirect = "{t}"\n' for p, t in targets.items())
    return f'''
[world]
name = "ssrf"
[[company]]
name = "SSRF Gateway GmbH"
domain = "ssrf-gateway.de"
country = "DE"
[[company.pages]]
path = "/"
main = '{links}'
{pages}
[company.dns]
records = {{ "intra" = {{ a = ["127.0.0.2"] }}, "ten" = {{ a = ["10.0.0.1"] }} }}
'''


REDIRECTS = ("metadata", "ten", "intra", "literal", "v6", "mapped")


@pytest.fixture(scope="module")
def gateway(trap: Trap) -> Iterator[Lab]:
    with Lab(parse_world(_gateway_world(trap))) as running:
        yield running


class OnlyLabWeb(AddressPolicy):
    """127.0.0.1 plays the public Internet; every other non-public address stays refused."""

    def permits(self, address: str) -> bool:
        return address.strip("[]") == "127.0.0.1" or super().permits(address)


PATCHED_CLI = """
import sys
sys.path.insert(0, {root!r})
import auditor.net.guard as guard
_real = guard.is_public_address
guard.is_public_address = lambda address: address.strip("[]") == "127.0.0.1" or _real(address)
from auditor.cli import main
sys.exit(main(sys.argv[1:]))
"""


# --------------------------------------------------------------------------- HTTP crawl


def test_crawl_contacts_no_lab_name(lab: Lab, tmp_path: Path) -> None:
    lab.reset_logs()
    handshakes = lab.https_server.handshake_failures  # counts every TLS connection that failed
    csv_path = lab.write_companies_csv(tmp_path / "c.csv", ["kovacs-szerviz.hu", "robotfirma.de", "teashop.co.uk"])
    out = tmp_path / "out"
    proc = auditor("audit", str(csv_path), "--out", str(out), "--nameserver", lab.nameserver,
                   "--smtp-port", str(lab.smtp_port), *COMMON, env=lab.env())
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert {tuple(f["tag"] for f in c["failures"]) for c in doc["companies"]} == {("private-address-refused",)}
    assert len(lab.requests) == 0 and lab.https_server.handshake_failures == handshakes
    assert not (lab.mail_servers and lab.mail_servers.snapshot()["sessions"])


def test_crawl_refuses_ip_literals(lab: Lab, tmp_path: Path) -> None:
    lab.reset_logs()
    port, tls = lab.http_port, lab.https_port
    literals = [
        f"http://127.0.0.1:{port}/", f"https://127.0.0.1:{tls}/", f"http://127.0.0.2:{port}/",
        f"http://0.0.0.0:{port}/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
        "http://192.168.1.1/", "http://172.16.0.1/", "http://100.64.0.1/", "http://224.0.0.1/",
        "http://192.0.2.10/", "http://240.0.0.1/",
    ]
    # Rows the input reader refuses never reach the network either (IPv6 literals:
    # see the note to the lead about inputs.normalize_website dropping brackets).
    refused_by_input = [f"http://2130706433:{port}/", f"http://127.1:{port}/", f"http://localhost:{port}/"]
    rows = "name,website\n" + "".join(f"literal {i},{u}\n" for i, u in enumerate(literals + refused_by_input))
    (tmp_path / "c.csv").write_text(rows)
    out = tmp_path / "out"
    proc = auditor("audit", str(tmp_path / "c.csv"), "--out", str(out), "--nameserver", lab.nameserver,
                   "--no-validate", *COMMON, env=lab.env())
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "results.json").read_text())
    assert len(doc["companies"]) == len(literals)
    for company in doc["companies"]:
        assert company["status"] == "failed"
        assert {f["tag"] for f in company["failures"]} == {"private-address-refused"}, company["website"]
        assert all(p["status"] is None for p in company["pages"])
    assert len(doc["input_errors"]) == len(refused_by_input)
    assert len(lab.requests) == 0


def test_crawl_redirects_to_private_addresses_are_refused(gateway: Lab, trap: Trap, tmp_path: Path) -> None:
    """Each hop is checked: literals by the address guard, names by the resolver."""
    script = tmp_path / "patched_cli.py"
    script.write_text(PATCHED_CLI.format(root=str(ROOT)))
    # Named explicitly: a company whose names answer 10.0.0.1 is never listed unasked.
    csv_path = gateway.write_companies_csv(tmp_path / "c.csv", ["ssrf-gateway.de"])
    out = tmp_path / "out"
    proc = auditor("audit", str(csv_path), "--out", str(out), "--nameserver", gateway.nameserver,
                   "--no-validate", *COMMON, script=script, env=gateway.env())
    assert proc.returncode == 0, proc.stderr
    (company,) = json.loads((out / "results.json").read_text())["companies"]
    assert company["status"] == "done"  # the allowed first hop was crawled
    by_path = {p["url"].split("/", 3)[3]: p for p in company["pages"]}
    hops = {r.decoded_path for r in gateway.requests}
    for name in REDIRECTS:
        assert f"/kontakt-{name}" in hops, f"the crawl never tried /kontakt-{name}"
    refused = [p for p in company["pages"] if p["error_tag"] == "private-address-refused"]
    assert len(refused) >= len(REDIRECTS), by_path
    assert trap.accepted == [], f"connections reached the trap: {trap.accepted}"
    assert {r.host for r in gateway.requests} == {"ssrf-gateway.de"}


# --------------------------------------------------------------------------- HTTP checks


def test_http_checks_refuse_lab_names_and_literals(lab: Lab) -> None:
    lab.reset_logs()
    urls = [lab.website("kovacs-szerviz.hu"), "https://t.me/tehnoservis_help", f"http://127.0.0.1:{lab.http_port}/",
            f"http://[::1]:{lab.http_port}/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
            f"http://[::ffff:127.0.0.1]:{lab.http_port}/"]

    async def fetch_all() -> list[Any]:
        async with HttpClient(DnsResolver(lab.nameserver, 2), AddressPolicy(False), user_agent="ssrf-test",
                              timeout=3, port_overrides={"http": lab.http_port, "https": lab.https_port},
                              ca_file=lab.ca_file) as client:
            return [await client.fetch(u) for u in urls]

    for url, result in zip(urls, asyncio.run(fetch_all()), strict=True):
        assert result.error == "private-address-refused", (url, result.error, result.message)
    assert len(lab.requests) == 0


def test_http_check_redirect_hops_are_refused(gateway: Lab, trap: Trap) -> None:
    async def fetch_all() -> list[Any]:
        async with HttpClient(DnsResolver(gateway.nameserver, 2), OnlyLabWeb(False), user_agent="ssrf-test",
                              timeout=3, port_overrides={"http": gateway.http_port}) as client:
            return [await client.fetch(gateway.url(f"http://ssrf-gateway.de/kontakt-{n}")) for n in REDIRECTS]

    for name, result in zip(REDIRECTS, asyncio.run(fetch_all()), strict=True):
        assert result.error == "private-address-refused", (name, result.error, result.message)
        assert result.chain[0]["status"] == 301  # the first hop was fetched, the second refused
    assert trap.accepted == []


def test_verify_url_refuses(lab: Lab) -> None:
    lab.reset_logs()
    for url in (lab.website("kovacs-szerviz.hu"), "http://169.254.169.254/latest/meta-data/"):
        proc = auditor("verify", "url", url, "--nameserver", lab.nameserver, "--json", env=lab.env())
        doc = json.loads(proc.stdout)
        assert (doc["verdict"], doc["reason"]) == ("unknown", "private-address-refused"), doc
    assert len(lab.requests) == 0


# --------------------------------------------------------------------------- SMTP


def test_smtp_never_reaches_a_loopback_mail_host(lab: Lab) -> None:
    lab.reset_logs()
    servers = lab.mail_servers
    assert servers is not None
    addresses = ["info@kovacs-szerviz.hu", "info@robotfirma.de", "hello@teashop.co.uk"]
    implicit = [m.company for m in lab.world.mail_hosts if m.implicit]
    addresses += [f"info@{d}" for d in implicit[:1]]
    config = EmailCheckConfig(smtp_port=lab.smtp_port or 25, helo="probe.lab.test", mail_from="p@lab.test",
                              timeout=3, allow_private=False)
    verdicts = asyncio.run(EmailValidator(DnsResolver(lab.nameserver, 2), config).validate_many(addresses))
    reasons = {v.reason for v in verdicts.values()}
    assert reasons <= {"mx-private", "null-mx", "nxdomain", "no-mail-host"}, reasons
    assert "mx-private" in reasons
    for address in (*addresses, "info@[127.0.0.1]"):
        proc = auditor("verify", "email", address, "--nameserver", lab.nameserver, "--smtp-port",
                       str(lab.smtp_port), "--helo", "probe.lab.test", "--mail-from", "p@lab.test", "--json")
        doc = json.loads(proc.stdout)
        assert doc["reason"] in {"mx-private", "invalid-syntax"}, (address, doc["reason"])
    assert servers.snapshot()["sessions"] == {}, servers.snapshot()
