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

from auditor.data import load
from auditor.extract.emails import cloaking, extract_emails
from auditor.extract.emails.gate import _plain
from auditor.extract.emails.labels import label_from_text
from auditor.extract.emails.sources import _may_cloak_in_markup
from auditor.extract.page import parse_page
from auditor.extract.tree import DEEP_SCAN_TAGS


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


# --- markup gate of the cloaking decoders: every name they query, in any case ----------

URL = "https://kovacsbt.hu/kapcsolat"


def _found(body: str) -> dict[str, str]:
    page = parse_page(f"<html><body>{body}</body></html>", URL)
    return {p.value: p.details.get("obfuscation", "") for p in extract_emails(page)}


_TOKEN = cloaking._typo3_shift("mailto:office@kovacsbt.hu", -2)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('<a DATA-ROT13="vasb@xbinpfog.uh" href="#">x</a>', {"info@kovacsbt.hu": "rot13"}),
        ('<a Data-Rot13="vasb@xbinpfog.uh" href="#">x</a>', {"info@kovacsbt.hu": "rot13"}),
        (
            f'<a href="#" DATA-MAILTO-TOKEN="{_TOKEN}" data-mailto-vector="-2">Mail</a>',
            {"office@kovacsbt.hu": "typo3"},
        ),
        (
            '<a DATA-USER="kapcsolat" Data-Domain="kovacsbt.hu" href="#">x</a>',
            {"kapcsolat@kovacsbt.hu": "data-attributes"},
        ),
        (
            '<a data-NAME="iroda" DATA-DOMAIN="kovacsbt.hu" href="#">x</a>',
            {"iroda@kovacsbt.hu": "data-attributes"},
        ),
        (
            '<JOOMLA-HIDDEN-MAIL FIRST="aW5mbw==" LAST="a292YWNzYnQuaHU=">x</JOOMLA-HIDDEN-MAIL>',
            {"info@kovacsbt.hu": "joomla"},
        ),
    ],
)
def test_markup_gate_lets_every_queried_name_through(body: str, expected: dict[str, str]) -> None:
    page = parse_page(f"<html><body>{body}</body></html>", URL)
    assert _may_cloak_in_markup(page)
    assert _found(body) == expected


def test_markup_gate_closes_on_pages_without_those_names() -> None:
    page = parse_page('<html><body><a data-id="1" href="/x">x</a></body></html>', URL)
    assert not _may_cloak_in_markup(page)


def test_markup_gate_opens_on_sources_deep_enough_to_be_flattened() -> None:
    page = parse_page("<html><body>" + "<b>" * DEEP_SCAN_TAGS + "</body></html>", URL)
    assert _may_cloak_in_markup(page)


# --- keyword gate of label_from_text: one union scan before seven ----------------------


def _keywords() -> list[str]:
    return [w for entry in load("emails.toml")["labels"].values() for w in entry.get("keywords", [])]


def test_label_gate_lets_every_keyword_through() -> None:
    words = _keywords()
    assert words
    for word in words:
        assert label_from_text(f"{word}: ") is not None, word
        assert label_from_text("E-mail: ", f" ({word})") is not None, word


def test_label_gate_answers_none_without_keywords() -> None:
    assert label_from_text("Írjon nekünk: ", " (hétköznap)") is None
