"""Phone numbers against their numbering plan: pure, offline, no call placed.

libphonenumber can say whether a number *could* be assigned (valid in its plan) and
what kind of line it is, never whether it is in service. So a valid number stays
``unknown/not-dialled`` for a later SIP probe to decide; only an impossible or
invalid number is ``inactive``. Cost-to-caller facts (premium-rate, shared-cost)
are reported beside the verdict because they matter to the customer either way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberType, ValidationResult, carrier, geocoder, timezone

from auditor import reasons
from auditor.models import Check, ContactPoint, Kind, Verdict, VerdictValue

CHECK_NAME = "phone-plan"

TYPE_NAMES: Mapping[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed-line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed-line-or-mobile",
    PhoneNumberType.TOLL_FREE: reasons.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE: reasons.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST: reasons.SHARED_COST,
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}

POSSIBLE_REASONS: Mapping[int, str] = {
    ValidationResult.IS_POSSIBLE: "possible",
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "local-only",
    ValidationResult.INVALID_COUNTRY_CODE: "invalid-country-code",
    ValidationResult.TOO_SHORT: "too-short",
    ValidationResult.INVALID_LENGTH: "invalid-length",
    ValidationResult.TOO_LONG: "too-long",
}

# Country spellings people write that are not ISO 3166 alpha-2 region codes.
COUNTRY_ALIASES: Mapping[str, str] = {"UK": "GB", "EL": "GR"}
NON_GEOGRAPHIC = "001"  # phonenumbers' region for +800, +808, +870, ...


def normalize_country(country: str | None) -> str | None:
    """An upper-case region code phonenumbers knows, or None."""
    if not country:
        return None
    code = COUNTRY_ALIASES.get(country.strip().upper(), country.strip().upper())
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def describe(number: phonenumbers.PhoneNumber, country: str | None) -> dict[str, Any]:
    """Everything the plan says about ``number``, as JSON-friendly evidence."""
    valid = phonenumbers.is_valid_number(number)
    possible_reason = phonenumbers.is_possible_number_with_reason(number)
    region = phonenumbers.region_code_for_number(number)
    kind = TYPE_NAMES.get(phonenumbers.number_type(number), "unknown")
    zones = [z for z in timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    evidence: dict[str, Any] = {
        "valid": valid,
        "possible": possible_reason in (ValidationResult.IS_POSSIBLE, ValidationResult.IS_POSSIBLE_LOCAL_ONLY),
        "possible_reason": POSSIBLE_REASONS.get(possible_reason, "unknown"),
        "type": kind if valid else "unknown",
        "region": region,
        "country_code": number.country_code,
        "e164": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        "national": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
        "international": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        "timezones": zones,
        "company_country": country,
        # A non-geographic number (+800 ...) belongs to no country, so it is never "foreign".
        "foreign": bool(
            valid and country and region and region != NON_GEOGRAPHIC and region != country
        ),
    }
    if valid:
        # Both are small per-prefix lookups; the carrier is the original allocation
        # (number portability is invisible here), so it is a hint, not a fact.
        place = geocoder.description_for_number(number, "en")
        operator = carrier.name_for_number(number, "en")
        if place:
            evidence["description"] = place
        if operator:
            evidence["carrier"] = operator
    return evidence


def validate_phone(cp_or_value: str | ContactPoint, country: str | None = None) -> Verdict:
    """Judge a number by its plan: ``inactive/invalid-number`` or ``unknown/not-dialled``.

    ``country`` is the company's country: it is the region for numbers written in
    national format and the reference for the ``foreign`` evidence flag.
    """
    started_at, t0 = time.time(), time.perf_counter()
    kind: Kind = "phone"
    if isinstance(cp_or_value, ContactPoint):
        value, candidates = cp_or_value.value, [cp_or_value.value, cp_or_value.raw]
    else:
        value, candidates = cp_or_value, [cp_or_value]
    region = normalize_country(country)
    number = next((n for text in candidates if text and (n := _parse(text, region)) is not None), None)

    def done(verdict: VerdictValue, reason: str, message: str, evidence: dict[str, Any], flags: tuple[str, ...] = ()) -> Verdict:
        check = Check(
            name=CHECK_NAME, verdict=verdict, reason=reason, message=message, evidence=evidence,
            started_at=started_at, duration_ms=round((time.perf_counter() - t0) * 1000, 3),
        )
        return Verdict(kind=kind, value=value, verdict=verdict, reason=reason, message=message,
                       checks=(check,), flags=flags)

    if number is None:
        return done(
            "inactive", reasons.INVALID_NUMBER, f"{value!r} cannot be read as a phone number",
            {"valid": False, "possible": False, "input": value, "company_country": region},
        )
    evidence = describe(number, region)
    if not evidence["valid"]:
        why = evidence["possible_reason"]
        detail = "is not a possible length" if not evidence["possible"] else "is not valid"
        return done("inactive", reasons.INVALID_NUMBER, f"{evidence['e164']} {detail} in its numbering plan ({why})", evidence)

    reason, message, flags = _valid_number(evidence, region)
    return done("unknown", reason, message, evidence, flags)


def _valid_number(evidence: dict[str, Any], region: str | None) -> tuple[str, str, tuple[str, ...]]:
    """Reason, message and flags for a valid number: what calling it costs, where it is registered."""
    kind_name = evidence["type"]
    flags: list[str] = []
    reason = reasons.NOT_DIALLED
    message = f"{evidence['international']} is a valid {kind_name} number; not dialled"
    if kind_name == reasons.PREMIUM_RATE:
        flags.append("cost-to-caller")
        reason, message = reasons.PREMIUM_RATE, f"{evidence['international']} is a premium-rate number: calling costs extra"
    elif kind_name == reasons.SHARED_COST:
        flags.append("cost-to-caller")
        reason, message = reasons.SHARED_COST, f"{evidence['international']} is a shared-cost number: the caller pays part"
    elif kind_name == reasons.TOLL_FREE:
        flags.append(reasons.TOLL_FREE)
    if evidence["foreign"]:
        flags.append("foreign-number")
        message += f" (registered to {evidence['region']}, company in {region})"
    return reason, message, tuple(flags)
