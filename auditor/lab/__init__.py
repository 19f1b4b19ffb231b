"""The lab: an offline world of fictional companies served by real loopback servers.

Tests, benchmarks and the offline demo run the real crawler and validators against
it, so nothing ever needs the Internet and every result can be checked against the
world's ground truth::

    with Lab() as lab:
        lab.website("kovacs-szerviz.hu")   # 'http://kovacs-szerviz.hu:PORT/'
        lab.nameserver                     # '127.0.0.1:PORT' (UDP and TCP)
        lab.requests.paths("robotfirma.de")
        lab.smtp_port                      # every lab mail host (127.0.0.x) listens here
        lab.https_port, lab.ca_file        # the same sites over TLS, and the CA to trust
        lab.network_options()              # what the validators need to reach all of it

Servers: HTTP and HTTPS (Host-routed sites of companies and platforms), DNS
(authoritative for the world, REFUSED for everything else) and one SMTP listener per
mail host address, all on loopback. Nothing in the world resolves to anything else.
"""

from __future__ import annotations

import csv
import ipaddress
import json
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from auditor.lab.dns import LabDNSServer
from auditor.lab.http import LabHTTPServer, LoggedRequest, RequestLog
from auditor.lab.smtp import LabMailServers, MailHostSpec
from auditor.lab.tls import LabCA
from auditor.lab.world import (
    MailHost,
    Truth,
    TruthContact,
    World,
    WorldCompany,
    WorldError,
    lab_url,
    load_world,
)

if TYPE_CHECKING:
    from auditor.net.options import NetworkOptions

__all__ = [
    "Lab",
    "LoggedRequest",
    "MailHost",
    "RequestLog",
    "Truth",
    "TruthContact",
    "World",
    "WorldCompany",
    "WorldError",
    "load_world",
    "mail_specs",
    "GREYLIST_DELAY",
    "TARPIT_DELAY",
]

CSV_FIELDS = ("name", "website", "country", "industry", "language")
ENV_PORTS = "AUDITOR_HTTP_PORT_OVERRIDES"
ENV_CA = "AUDITOR_CA_FILE"
# Short on purpose: a test run must not wait for real-world greylisting or tarpits.
GREYLIST_DELAY = 1.0
TARPIT_DELAY = 10.0


def mail_specs(world: World) -> list[MailHostSpec]:
    """One SMTP server per address: hosts sharing an address pool their mailboxes."""
    by_ip: dict[str, tuple[str, set[str]]] = {}
    for host in world.mail_hosts:
        if host.behaviour == "closed":
            continue  # nothing listens: connection refused
        by_ip.setdefault(host.ip, (host.behaviour, set()))[1].update(host.mailboxes)
    return [
        MailHostSpec(ip, behaviour, frozenset(boxes)) for ip, (behaviour, boxes) in by_ip.items()
    ]


