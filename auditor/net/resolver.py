"""One DNS resolver for the whole run: configurable, cached, and honest about failure.

Every name the tool looks up (web hosts, MX hosts, SIP proxies) goes through
:class:`DnsResolver`, so ``--nameserver`` points all of it at one server (the lab,
in tests) and each (name, type) is asked once per run.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from auditor.config import default

# Outcome tags, stable: validators map them to verdicts.
OK, NODATA, NXDOMAIN, SERVFAIL, TIMEOUT, REFUSED, ERROR = (
    "ok",
    "nodata",
    "nxdomain",
    "servfail",
    "dns-timeout",
    "refused",
    "dns-error",
)
MAX_RECORDS = 64  # a huge answer is cut, never kept whole (MX: the most preferred are kept)


@dataclass(frozen=True)
class DnsAnswer:
    """What one query returned: a status tag, records as text, and timings."""

    name: str
    rdtype: str
    status: str
    records: tuple[str, ...] = ()
    ttl: int | None = None
    elapsed_ms: float = 0.0
    message: str = ""
    truncated: bool = False
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def ok(self) -> bool:
        return self.status == OK

    def evidence(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.rdtype,
            "status": self.status,
            "records": list(self.records),
            "ttl": self.ttl,
            "elapsed_ms": round(self.elapsed_ms, 1),
            **({"message": self.message} if self.message else {}),
        }


def parse_nameserver(spec: str) -> tuple[str, int]:
    """``1.2.3.4``, ``127.0.0.1:5353``, ``::1``, ``[::1]:5353`` -> (address, port)."""
    spec = spec.strip()
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 53
    elif spec.count(":") == 1:
        host, _, port_text = spec.partition(":")
        port = int(port_text)
    else:
        host, port = spec, 53
    if not dns.inet.is_address(host):
        raise ValueError(f"nameserver must be an IP address, got {spec!r}")
    if not 0 < port < 65536:
        raise ValueError(f"nameserver port out of range in {spec!r}")
    return host, port


class DnsResolver:
    """A thread-safe caching stub resolver over dnspython."""

    def __init__(self, nameserver: str | None = None, timeout: float = default("dns_timeout")) -> None:
        if nameserver:
            resolver = dns.resolver.Resolver(configure=False)
            host, port = parse_nameserver(nameserver)
            resolver.nameservers = [host]
            resolver.port = port
        else:
            resolver = dns.resolver.Resolver(configure=True)
        resolver.timeout = timeout
        resolver.lifetime = timeout
        resolver.retry_servfail = False
        self._resolver = resolver
        self.nameserver = nameserver
        self.timeout = timeout
        self._cache: dict[tuple[str, str], DnsAnswer] = {}
        self._inflight: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.Lock()
        self.queries_sent = 0

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Ask once per (name, type) per run; concurrent askers wait for the first."""
        key = (name.lower().rstrip("."), rdtype.upper())
        while True:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
                event = self._inflight.get(key)
                if event is None:
                    event = threading.Event()
                    self._inflight[key] = event
                    break
            event.wait(self.timeout * 2 + 1)
        try:
            answer = self._query(*key)
        finally:
            with self._lock:
                if "answer" in locals():
                    self._cache[key] = answer
                self._inflight.pop(key, None)
            event.set()
        return answer

    def _query(self, name: str, rdtype: str) -> DnsAnswer:
        start = time.perf_counter()
        with self._lock:
            self.queries_sent += 1

        def done(status: str, records: tuple[str, ...] = (), ttl: int | None = None, message: str = "", truncated: bool = False) -> DnsAnswer:
            return DnsAnswer(name, rdtype, status, records, ttl, (time.perf_counter() - start) * 1000, message, truncated)

        try:
            ans = self._resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False)
        except dns.resolver.NXDOMAIN:
            return done(NXDOMAIN, message=f"{name} does not exist (NXDOMAIN)")
        except dns.resolver.LifetimeTimeout:
            return done(TIMEOUT, message=f"no answer for {name} {rdtype} within {self.timeout:g} s")
        except dns.resolver.NoNameservers as exc:
            text = str(exc)
            status = REFUSED if "REFUSED" in text else SERVFAIL
            return done(status, message=f"{name} {rdtype}: {status.upper()} from every nameserver")
        except dns.resolver.YXDOMAIN:
            return done(ERROR, message=f"{name}: YXDOMAIN")
        except (dns.exception.DNSException, OSError, ValueError) as exc:
            return done(ERROR, message=f"{name} {rdtype}: {type(exc).__name__}: {exc}")
        rrset = ans.rrset
        if rrset is None:
            return done(NODATA, message=f"{name} has no {rdtype} records")
        rdatas = list(rrset)
        if rdtype == "MX" and len(rdatas) > MAX_RECORDS:
            # Answer order means nothing: a cut must keep what RFC 5321 tries first.
            rdatas.sort(key=lambda r: (getattr(r, "preference", 0), str(getattr(r, "exchange", ""))))
        records = tuple(r.to_text() for r in rdatas[:MAX_RECORDS])
        return done(OK, records, rrset.ttl, truncated=len(rrset) > MAX_RECORDS)

    def addresses(self, host: str) -> tuple[list[str], DnsAnswer]:
        """IPv4 then IPv6 addresses of ``host``, with the deciding answer."""
        a = self.query(host, "A")
        if a.status in (NXDOMAIN, TIMEOUT, SERVFAIL, REFUSED, ERROR):
            return [], a
        aaaa = self.query(host, "AAAA")
        found = list(a.records) + (list(aaaa.records) if aaaa.ok else [])
        return found, a if a.ok or not aaaa.ok else aaaa
