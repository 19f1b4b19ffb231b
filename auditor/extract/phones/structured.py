"""Numbers in schema.org data (JSON-LD and microdata): ``telephone``, ``faxNumber``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import phonenumbers

from auditor.extract.page import ParsedPage
from auditor.extract.phones.candidates import MAX_STRUCT_DEPTH, MAX_STRUCT_NODES
from auditor.extract.phones.labels import pick_label
from auditor.extract.phones.matching import CONFIDENCE, parse_valid, phone_point
from auditor.extract.phones.words import phone_vocab
from auditor.models import ContactPoint

_PHONE_KEYS = {"telephone": None, "faxnumber": "fax"}


def _key(name: str) -> str:
    """Bare property name of "telephone", "schema:telephone", "http://schema.org/telephone":
    what follows the last "/", "#" or ":" (asked of every property of every node)."""
    return name[max(name.rfind("/"), name.rfind("#"), name.rfind(":")) + 1 :].lower()


def _strings(value: Any) -> list[str]:
    """Text values of a property that may be a string, a list or an {"@value": ...}."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        inner = value.get("@value", value.get("value"))
        return [inner] if isinstance(inner, str) else []
    if isinstance(value, list | tuple):
        return [s for v in value[:20] for s in _strings(v)]
    return []


def _props(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """JSON-LD keeps properties on the node, extruct microdata under "properties"."""
    inner = node.get("properties")
    return inner if isinstance(inner, Mapping) else node


def _country(node: Mapping[str, Any]) -> str | None:
    """A two-letter ``addressCountry`` of the node's address, when it names a region."""
    props = _props(node)
    address = props.get("address")
    if isinstance(address, list) and address:
        address = address[0]
    if not isinstance(address, Mapping):
        return None
    country = _props(address).get("addressCountry")
    if isinstance(country, Mapping):
        country = _props(country).get("name")
    if isinstance(country, str) and country.strip().upper() in phonenumbers.SUPPORTED_REGIONS:
        return country.strip().upper()
    return None


def _walk(root: Any) -> Iterator[tuple[str, str, Mapping[str, Any], str | None]]:
    """(property, value, node, country) for every phone property, however deeply nested."""
    stack: list[tuple[Any, int, str | None]] = [(root, 0, None)]
    visited = 0
    while stack and visited < MAX_STRUCT_NODES:
        node, depth, country = stack.pop()
        visited += 1
        if depth > MAX_STRUCT_DEPTH:
            continue
        if isinstance(node, list | tuple):
            stack.extend((child, depth + 1, country) for child in reversed(node[:500]))
            continue
        if not isinstance(node, Mapping):
            continue
        country = _country(node) or country
        props = _props(node)
        children = []
        for name, value in props.items():
            key = _key(str(name))
            if key in _PHONE_KEYS:
                for text in _strings(value):
                    yield str(name), text, node, country
            elif isinstance(value, Mapping | list | tuple):
                children.append(value)
        stack.extend((child, depth + 1, country) for child in reversed(children))


def _struct_label(name: str, props: Mapping[str, Any], node_type: str) -> str | None:
    """faxNumber is a fax; a telephone takes its label from ``contactType``."""
    fixed = _PHONE_KEYS[_key(name)]
    if fixed:
        return fixed
    words = " ".join(_strings(props.get("contactType")))
    if "contactpoint" in node_type.lower():
        words += " " + " ".join(_strings(props.get("name")))
    return pick_label(phone_vocab().hits(words), len(words)) if words.strip() else None


def from_structured(page: ParsedPage, region: str | None) -> Iterator[ContactPoint]:
    """schema.org ``telephone`` / ``faxNumber`` in JSON-LD and microdata."""
    try:
        structured = page.structured
    except Exception:  # noqa: BLE001 - hostile JSON-LD must not cost the links and the text
        return
    for method in ("json-ld", "microdata"):
        items = structured.get(method)
        if not items:  # (most pages have no microdata, many no JSON-LD)
            continue
        for name, value, node, country in _walk(items):
            regions = [r for r in (country, region) if r]
            regions = list(dict.fromkeys(regions))
            parsed = parse_valid(value, regions)
            if parsed is None:
                continue
            node_type = " ".join(_strings(node.get("@type")) + _strings(node.get("type")))
            node_type = " ".join(t.rsplit("/", 1)[-1] for t in node_type.split())
            label = _struct_label(name, _props(node), node_type)
            context = f"{node_type or method} {name}: {value}"
            yield phone_point(page, parsed[0], value, method, label, context, CONFIDENCE[method])
