"""What the report may show: personal addresses masked, only plain http(s) links, no secrets."""

from __future__ import annotations

import pytest

from auditor.masking import mask_credentials
from reports.views import Link, Redactor, link, safe_href, scrub_settings


def test_known_personal_addresses_are_masked_anywhere_role_addresses_stay() -> None:
    r = Redactor(personal=["Jane.Doe@acme.example", "not-an-address"])
    assert r("Write to jane.doe@acme.example or info@acme.example") == (
        "Write to j***@acme.example or info@acme.example"
    )
    assert r("x-JANE.DOE@acme.examplez") == "x-J***@acme.examplez"  # glued, any case
    assert r.known == frozenset({"jane.doe@acme.example"})


def test_every_known_address_is_masked_where_it_is_glued() -> None:
    r = Redactor(personal=["jane.doe@acme.example", "info@acme.example"])
    assert r("x-info@acme.examplez and x-jane.doe@acme.example") == "x-i***@acme.examplez and x-j***@acme.example"
    assert r._personal("INFO@acme.example")  # known whatever its case, though its name is a role's


def test_a_known_address_the_glued_search_misses_is_still_known_as_a_whole() -> None:
    """Its capital dotted İ lower-cases to "i" plus a combining dot, which the regex's case
    folding does not match, so only the whole-address lookup knows it: its local part
    alone ("İK", initials) reads as a role and the same mailbox elsewhere stays shown."""
    r = Redactor(personal=["İK@firma.com.tr"])
    assert r("Yazın: İK@firma.com.tr veya İK@masik.com.tr") == "Yazın: İ***@firma.com.tr veya İK@masik.com.tr"


def test_unknown_personal_addresses_in_free_text_are_classified_on_the_spot() -> None:
    r = Redactor()
    assert r("from john.smith@acme.example to sales@acme.example") == (
        "from j***@acme.example to sales@acme.example"
    )


def test_disabled_none_and_non_strings() -> None:
    assert Redactor(enabled=False)("john.smith@acme.example") == "john.smith@acme.example"
    r = Redactor()
    assert r(None) == ""
    assert r(5) == "5"
    assert r("no address here") == "no address here"
    assert Redactor.mask("john.smith@acme.example") == "j***@acme.example"
    assert Redactor.mask("a@b@acme.example") == "a***@acme.example"


def test_deep_redacts_keys_values_lists_and_tuples() -> None:
    r = Redactor(personal=["jane.doe@acme.example"])
    value = {"jane.doe@acme.example": ["jane.doe@acme.example", ("x", 1)], "n": None}
    assert r.deep(value) == {"j***@acme.example": ["j***@acme.example", ["x", 1]], "n": None}


@pytest.mark.parametrize(
    ("url", "href"),
    [
        ("https://acme.example/kapcsolat", "https://acme.example/kapcsolat"),
        ("HTTP://acme.example/", "HTTP://acme.example/"),
        ("https://acme.example/!X", "https://acme.example/!X"),  # "!" is the first printable character
        (" https://acme.example/", None),
        ("https://acme.example/\n", None),
        ("https://acme.example/a b", None),
        ("https://acme.example/\x7f", None),
        ('https://acme.example/"onmouseover=x', None),
        ("https://acme.example/'", None),
        ("https://acme.example/<b>", None),
        ("https://acme.example/`", None),
        ("https://acme.example\\@evil.example/", None),
        ("javascript:alert(1)", None),
        ("ftp://acme.example/", None),
        ("https:///path-only", None),
        ("https://[::1", None),  # unparsable
        ("", None),
        (None, None),
    ],
)
def test_safe_href(url: str | None, href: str | None) -> None:
    assert safe_href(url) == href


def test_safe_href_refuses_non_strings() -> None:
    assert safe_href(b"https://acme.example/") is None  # type: ignore[arg-type]


def test_link_shows_the_redacted_url_or_the_given_text() -> None:
    r = Redactor(personal=["jane.doe@acme.example"])
    assert link("https://acme.example/a", r) == Link("https://acme.example/a", "https://acme.example/a")
    assert link("javascript:alert(1)", r, "Click") == Link("Click", None)
    assert link("https://acme.example/jane.doe@acme.example", r, "jane.doe@acme.example") == Link(
        "j***@acme.example", "https://acme.example/j***@acme.example"
    )
    assert link(None, r) == Link("", None)


def test_scrub_settings_drops_secret_keys_and_masks_url_passwords() -> None:
    settings = {
        "B_URL": "http://user:pw@proxy.example:8080/x",
        "AUDITOR_API_TOKEN": "t0k3n",
        "DB_PASSWD": "x", "Client_Secret": "x", "credentials": "x", "apikey": "x", "PRIVATE_KEY": "x",
        "A": [{"password": 1, "ok": "ftp://anon@files.example/"}, ("smtp://u:p@mx.example",)],
        "N": 3,
    }
    scrubbed = scrub_settings(settings)
    assert scrubbed == {
        "A": [{"ok": "ftp://anon@files.example/"}, ["smtp://u:***@mx.example"]],
        "B_URL": "http://user:***@proxy.example:8080/x",
        "N": 3,
    }
    assert list(scrubbed) == ["A", "B_URL", "N"]  # sorted


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("http://user:pw@host.example/", "http://***@host.example/"),
        ("row 3: HTTPS://a@b.example/x and ftp://c:d@e.example", "row 3: HTTPS://***@b.example/x and ftp://***@e.example"),
        ("info@acme.example", "info@acme.example"),
        ("https://acme.example/", "https://acme.example/"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_credentials(text: str | None, masked: str | None) -> None:
    assert mask_credentials(text) == masked
