"""Hours from schema.org data: ``openingHours``, ``openingHoursSpecification``, ``hoursAvailable``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import phonenumbers

from auditor.extract.hours.attach import Target, hours_point
from auditor.extract.hours.blocks import parse_text
from auditor.extract.hours.schedules import Schedule, render
from auditor.extract.hours.vocabulary import SCHEMA_DAYS
from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint, Method


def _short_key(key: str) -> str:
    return key.rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text_of(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("@id", "@value", "url", "value"):
            if isinstance(text := value.get(key), str):
                return text
        props = value.get("properties")
        return _text_of(props.get("name")) if isinstance(props, dict) else ""
    return value if isinstance(value, str) else ""


def _clock(value: Any) -> int | None:
    m = re.match(r"\s*(\d{1,2}):(\d{2})", _text_of(value))
    if not m:
        return None
    h, mi = int(m.group(1)), int(m.group(2))
    if h > 24 or mi > 59:
        return None
    return h * 60 + mi


def _spec_days(value: Any) -> list[int]:
    """The day indexes a ``dayOfWeek`` names ("Monday", "https://schema.org/Monday", "Mo")."""
    days = []
    for item in _as_list(value):
        name = _short_key(_text_of(item)).strip().lower()
        if name in SCHEMA_DAYS:
            days.append(SCHEMA_DAYS[name])
    return days


def _spec_into(spec: Any, sched: Schedule) -> bool:
    """Fold one OpeningHoursSpecification into ``sched``; False when unusable."""
    if isinstance(spec, dict) and isinstance(spec.get("properties"), dict):
        spec = spec["properties"]
    if not isinstance(spec, dict):
        return False
    props = {_short_key(k): v for k, v in spec.items()}
    if props.get("validThrough"):
        return False  # a holiday or seasonal exception, not the regular hours
    days = _spec_days(props.get("dayOfWeek"))
    opens, closes = _clock(props.get("opens")), _clock(props.get("closes"))
    if not days or opens is None or closes is None:
        return False
    if opens == 0 and closes == 0:
        sched.closed.update(days)
        return True
    if closes == 0 or closes >= 23 * 60 + 59:
        closes = 24 * 60
    if closes <= opens:
        return False
    for d in days:
        sched.per_day.setdefault(d, set()).add((opens, closes))
    return True


def _structured_items(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema.org item (as a property dict) inside a JSON-LD / microdata tree."""
    if isinstance(node, list):
        for child in node:
            yield from _structured_items(child)
    elif isinstance(node, dict):
        props: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else node
        yield props
        for key, value in props.items():
            if key != "@context" and isinstance(value, dict | list):
                yield from _structured_items(value)


def _item_target(item: dict[str, Any], targets: list[Target]) -> str | None:
    """What a schema.org ContactPoint's ``hoursAvailable`` describes."""
    props = {_short_key(k): v for k, v in item.items()}
    phone = _text_of(_as_list(props.get("telephone"))[0]) if props.get("telephone") else ""
    email = _text_of(_as_list(props.get("email"))[0]) if props.get("email") else ""
    if phone:
        digits = re.sub(r"\D", "", phone)
        for t in targets:
            if t.digits and t.digits in digits:
                return t.value
        try:
            num = phonenumbers.parse(phone, None)
            if phonenumbers.is_possible_number(num):
                return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            pass
    if email:
        return email.removeprefix("mailto:").strip().lower()
    return None


def _item_schedule(item: dict[str, Any], targets: list[Target]) -> tuple[Schedule, list[str], str | None]:
    """One item's hours (``openingHours`` strings and specifications), their source, their target."""
    props = {_short_key(k): v for k, v in item.items()}
    raws: list[str] = []
    sched = Schedule(kind="structured")
    applies: str | None = None
    strings = [s for s in map(_text_of, _as_list(props.get("openingHours"))) if s.strip()]
    if strings:
        found = parse_text(strings, force_lang="en") or parse_text(strings)
        for s in found:
            for d, spans in s.per_day.items():
                sched.per_day.setdefault(d, set()).update(spans)
            sched.closed.update(s.closed)
            sched.always = sched.always or s.always
        raws.extend(strings)
    for key in ("openingHoursSpecification", "hoursAvailable"):
        specs = _as_list(props.get(key))
        used = [spec for spec in specs if _spec_into(spec, sched)]
        if used:
            raws.append(json.dumps(used, ensure_ascii=False, default=str)[:500])
            if key == "hoursAvailable":
                applies = _item_target(item, targets)
    return sched, raws, applies


def structured_hours(page: ParsedPage, targets: list[Target]) -> Iterator[ContactPoint]:
    try:
        data = page.structured
    except Exception:  # noqa: BLE001 - broken structured data must not stop text hours
        return
    sources: tuple[tuple[Method, Any], ...] = (
        ("json-ld", data.get("json-ld", [])),
        ("microdata", data.get("microdata", [])),
    )
    for method, root in sources:
        for item in _structured_items(root):
            sched, raws, applies = _item_schedule(item, targets)
            rendered = render(sched)
            if rendered is None:
                continue
            value, spans, always = rendered
            yield hours_point(
                page, value, "; ".join(raws), method, spans, always, applies, sched, "; ".join(raws)
            )
