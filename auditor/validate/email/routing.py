"""DNS routing: where mail for a domain goes (RFC 5321 §5.1, RFC 7505), from an injected resolver.

MX by preference (ties by name, for determinism); a lone ``0 .`` is a null MX; no MX
at all (NODATA) means the domain itself is the implicit MX. Only an NXDOMAIN, a null
MX or no mail host at all is ``inactive``; SERVFAIL, a timeout or any other DNS
trouble is ``unknown`` (a slow name server says nothing about the mailbox).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

from auditor import reasons
from auditor.models import ACTIVE, INACTIVE, UNKNOWN, VerdictValue
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import NODATA, NXDOMAIN, OK, SERVFAIL, TIMEOUT, DnsAnswer

MAX_MX_HOSTS = 5  # MX hosts whose addresses are looked up, by preference
MAX_TARGETS = 4  # (host, ip) pairs tried per address before giving up

_TEMPORARY = {SERVFAIL: reasons.DNS_SERVFAIL, TIMEOUT: reasons.DNS_TIMEOUT}


class Resolves(Protocol):
    """What routing needs of a resolver (auditor.net.resolver.DnsResolver, or a test's)."""

    def query(self, name: str, rdtype: str) -> DnsAnswer: ...


@dataclass(frozen=True)
class MailHost:
    """One MX target with the addresses we may and may not contact."""

    name: str
    preference: int
    addresses: tuple[str, ...] = ()  # permitted by the address policy, A then AAAA
    refused: tuple[str, ...] = ()  # private/reserved, not contacted
    status: str = OK  # DNS outcome of the address lookup

    def evidence(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "preference": self.preference,
            "addresses": list(self.addresses),
            "refused": list(self.refused),
            "status": self.status,
        }


@dataclass(frozen=True)
class MailRoute:
    """Where mail for a domain goes, and the DNS verdict on the domain."""

    domain: str
    verdict: VerdictValue  # active: a mail host can be contacted; inactive; unknown
    reason: str
    hosts: tuple[MailHost, ...] = ()
    implicit: bool = False
    answers: tuple[DnsAnswer, ...] = ()
    started_at: float = 0.0
    duration_ms: float = 0.0

    @property
    def targets(self) -> tuple[tuple[str, str], ...]:
        """(host name, ip) in the order to try them, each IP once."""
        seen: set[str] = set()
        out: list[tuple[str, str]] = []
        for host in self.hosts:
            for ip in host.addresses:
                if ip not in seen:
                    seen.add(ip)
                    out.append((host.name, ip))
        return tuple(out)

    def evidence(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "implicit_mx": self.implicit,
            "hosts": [h.evidence() for h in self.hosts],
            "answers": [a.evidence() for a in self.answers],
        }


# ------------------------------------------------------------------ pure decisions


def temporary_reason(status: str) -> str:
    """The reason tag of a DNS failure that says nothing final (always an ``unknown``)."""
    return _TEMPORARY.get(status, reasons.DNS_ERROR)


def parse_mx(record: str) -> tuple[int, str] | None:
    """``"10 mx.example."`` -> (10, "mx.example"); "" is the null MX's exchange; None if malformed."""
    parts = record.split()
    if len(parts) != 2:
        return None
    try:
        pref = int(parts[0])
    except ValueError:
        return None
    return pref, parts[1].lower().rstrip(".")


def host_status(a: DnsAnswer, aaaa: DnsAnswer | None, found: bool) -> str:
    """The DNS outcome of one host's address lookup (A, then AAAA unless A said NXDOMAIN)."""
    if aaaa is None:
        return NXDOMAIN
    if found:
        return OK
    if a.status == NODATA and aaaa.status in (NODATA, NXDOMAIN):
        return NODATA
    bad = a if a.status not in (OK, NODATA) else aaaa
    return bad.status


def implicit_verdict(host: MailHost) -> tuple[VerdictValue, str, bool]:
    """(verdict, reason, keep the host as evidence) for a domain with no MX record."""
    if host.addresses:
        return ACTIVE, reasons.IMPLICIT_MX, True
    if host.refused:
        return UNKNOWN, reasons.MX_PRIVATE, True
    if host.status == NXDOMAIN:
        return INACTIVE, reasons.NXDOMAIN, False
    if host.status == NODATA:
        return INACTIVE, reasons.NO_MAIL_HOST, False
    return UNKNOWN, temporary_reason(host.status), False


def mx_verdict(hosts: list[MailHost]) -> tuple[VerdictValue, str]:
    """(verdict, reason) once the MX hosts' addresses are known."""
    if any(h.addresses for h in hosts):
        return ACTIVE, reasons.MX_FOUND
    temporary = [h.status for h in hosts if h.status not in (OK, NODATA, NXDOMAIN)]
    if temporary:
        return UNKNOWN, temporary_reason(temporary[0])
    if any(h.refused for h in hosts):
        return UNKNOWN, reasons.MX_PRIVATE
    return INACTIVE, reasons.NO_MAIL_HOST


# ---------------------------------------------------------------------- lookups


class _Lookup:
    """The queries of one domain's route, kept in order as evidence."""

    def __init__(self, resolver: Resolves, domain: str, policy: AddressPolicy) -> None:
        self.resolver = resolver
        self.domain = domain
        self.policy = policy
        self.answers: list[DnsAnswer] = []
        self.started_at, self.t0 = time.time(), time.perf_counter()

    def query(self, name: str, rdtype: str) -> DnsAnswer:
        answer = self.resolver.query(name, rdtype)
        self.answers.append(answer)
        return answer

    def host(self, name: str, preference: int) -> MailHost:
        """One host's addresses, split by the address policy."""
        a = self.query(name, "A")
        aaaa = self.query(name, "AAAA") if a.status != NXDOMAIN else None
        found = [r for ans in (a, aaaa) if ans is not None and ans.ok for r in ans.records]
        permitted = tuple(ip for ip in found if self.policy.permits(ip))
        refused = tuple(ip for ip in found if not self.policy.permits(ip))
        status = host_status(a, aaaa, bool(found))
        if status != OK:
            permitted, refused = (), ()
        return MailHost(name, preference, permitted, refused, status)

    def route(self, verdict: VerdictValue, reason: str, hosts: tuple[MailHost, ...] = (),
              implicit: bool = False) -> MailRoute:
        return MailRoute(
            self.domain, verdict, reason, hosts, implicit, tuple(self.answers), self.started_at,
            (time.perf_counter() - self.t0) * 1000,
        )


def mail_hosts(resolver: Resolves, domain: str, policy: AddressPolicy) -> MailRoute:
    """The mail route of ``domain`` from the resolver's answers (see the module docstring).

    Addresses the policy forbids are kept as evidence but never become targets.
    """
    lookup = _Lookup(resolver, domain.lower().rstrip("."), policy)
    mx = lookup.query(lookup.domain, "MX")
    if mx.status == NXDOMAIN:
        return lookup.route(INACTIVE, reasons.NXDOMAIN)
    if mx.status not in (OK, NODATA):
        return lookup.route(UNKNOWN, temporary_reason(mx.status))
    if mx.status == NODATA or not mx.records:
        host = lookup.host(lookup.domain, 0)
        verdict, reason, keep = implicit_verdict(host)
        return lookup.route(verdict, reason, (host,) if keep else (), implicit=True)

    parsed = [p for p in (parse_mx(r) for r in mx.records) if p is not None]
    real = sorted({(pref, name) for pref, name in parsed if name})
    if not real:
        # Only "." exchanges: RFC 7505 null MX (also when the preference is not 0).
        return lookup.route(INACTIVE, reasons.NULL_MX) if parsed else lookup.route(UNKNOWN, reasons.DNS_ERROR)
    hosts: list[MailHost] = []
    for pref, name in real[:MAX_MX_HOSTS]:
        hosts.append(lookup.host(name, pref))
        if sum(bool(h.addresses) for h in hosts) >= MAX_TARGETS:
            break
    verdict, reason = mx_verdict(hosts)
    return lookup.route(verdict, reason, tuple(hosts))
