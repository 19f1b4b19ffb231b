"""The validators' HTTP client pointed at a running lab, admitting loopback addresses only.

Tests that validate against a lab world (chat widgets, status endpoints, link checks)
need the same client: the lab's DNS server resolves every name (vendor hosts included),
the lab's ports stand in for 80/443, its CA is trusted, and the address policy refuses
everything outside 127.0.0.0/8 and ::1, so nothing can reach beyond the lab::

    async with lab_client(lab) as http:
        verdict = await LinkValidator(http).validate(cp)
"""

from __future__ import annotations

import ipaddress
from typing import Any

from auditor.lab import Lab
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import DnsResolver
from auditor.validate.http import HttpClient


class LoopbackOnly(AddressPolicy):
    """AddressPolicy(allow_private=True) narrowed to loopback: the lab, and nothing else, is reachable."""

    def __init__(self) -> None:
        super().__init__(allow_private=True)

    def permits(self, address: str) -> bool:
        return ipaddress.ip_address(address).is_loopback


def lab_client(lab: Lab, **options: Any) -> HttpClient:
    """An HttpClient for ``lab`` (short timeouts, no HEAD); ``options`` override the defaults."""
    settings: dict[str, Any] = {"timeout": 3.0, "connect_timeout": 2.0, "head_safe_hosts": ()}
    settings.update(options)
    return HttpClient(
        DnsResolver(lab.nameserver, timeout=2.0), LoopbackOnly(), user_agent="lab-test/1.0",
        port_overrides={"http": lab.http_port, "https": lab.https_port}, ca_file=lab.ca_file, **settings,
    )
