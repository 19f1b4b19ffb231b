"""The address guard's edges: ranges ``is_global`` lets through, literals, and what a refusal says."""

import pytest

from auditor.net.guard import AddressPolicy, BlockedAddressError, is_ip_literal, is_public_address


@pytest.mark.parametrize(
    "address",
    [
        "4000::1",  # IPv6 reserved (4000::/3): is_global says True, the guard must not
        "::2",  # IPv6 reserved ::/8 outside ::/128 and ::1
        "ff0e::1",  # IPv6 global-scope multicast: is_global says True
        "224.0.0.251",  # IPv4 multicast (mDNS)
        "fe80::1%eth0",  # link-local with a zone index
    ],
)
def test_ranges_that_is_global_lets_through_are_refused(address: str) -> None:
    assert not is_public_address(address)
    with pytest.raises(BlockedAddressError):
        AddressPolicy().check("mx.example", address)


@pytest.mark.parametrize(
    "address",
    ["[2a00:1450:4001:80b::200e]", "2a00:1450:4001:80b::200e%eth0", "::ffff:8.8.8.8"],
)
def test_public_addresses_in_bracket_zone_or_mapped_form_pass(address: str) -> None:
    assert is_public_address(address)
    AddressPolicy().check("mx.example", address)  # does not raise


def test_mapped_private_address_is_judged_as_ipv4() -> None:
    assert not is_public_address("::ffff:10.0.0.1")


@pytest.mark.parametrize("host", ["192.0.2.1", "2001:db8::1", "[2001:db8::1]", "[::1]"])
def test_ip_literals_are_recognised(host: str) -> None:
    assert is_ip_literal(host)


@pytest.mark.parametrize("host", ["mx.example", "localhost", "1.2.3", ""])
def test_host_names_are_not_ip_literals(host: str) -> None:
    assert not is_ip_literal(host)


def test_refusal_names_host_address_and_the_way_out() -> None:
    with pytest.raises(BlockedAddressError) as info:
        AddressPolicy().check("intranet.example", "10.0.0.7")
    err = info.value
    assert (err.host, err.address, err.tag) == ("intranet.example", "10.0.0.7", "private-address-refused")
    assert str(err) == (
        "intranet.example resolves to 10.0.0.7, a non-public address; "
        "refused (use --allow-private-targets to audit a private network)"
    )


def test_allow_private_permits_without_raising() -> None:
    policy = AddressPolicy(allow_private=True)
    policy.check("intranet.example", "10.0.0.7")  # does not raise
    assert policy.permits("10.0.0.7")
    assert not AddressPolicy().permits("10.0.0.7")
