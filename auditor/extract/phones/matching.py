"""libphonenumber's matcher and parser on one window, and the E.164 contact point built from a match."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import Leniency, PhoneNumber, PhoneNumberFormat, PhoneNumberMatcher

from auditor.extract import confidence as conf
from auditor.extract.context import PageMemo
from auditor.extract.page import ParsedPage
from auditor.extract.phones.candidates import (
    CONTEXT_SIDE,
    IDD_00,
    MAX_TRIES,
    MAX_VALUE_CHARS,
    SLASH,
    TYPE_NAMES,
    UNKNOWN_REGION,
)
from auditor.models import ContactPoint, Method, clip_context

CONFIDENCE = {"tel-link": conf.MACHINE, "json-ld": conf.MACHINE, "microdata": conf.STRUCTURED}


@dataclass(frozen=True)
class Found:
    """One matcher hit in a window: offsets into the window and the parsed number."""

    start: int
    end: int
    number: PhoneNumber


@lru_cache(maxsize=4096)
def _match(text: str, region: str) -> tuple[Found, ...]:
    """Run libphonenumber's matcher on a small window; hostile text yields nothing."""
    try:
        matcher = PhoneNumberMatcher(text, region, leniency=Leniency.VALID, max_tries=MAX_TRIES)
        return tuple(Found(m.start, m.end, m.number) for m in matcher)
    except Exception:  # noqa: BLE001 - libphonenumber must not take the page down
        return ()


def _normalized(text: str, international: bool) -> str:
    """Same-length rewrites the matcher needs: "0175/234" and, with no region, "00" for "+"."""
    if "/" in text:  # (what SLASH rewrites; most texts hold none)
        text = SLASH.sub(_slash_to_space, text)
    if international and "00" in text:
        text = IDD_00.sub(" +", text)
    return text


def _slash_to_space(m: re.Match[str]) -> str:
    return m.group(1) + " "


def matches(text: str, region: str | None) -> list[Found]:
    """Matches in ``text``: as written first, then with slash groups and "00" rewritten."""
    found = list(_match(text, region or UNKNOWN_REGION))
    normalized = _normalized(text, region is None)
    if normalized != text:
        for extra in _match(normalized, region or UNKNOWN_REGION):
            if extra.start > 0 and text[extra.start - 1 : extra.start + 1] == "00":
                extra = replace(extra, start=extra.start - 1)  # the raw text says "00", not "+"
            if not any(f.start < extra.end and extra.start < f.end for f in found):
                found.append(extra)
    return sorted(found, key=_start) if len(found) > 1 else found


def _start(found: Found) -> int:
    return found.start


def as_e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _number_type(number: PhoneNumber) -> str:
    try:
        return TYPE_NAMES.get(phonenumbers.number_type(number), "UNKNOWN")
    except Exception:  # noqa: BLE001
        return "UNKNOWN"


NumberKey = tuple[int | None, int | None, bool | None, int | None]


def _type_of(key: NumberKey) -> str:
    """The type name of the number (country code, national number, leading zero, zeros): all
    that libphonenumber's type test reads."""
    cc, national, leading_zero, zeros = key
    return _number_type(
        PhoneNumber(country_code=cc, national_number=national, italian_leading_zero=leading_zero, number_of_leading_zeros=zeros)
    )


# one page's numbers are typed once each: a number's link, text and attributes are one number
number_types = PageMemo(_type_of)


@contextmanager
def page_scope() -> Iterator[None]:
    """The per-page memos (parsed and typed numbers) for one page's extraction."""
    with number_types.scope(), _parsed.scope():
        yield


_HOSTILE = "hostile"


def _parse(key: tuple[str, str]) -> PhoneNumber | str | None:
    """``phonenumbers.parse`` of (text, region): None when it is no number, ``_HOSTILE`` when
    the parser broke on it."""
    try:
        return phonenumbers.parse(*key)
    except phonenumbers.NumberParseException:
        return None
    except Exception:  # noqa: BLE001 - hostile input
        return _HOSTILE


# a page repeats its numbers in links, titles and tooltips: each is parsed once per page
_parsed = PageMemo(_parse)


def _key(number: PhoneNumber) -> NumberKey:
    return (number.country_code, number.national_number, number.italian_leading_zero, number.number_of_leading_zeros)


def parse_valid(raw: str, regions: list[str]) -> tuple[PhoneNumber, str] | None:
    """Parse one number, trying ``regions`` in turn; only valid numbers count.

    Valid is what ``phonenumbers.is_valid_number`` says: a type other than UNKNOWN in the
    metadata of the number's region, the test ``number_type`` makes; so the type, which the
    record needs anyway, is worked out once (``number_types``).
    """
    candidate = _normalized(raw[:MAX_VALUE_CHARS], True).replace("(0)", "   ")
    for region in regions or [UNKNOWN_REGION]:
        number = _parsed((candidate, region))
        if number is None:
            continue
        if isinstance(number, str):
            return None
        if number_types(_key(number)) != "UNKNOWN":
            return number, region
    return None


# --- building records ---------------------------------------------------------------------------


def phone_point(
    page: ParsedPage,
    number: PhoneNumber,
    raw: str,
    method: Method,
    label: str | None,
    context: str,
    confidence: float,
) -> ContactPoint:
    kind_name = number_types(_key(number))
    details: dict[str, Any] = {"number_type": kind_name}
    if label:
        details["label_source"] = "page"
    elif kind_name == "MOBILE":
        label = "mobile"
        details["label_source"] = "number-type"
    return ContactPoint(
        kind="phone",
        value=as_e164(number),
        raw=raw.strip(),
        label=label,
        method=method,
        page_url=page.url,
        context=clip_context(context),
        confidence=round(min(1.0, max(0.0, confidence)), 2),
        details=details,
    )


def around(text: str, start: int, end: int) -> str:
    return text[max(0, start - CONTEXT_SIDE) : end + CONTEXT_SIDE]
