"""Scrapy's DNS goes through the project's resolver and address policy.

Twisted connects to the address this resolver returns, so the address that
was checked is the address that is contacted, after every redirect too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scrapy.crawler import Crawler
from twisted.internet import threads
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from auditor.net.guard import AddressPolicy, BlockedAddressError, is_ip_literal
from auditor.net.resolver import DnsResolver


class AuditorDNSLookupError(DNSLookupError):
    """A lookup failure that carries the project's reason tag."""

    def __init__(self, tag: str, message: str) -> None:
        super().__init__(message)
        self.tag = tag
        self.message = message


@implementer(IResolverSimple)
class GuardedResolver:
    """IResolverSimple over :class:`DnsResolver`, refusing non-public addresses."""

    installed: GuardedResolver | None = None

    def __init__(self, reactor: Any, resolver: DnsResolver, policy: AddressPolicy) -> None:
        self.reactor = reactor
        self.resolver = resolver
        self.policy = policy
        # Twisted reduces a failed lookup to "no results"; the real reason per
        # host is kept here for the spider's error records.
        self.failures: dict[str, tuple[str, str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        settings = crawler.settings
        resolver = settings.get("AUDITOR_RESOLVER") or DnsResolver(
            settings.get("AUDITOR_NAMESERVER") or None, settings.getfloat("AUDITOR_DNS_TIMEOUT", 5.0)
        )
        policy = AddressPolicy(settings.getbool("AUDITOR_ALLOW_PRIVATE_TARGETS"))
        instance = cls(reactor, resolver, policy)
        # Scrapy builds the resolver from the process, not the crawler; one
        # reactor per process means one installed resolver, found here.
        cls.installed = instance
        return instance

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def _lookup(self, name: str) -> str:
        try:
            return self._checked(name)
        except AuditorDNSLookupError as exc:
            self.failures[name.lower()] = (exc.tag, exc.message)
            raise

    def failure_for(self, host: str) -> tuple[str, str] | None:
        """Why the last lookup of ``host`` failed, if it did."""
        return self.failures.get(host.lower())

    def _checked(self, name: str) -> str:
        if is_ip_literal(name):
            address = name.strip("[]")
            if not self.policy.permits(address):
                err = BlockedAddressError(name, address)
                raise AuditorDNSLookupError(err.tag, str(err))
            return address
        addresses, answer = self.resolver.addresses(name)
        if not addresses:
            raise AuditorDNSLookupError("dns-failure", answer.message or f"{name}: no address")
        ipv4 = [a for a in addresses if ":" not in a]
        candidates = ipv4 or addresses
        permitted = [a for a in candidates if self.policy.permits(a)]
        if not permitted:
            err = BlockedAddressError(name, candidates[0])
            raise AuditorDNSLookupError(err.tag, str(err))
        return permitted[0]

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:  # noqa: N802
        return threads.deferToThreadPool(self.reactor, self.reactor.getThreadPool(), self._lookup, name)
