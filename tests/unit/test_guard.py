"""The address policy that every connection obeys."""

import pytest

from auditor.net.guard import AddressPolicy, BlockedAddressError, is_public_address
from auditor.net.resolver import parse_nameserver


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1",
     "fc00::1", "224.0.0.1", "0.0.0.0", "100.64.0.1", "::ffff:192.168.0.1", "240.0.0.1", "not-an-ip"],
)
def test_non_public_addresses_refused(address: str) -> None:
    assert not is_public_address(address)
    with pytest.raises(BlockedAddressError):
        AddressPolicy().check("host", address)
    assert AddressPolicy(allow_private=True).permits(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2a00:1450:4001:80b::200e", "193.225.1.1"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public_address(address)


def test_parse_nameserver() -> None:
    assert parse_nameserver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_nameserver("[::1]:5300") == ("::1", 5300)
    assert parse_nameserver("9.9.9.9") == ("9.9.9.9", 53)
    with pytest.raises(ValueError):
        parse_nameserver("dns.example:53")
