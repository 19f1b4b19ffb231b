"""The lab: an offline world of fictional companies served by real loopback servers.

Tests, benchmarks and the offline demo run the real crawler and validators against
it, so nothing ever needs the Internet and every result can be checked against the
world's ground truth::

    with Lab() as lab:
        lab.website("kovacs-szerviz.hu")   # 'http://kovacs-szerviz.hu:PORT/'
        lab.nameserver                     # '127.0.0.1:PORT' (UDP and TCP)
        lab.requests.paths("robotfirma.de")
"""

from __future__ import annotations

import csv
import ipaddress
import json
from collections import Counter
from pathlib import Path
from types import TracebackType

from auditor.lab.dns import LabDNSServer
from auditor.lab.http import LabHTTPServer, LoggedRequest, RequestLog
from auditor.lab.world import (
    Truth,
    TruthContact,
    World,
    WorldCompany,
    WorldError,
    lab_url,
    load_world,
)

__all__ = [
    "Lab",
    "LoggedRequest",
    "RequestLog",
    "Truth",
    "TruthContact",
    "World",
    "WorldCompany",
    "WorldError",
    "load_world",
]

CSV_FIELDS = ("name", "website", "country", "industry", "language")


class Lab:
    """Runs the world's HTTP and DNS servers in background threads."""

    def __init__(
        self,
        world: World | None = None,
        host: str = "127.0.0.1",
        http_port: int = 0,
        dns_port: int = 0,
    ) -> None:
        ip = ipaddress.ip_address(host)
        if ip.version != 4 or not ip.is_loopback:
            raise ValueError(f"the lab listens on an IPv4 loopback address only, not {host!r}")
        self.world = world if world is not None else load_world()
        self.host = host
        self._http = LabHTTPServer(self.world, host, http_port)
        self._dns = LabDNSServer(self.world, host, dns_port)
        self._running = False

    # -- lifecycle

    def start(self) -> Lab:
        if self._running:
            return self
        self._http.start()
        try:
            self._dns.start()
        except Exception:
            self._http.stop()
            raise
        self._running = True
        return self

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self._dns.stop()
        self._http.stop()

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

    def company(self, key: str | WorldCompany) -> WorldCompany:
        """A company by domain, name or any of its hosts."""
        return self.world.company(key)

    def url(self, url: str) -> str:
        """A port-less world URL (``http://robotfirma.de/impressum``) with the lab port."""
        return lab_url(url, self.http_port, self.world.sites)

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

    def reset_logs(self) -> None:
        """Forget requests and query counts (between tests sharing one lab)."""
        self._http.log.clear()
        self._dns.clear_queries()

    # -- ground truth

    @property
    def truth(self) -> dict[str, Truth]:
        """domain -> the company's truth, its URLs carrying the lab port."""
        hosts = self.world.sites
        return {c.domain: c.truth.with_port(self.http_port, hosts) for c in self.world.companies}

    def truth_for(self, company: str | WorldCompany) -> Truth:
        return self.company(company).truth.with_port(self.http_port, self.world.sites)

    # -- input files

    def _rows(self, companies: list[str | WorldCompany] | None) -> list[dict[str, str]]:
        chosen = (
            [self.company(c) for c in companies]
            if companies is not None
            else list(self.world.companies)
        )
        return [{**c.row(), "website": self.website(c)} for c in chosen]

    def write_companies_csv(
        self, path: str | Path, companies: list[str | WorldCompany] | None = None
    ) -> Path:
        """The world's companies as the auditor's CSV input (all of them unless chosen)."""
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
