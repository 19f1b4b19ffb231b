"""Email addresses published on one page.

Sources, best first: ``mailto:`` links, JSON-LD and microdata ``email``
properties, then visible text (plain, obfuscated with at/dot words in several
languages, Cloudflare ``data-cfemail`` and ``/cdn-cgi/l/email-protection``
hex, and entity-encoded addresses in the HTML source). Scripts are never
scanned except JSON-LD: they are full of DSNs, CSS and templating junk.

Every candidate passes one gate (:func:`_validate`): RFC syntax through
email-validator, a real public suffix, and no file names, map coordinates,
placeholders or tracking DSNs. Words and lists live in ``data/emails.toml``.

The package follows those steps: ``rules`` (the data file, compiled), ``gate``, ``scan``
(plain and obfuscated text), ``labels`` (role or personal, label words), ``collect`` (the
best sighting per address) and ``sources`` (links, blocks, Cloudflare, schema.org, entities).
"""

from __future__ import annotations

import logging
from typing import Any

from auditor.extract.context import NO_CONTEXT, ExtractContext
from auditor.extract.emails.collect import Collector
from auditor.extract.emails.gate import validate
from auditor.extract.emails.labels import classify_address, label_from_local
from auditor.extract.emails.scan import normalize_address
from auditor.extract.emails.sources import (
    from_attributes,
    from_blocks,
    from_cloaking,
    from_cloudflare,
    from_entities,
    from_links,
    from_structured,
    glued,
    page_host,
    placeholders_of,
)
from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint, clip_context
from auditor.net.domains import same_site

log = logging.getLogger(__name__)

__all__ = ["classify_address", "extract_emails", "normalize_address"]


def _build(page: ParsedPage, collector: Collector) -> list[ContactPoint]:
    host = page_host(page.url)
    placeholders = placeholders_of(page)
    items = list(collector.found.values())
    reliable: dict[str, list[str]] = {}
    for item in items:
        if item.method != "text":
            local, _, domain = item.value.rpartition("@")
            reliable.setdefault(domain, []).append(local)
    points: list[ContactPoint] = []
    for item in items:
        if item.method == "text" and (item.value in placeholders or glued(item.value, reliable)):
            continue
        domain = item.value.rpartition("@")[2]
        details: dict[str, Any] = {"address_class": classify_address(item.value), **item.details}
        details["same_site"] = bool(host) and same_site(domain, host)
        if len(item.methods) > 1:
            details["methods"] = sorted(item.methods)
        if details.get("region") is None:
            details.pop("region", None)
        points.append(
            ContactPoint(
                kind="email",
                value=item.value,
                raw=item.raw,
                label=item.label,
                method=item.method,
                page_url=page.url,
                context=clip_context(item.context or item.value),
                confidence=round(item.confidence, 3),
                details=details,
            )
        )
    return points


def extract_emails(page: ParsedPage, context: ExtractContext = NO_CONTEXT) -> list[ContactPoint]:
    """Every distinct email address published on ``page``, best sighting each.

    Each source runs guarded so that hostile markup in one (a broken JSON-LD
    block, a huge attribute) cannot lose the others' results; never raises.
    """
    with validate.scope(), label_from_local.scope(), page_host.scope():
        return _extract(page)


def _extract(page: ParsedPage) -> list[ContactPoint]:
    try:
        collector = Collector(page)
    except Exception:  # noqa: BLE001
        log.exception("email extraction failed on %s", getattr(page, "url", "?"))
        return []
    for source in (
        from_links,
        from_structured,
        from_blocks,
        from_cloudflare,
        from_entities,
        from_cloaking,
        from_attributes,
    ):
        try:
            source(page, collector)
        except Exception:  # noqa: BLE001
            log.exception(
                "email source %s failed on %s", source.__name__, getattr(page, "url", "?")
            )
    try:
        return _build(page, collector)
    except Exception:  # noqa: BLE001
        log.exception("email extraction failed on %s", getattr(page, "url", "?"))
        return []
