"""Where the tool may connect: public addresses only, unless the user says otherwise."""

from __future__ import annotations

import ipaddress

from auditor import reasons


class BlockedAddressError(Exception):
    """A connection to a private, loopback, link-local or reserved address was refused."""

    tag = reasons.PRIVATE_ADDRESS_REFUSED

    def __init__(self, host: str, address: str) -> None:
        super().__init__(
            f"{host} resolves to {address}, a non-public address; "
            "refused (use --allow-private-targets to audit a private network)"
        )
        self.host = host
        self.address = address


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not (
        ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
        or ip.is_unspecified
    )


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class AddressPolicy:
    """The one rule every connection obeys (HTTP, SMTP, SIP, browser)."""

    def __init__(self, allow_private: bool = False) -> None:
        self.allow_private = allow_private

    def permits(self, address: str) -> bool:
        return self.allow_private or is_public_address(address)

    def check(self, host: str, address: str) -> None:
        """Raise :class:`BlockedAddressError` unless ``address`` may be contacted."""
        if not self.permits(address):
            raise BlockedAddressError(host, address)
