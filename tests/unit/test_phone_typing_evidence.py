"""What a phone verdict publishes, word for word: evidence, messages, flags, country codes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import auditor.validate.phone as phone_mod
from auditor.models import ContactPoint
from auditor.validate.phone import normalize_country, validate_phone

BUDAPEST = {
    "valid": True, "possible": True, "possible_reason": "possible", "type": "fixed-line",
    "region": "HU", "country_code": 36, "e164": "+3612345678", "national": "(06 1) 234 5678",
    "international": "+36 1 234 5678", "timezones": ["Europe/Budapest"],
    "company_country": "HU", "foreign": False, "description": "Budapest",
}


def test_valid_number_verdict_and_evidence() -> None:
    v = validate_phone("+36 1 234 5678", "HU")
    assert (v.kind, v.value, v.verdict, v.reason, v.flags) == (
        "phone", "+36 1 234 5678", "unknown", "not-dialled", ()
    )
    assert v.message == "+36 1 234 5678 is a valid fixed-line number; not dialled"
    (check,) = v.checks
    assert (check.name, check.verdict, check.reason, check.message) == (
        "phone-plan", "unknown", "not-dialled", v.message
    )
    assert check.evidence == BUDAPEST


def test_foreign_number_message_keeps_the_validity_and_adds_the_countries() -> None:
    v = validate_phone("+36 1 234 5678", "DE")
    assert v.message == (
        "+36 1 234 5678 is a valid fixed-line number; not dialled (registered to HU, company in DE)"
    )
    assert v.flags == ("foreign-number",)
    assert v.checks[0].evidence == {**BUDAPEST, "company_country": "DE", "foreign": True}


def test_too_short_number_says_so() -> None:
    v = validate_phone("+36 1 234", "HU")
    assert (v.verdict, v.reason) == ("inactive", "invalid-number")
    assert v.message == "+361234 is not a possible length in its numbering plan (too-short)"
    assert v.checks[0].message == v.message
    assert v.checks[0].evidence == {
        "valid": False, "possible": False, "possible_reason": "too-short", "type": "unknown",
        "region": "HU", "country_code": 36, "e164": "+361234", "national": "1234",
        "international": "+36 1234", "timezones": [], "company_country": "HU", "foreign": False,
    }


def test_possible_but_unassigned_number_is_not_valid() -> None:
    v = validate_phone("+36 99 123 4567", "HU")
    assert (v.verdict, v.reason) == ("inactive", "invalid-number")
    assert v.message == "+36991234567 is not valid in its numbering plan (possible)"
    assert v.checks[0].evidence["possible"] is True


def test_unreadable_input() -> None:
    v = validate_phone("hello", "hu")
    assert (v.kind, v.verdict, v.reason) == ("phone", "inactive", "invalid-number")
    assert v.message == v.checks[0].message == "'hello' cannot be read as a phone number"
    assert v.checks[0].evidence == {
        "valid": False, "possible": False, "input": "hello", "company_country": "HU"
    }


def test_contact_point_value_is_read_before_raw() -> None:
    cp = ContactPoint(kind="phone", value="+3612345678", raw="+36 20 123 4567", label=None,
                      method="text", page_url="https://firma.example/")
    v = validate_phone(cp, "HU")
    assert v.kind == "phone"
    assert v.checks[0].evidence["e164"] == "+3612345678"


@pytest.mark.parametrize(
    ("country", "code"),
    [(" hu ", "HU"), ("uk", "GB"), ("UK", "GB"), ("el", "GR"), ("XX", None), ("", None), (None, None)],
)
def test_normalize_country(country: str | None, code: str | None) -> None:
    assert normalize_country(country) == code


def test_check_carries_its_start_and_duration(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter([10.0, 10.0123456])
    clock = SimpleNamespace(time=lambda: 1_700_000_000.0, perf_counter=lambda: next(ticks))
    monkeypatch.setattr(phone_mod, "time", clock)
    check = validate_phone("+36 1 234 5678", "HU").checks[0]
    assert check.started_at == 1_700_000_000.0
    assert check.duration_ms == 12.346
