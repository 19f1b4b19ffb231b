"""The email extractor's shortcuts give what the full code gives.

Each shortcut (a fast path past email-validator, a gate that skips text or markup) is
checked against the full code on the cases where it could go wrong: make one stricter or
looser than it may be and a test here fails.
"""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.extract.emails.gate import _plain


def _full(address: str) -> tuple[str, str] | None:
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower(), (result.ascii_domain or "").lower()


def _fast(address: str) -> tuple[str, str] | None:
    found = _plain(address)
    return None if found is None else (found[0].lower(), found[1].lower())


EDGES = [
    "info@firma.hu",
    "INFO@FIRMA.HU",
    "Sales.Team+web@Sub.Firma.co.uk",
    "a/b=c?d!e#f$g%h&i'j*k^l`m{n|o}p~q_r-s@x.com",
    "a@x.c-m",
    "a@1x.com",
    "a@x.1com",
    "a@x.123",
    "a@x.com1",
    "a@x",
    "a@-x.com",
    "a@x-.com",
    "a@x..com",
    "a@.x.com",
    "a@x.com.",
    "a@x.-com",
    "a@x.com-",
    "a@ab--cd.com",
    "a@xn--bcher-kva.de",
    "a@xn--x.de",
    "a@x_y.com",
    "a@x.local",
    "a@mail.test",
    "a@x.onion",
    "a@x.localhost",
    "a@x.arpa",
    "a@x.invalid",
    "a@testx.com",
    ".a@x.com",
    "a.@x.com",
    "a..b@x.com",
    '"a b"@x.com',
    "a b@x.com",
    "a<b@x.com",
    "<a@x.com>",
    "Name <a@x.com>",
    "a@[1.2.3.4]",
    "a@1.2.3.4",
    "a@x.com ",
    "a@x.com\n",
    "info@firma.hu\u00e9",
    "inf\u00f6@firma.hu",
    "info@b\u00fccher.de",
    "@x.com",
    "a@",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a@x." + "c" * 63,
    "a@x." + "c" * 64,
    "a@" + ".".join(["b" * 61] * 4) + ".com",
    "a@" + ".".join(["b" * 62] * 4) + ".co",
    "a" * 64 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com",
    "a" * 60 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com",
    "a" * 70 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com",
]


@pytest.mark.parametrize("address", EDGES)
def test_plain_path_agrees_with_email_validator(address: str) -> None:
    fast = _fast(address)
    if fast is not None:
        assert fast == _full(address)


@pytest.mark.parametrize(
    "address", ["info@firma.hu", "INFO@FIRMA.HU", "a.b+c@sub.x-y.co.uk", "a@x.c-m", "a@1x.com"]
)
def test_plain_path_takes_common_addresses(address: str) -> None:
    """Common addresses skip email-validator's IDNA work (the point of the fast path)."""
    assert _fast(address) == _full(address) is not None



@settings(max_examples=600, deadline=None)
@given(
    st.text(alphabet="aZ0.-_+'\"<> é", max_size=12),
    st.text(alphabet="aZ09.-_é", max_size=16),
    st.sampled_from(["com", "hu", "c0", "9", "test", "local", "xn--kva", "c-m", ""]),
)
def test_plain_path_agrees_on_generated_addresses(local: str, host: str, tld: str) -> None:
    address = f"{local}@{host}.{tld}" if tld else f"{local}@{host}"
    fast = _fast(address)
    if fast is not None:
        assert fast == _full(address)
