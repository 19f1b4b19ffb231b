"""Pure extraction: one parsed page in, contact points out. No I/O, no Scrapy."""

from __future__ import annotations

import logging
from collections.abc import Callable

from auditor.extract.page import ParsedPage, parse_page
from auditor.extract.region import infer_region
from auditor.models import ContactPoint

log = logging.getLogger(__name__)

__all__ = ["extract_contacts", "extract_page", "parse_page", "ParsedPage"]


def _extractors() -> list[tuple[str, Callable[..., list[ContactPoint]]]]:
    from auditor.extract import chat, emails, forms, messaging, phones

    return [
        ("phone", phones.extract_phones),
        ("email", emails.extract_emails),
        ("chat", chat.extract_chat),
        ("messaging", messaging.extract_messaging),
        ("form", forms.extract_forms),
    ]


def extract_contacts(page: ParsedPage, country: str | None = None) -> list[ContactPoint]:
    """Every contact point on ``page``; ``country`` is the company's declared one.

    One extractor failing on a hostile page must not lose the others' results,
    so each runs guarded; the failure is logged with the page URL.
    """
    from auditor.extract import hours

    region = infer_region(page, country)
    found: list[ContactPoint] = []
    for kind, func in _extractors():
        try:
            found.extend(func(page, region) if kind == "phone" else func(page))
        except Exception:  # noqa: BLE001 - never crash an audit for one page
            log.exception("extractor %s failed on %s", kind, page.url)
    try:
        found.extend(hours.extract_hours(page, found))
    except Exception:  # noqa: BLE001
        log.exception("extractor hours failed on %s", page.url)
    return found


def extract_page(
    body: bytes | str, url: str, country: str | None = None, content_type: str | None = None
) -> list[ContactPoint]:
    """Parse and extract in one call (for `auditor extract` and tests)."""
    return extract_contacts(parse_page(body, url, content_type), country)
