"""Phone numbers against their numbering plan (auditor.validate.phone)."""

import pytest

from auditor.models import ContactPoint
from auditor.validate.phone import validate_phone


@pytest.mark.parametrize(
    ("raw", "country", "kind", "e164"),
    [
        ("+36 1 234 5678", "HU", "fixed-line", "+3612345678"),
        ("06 20 123 4567", "HU", "mobile", "+36201234567"),
        ("030 123456", "DE", "fixed-line", "+4930123456"),
        ("+49 151 23456789", "DE", "mobile", "+4915123456789"),
        ("22 123 45 67", "PL", "fixed-line", "+48221234567"),
        ("+48 512 345 678", "PL", "mobile", "+48512345678"),
        ("0212 123 45 67", "TR", "fixed-line", "+902121234567"),
        ("+90 532 123 45 67", "TR", "mobile", "+905321234567"),
        ("8 (495) 123-45-67", "RU", "fixed-line", "+74951234567"),
        ("+7 912 345-67-89", "RU", "mobile", "+79123456789"),
        ("020 7946 0000", "GB", "fixed-line", "+442079460000"),
        ("+1 212 555 0100", "US", "fixed-line-or-mobile", "+12125550100"),
    ],
)
def test_valid_numbers_are_unknown_not_dialled(raw: str, country: str, kind: str, e164: str) -> None:
    v = validate_phone(raw, country)
    assert (v.kind, v.verdict, v.reason) == ("phone", "unknown", "not-dialled")
    check = v.checks[0]
    assert check.name == "phone-plan"
    ev = check.evidence
    assert ev["type"] == kind and ev["e164"] == e164 and ev["region"] == country
    assert ev["valid"] is True and ev["possible"] is True and ev["foreign"] is False
    assert ev["timezones"] and ev["national"]
    assert v.flags == ()
    assert check.started_at > 0 and check.duration_ms >= 0


@pytest.mark.parametrize(
    ("raw", "country", "why"),
    [
        ("+36 1 234", "HU", "too-short"),
        ("+44 7700 900123", "GB", "possible"),  # Ofcom drama range: right length, not assigned
        ("+36 20 123 45678", "HU", "too-long"),
        ("+49 30 1234567890123456789", "DE", None),  # too long to parse at all
        ("12345", None, None),  # no region to read a national number with
        ("not a number", "HU", None),
        ("", "HU", None),
    ],
)
def test_invalid_numbers_are_inactive(raw: str, country: str | None, why: str | None) -> None:
    v = validate_phone(raw, country)
    assert (v.verdict, v.reason) == ("inactive", "invalid-number")
    assert v.checks[0].evidence["valid"] is False
    if why:
        assert v.checks[0].evidence["possible_reason"] == why


@pytest.mark.parametrize(
    ("raw", "country"),
    [("06 90 123 456", "HU"), ("0900 1 234567", "DE"), ("0901 234 5678", "GB"), ("0909 879 0000", "GB"),
     ("+48 701 234 567", "PL"), ("0900 123 45 67", "TR")],
)
def test_premium_rate_flags_cost(raw: str, country: str) -> None:
    v = validate_phone(raw, country)
    assert (v.verdict, v.reason, v.flags) == ("unknown", "premium-rate", ("cost-to-caller",))
    assert v.checks[0].evidence["type"] == "premium-rate"


@pytest.mark.parametrize(("raw", "country"), [("0180 1 234567", "DE"), ("801 234 567", "PL")])
def test_shared_cost_flags_cost(raw: str, country: str) -> None:
    v = validate_phone(raw, country)
    assert (v.verdict, v.reason, v.flags) == ("unknown", "shared-cost", ("cost-to-caller",))


@pytest.mark.parametrize(
    ("raw", "country"),
    [("06 80 123 456", "HU"), ("0800 1234567", "DE"), ("0800 123 4567", "GB"), ("800 123 456", "PL"),
     ("0800 123 45 67", "TR"), ("8 800 123-45-67", "RU")],
)
def test_toll_free_flag(raw: str, country: str) -> None:
    v = validate_phone(raw, country)
    assert (v.verdict, v.reason, v.flags) == ("unknown", "not-dialled", ("toll-free",))
    assert v.checks[0].evidence["type"] == "toll-free"


def test_foreign_region_is_flagged() -> None:
    v = validate_phone("+36 1 234 5678", "DE")
    ev = v.checks[0].evidence
    assert ev["foreign"] is True and ev["region"] == "HU" and ev["company_country"] == "DE"
    assert "foreign-number" in v.flags
    # a country alias and a lower-case code are understood
    assert validate_phone("+44 20 7946 0000", "uk").checks[0].evidence["foreign"] is False


def test_non_geographic_number_is_never_foreign() -> None:
    v = validate_phone("+800 1234 5678", "HU")
    ev = v.checks[0].evidence
    assert ev["region"] == "001" and ev["foreign"] is False and ev["type"] == "toll-free"


def test_national_format_needs_the_company_country() -> None:
    assert validate_phone("06 1 234 5678", "HU").verdict == "unknown"
    assert validate_phone("06 1 234 5678", None).verdict == "inactive"


def test_carrier_and_place_are_evidence() -> None:
    ev = validate_phone("+36 20 123 4567", "HU").checks[0].evidence
    assert ev["description"] == "Hungary" and ev["carrier"]
    assert validate_phone("+36 1 234 5678", "HU").checks[0].evidence["description"] == "Budapest"


def test_contact_point_input_falls_back_to_raw() -> None:
    cp = ContactPoint(kind="phone", value="+3612345678", raw="(1) 234-5678", label=None,
                      method="tel-link", page_url="https://example.test/")
    v = validate_phone(cp, "HU")
    assert (v.value, v.verdict) == ("+3612345678", "unknown")
    broken = ContactPoint(kind="phone", value="", raw="+36 1 234 5678", label=None, method="text",
                          page_url="https://example.test/")
    assert validate_phone(broken, "HU").checks[0].evidence["e164"] == "+3612345678"


def test_verdict_round_trips_through_dict() -> None:
    from auditor.models import Verdict

    v = validate_phone("06 90 123 456", "HU")
    assert Verdict.from_dict(v.to_dict()) == v