class Lab:
    """Runs the world's HTTP, HTTPS, DNS and SMTP servers in background threads.

    ``greylist_delay`` is how long a greylisting host defers a new (client, recipient)
    pair; ``tarpit_delay`` how long a tarpit withholds its banner. A validator whose
    SMTP timeout is shorter than the tarpit sees a timeout, which is the world's truth.
    """

    def __init__(
        self,
        world: World | None = None,
        host: str = "127.0.0.1",
        http_port: int = 0,
        dns_port: int = 0,
        *,
        https_port: int = 0,
        smtp_port: int = 0,
        greylist_delay: float = GREYLIST_DELAY,
        tarpit_delay: float = TARPIT_DELAY,
        smtp_latency: float = 0.0,
    ) -> None:
        ip = ipaddress.ip_address(host)
        if ip.version != 4 or not ip.is_loopback:
            raise ValueError(f"the lab listens on an IPv4 loopback address only, not {host!r}")
        self.world = world if world is not None else load_world()
        self.host = host
        self.greylist_delay = greylist_delay
        self.tarpit_delay = tarpit_delay
        self._http = LabHTTPServer(self.world, host, http_port)
        self._https_port = https_port
        self._https: LabHTTPServer | None = None
        self._ca: LabCA | None = None
        self._dns = LabDNSServer(self.world, host, dns_port)
        specs = mail_specs(self.world)
        self._smtp = (
            LabMailServers(
                specs,
                smtp_port,
                latency=smtp_latency,
                tarpit_delay=tarpit_delay,
                greylist_delay=greylist_delay,
                hostname=f"mx.{self.world.name}.lab.test",
            )
            if specs
            else None
        )
        self._running = False

    # -- lifecycle

    def start(self) -> Lab:
        if self._running:
            return self
        started: list[object] = []
        try:
            self._http.start()
            started.append(self._http)
            self._ca = LabCA(f"contact-auditor lab CA ({self.world.name})")
            bad = {h: c.tls for c in self.world.companies if c.tls != "valid" for h in c.hosts}
            tls = self._ca.server_context(self.world.hostnames, bad)
            self._https = LabHTTPServer(
                self.world, self.host, self._https_port, tls=tls, log=self._http.log
            )
            self._https.start(sites=self._http.sites)
            started.append(self._https)
            self._dns.start()
            started.append(self._dns)
            if self._smtp is not None:
                self._smtp.start()
        except BaseException:
            for server in reversed(started):
                server.stop()  # type: ignore[attr-defined]
            if self._ca is not None:
                self._ca.cleanup()
                self._ca = None
            raise
        self._running = True
        return self

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        if self._smtp is not None:
            self._smtp.stop()
        self._dns.stop()
        if self._https is not None:
            self._https.stop()
        self._http.stop()
        if self._ca is not None:
            self._ca.cleanup()
            self._ca = None

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where things are

    @property
    def http_port(self) -> int:
        return self._http.port

    @property
    def dns_port(self) -> int:
        return self._dns.port

    @property
    def nameserver(self) -> str:
        """``host:port`` of the lab's DNS server, for the resolver settings."""
        return f"{self.host}:{self.dns_port}"

    @property
    def https_port(self) -> int:
        """The TLS twin of the HTTP port: same sites, certificates from :attr:`ca_file`."""
        if self._https is None:
            raise RuntimeError("the lab is not running")
        return self._https.port

    @property
    def ca_file(self) -> str:
        """PEM of the lab CA (exists while the lab runs): trust it to verify lab HTTPS."""
        if self._ca is None:
            raise RuntimeError("the lab is not running")
        return str(self._ca.ca_file)

    @property
    def smtp_port(self) -> int | None:
        """The one SMTP port of every lab mail host; None when the world declares none."""
        return self._smtp.port if self._smtp is not None else None

    @property
    def mail_servers(self) -> LabMailServers | None:
        """The SMTP servers, for their counters (sessions, RCPTs, DATA never sent)."""
        return self._smtp

    def mail_host(self, name: str) -> MailHost:
        """A declared mail host by name (``mx1.kovacs-szerviz.hu``)."""
        return self.world.mail_host(name)

    def network_options(self) -> NetworkOptions:
        """Ports and CA for the validators: http(s) URLs without a port go to the lab."""
        from auditor.net.options import NetworkOptions

        return NetworkOptions(
            http_port_overrides={"http": self.http_port, "https": self.https_port},
            ca_file=self.ca_file,
        )

    def env(self) -> dict[str, str]:
        """The environment variables that give ``auditor`` the same network options."""
        ports = {"http": self.http_port, "https": self.https_port}
        return {ENV_PORTS: json.dumps(ports), ENV_CA: self.ca_file}

    def company(self, key: str | WorldCompany) -> WorldCompany:
        """A company by domain, name or any of its hosts."""
        return self.world.company(key)

    def url(self, url: str) -> str:
        """A port-less world URL (``http://robotfirma.de/impressum``) with the lab port.

        https URLs get the HTTPS port (a company whose website is https, as the TLS faults).
        """
        if url.startswith("https://") and self._https is not None:
            return lab_url(url, self.https_port, self.world.port_hosts)
        return lab_url(url, self.http_port, self.world.port_hosts)

    def website(self, company: str | WorldCompany) -> str:
        """The company's website as the auditor gets it, e.g. http://kovacs-szerviz.hu:PORT/."""
        return self.url(self.company(company).website)

    # -- what happened

    @property
    def requests(self) -> RequestLog:
        """Every HTTP request the lab answered (thread-safe; iterate for a snapshot)."""
        return self._http.log

    @property
    def dns_queries(self) -> Counter[tuple[str, str]]:
        """(name, type) -> number of DNS queries received."""
        return self._dns.queries

    @property
    def dns_server(self) -> LabDNSServer:
        return self._dns

    @property
    def http_server(self) -> LabHTTPServer:
        return self._http

    @property
    def https_server(self) -> LabHTTPServer:
        if self._https is None:
            raise RuntimeError("the lab is not running")
        return self._https

    def reset_logs(self) -> None:
        """Forget requests, query counts and SMTP counters (between tests sharing one lab)."""
        self._http.log.clear()
        self._dns.clear_queries()
        if self._smtp is not None:
            self._smtp.reset_counters()

    # -- ground truth

    @property
    def truth(self) -> dict[str, Truth]:
        """domain -> the company's truth, its URLs carrying the lab port."""
        hosts = self.world.port_hosts
        return {c.domain: c.truth.with_port(self.http_port, hosts) for c in self.world.companies}

    def truth_for(self, company: str | WorldCompany) -> Truth:
        return self.company(company).truth.with_port(self.http_port, self.world.port_hosts)

    # -- input files

    def _rows(self, companies: list[str | WorldCompany] | None) -> list[dict[str, str]]:
        # All companies, unless chosen -- but never, unasked, one whose names answer a
        # non-loopback address (the fault world's 10.0.0.1): `auditor demo` audits with
        # --allow-private-targets and would really try to reach it.
        chosen = (
            [self.company(c) for c in companies]
            if companies is not None
            else [c for c in self.world.companies if c.domain not in self.world.private_targets]
        )
        return [{**c.row(), "website": self.website(c)} for c in chosen]

    def write_companies_csv(
        self, path: str | Path, companies: list[str | WorldCompany] | None = None
    ) -> Path:
        """The world's companies as the auditor's CSV input (all of them unless chosen;
        companies answering non-loopback addresses only when chosen by name)."""
        path = Path(path)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
            writer.writeheader()
            writer.writerows(self._rows(companies))
        return path

    def write_companies_jsonl(
        self, path: str | Path, companies: list[str | WorldCompany] | None = None
    ) -> Path:
        """The same rows as JSON Lines."""
        path = Path(path)
        with path.open("w", encoding="utf-8") as fh:
            for row in self._rows(companies):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path
