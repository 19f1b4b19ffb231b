"""Pure extraction: one parsed page in, contact points out. No I/O, no Scrapy."""

from __future__ import annotations

import logging

from auditor.extract import chat, emails, forms, framework_state, hours, messaging, phones
from auditor.extract.chat import Fingerprints
from auditor.extract.context import NO_CONTEXT, ExtractContext, Extractor
from auditor.extract.page import ParsedPage, parse_page
from auditor.extract.region import infer_region
from auditor.models import ContactPoint

log = logging.getLogger(__name__)

__all__ = [
    "EXTRACTORS", "NO_CONTEXT", "ExtractContext", "Extractor", "ParsedPage",
    "extract_contacts", "extract_page", "parse_page",
]

# Every extractor, in the order they run: hours come last, to attach to what the others found.
EXTRACTORS: tuple[tuple[str, Extractor], ...] = (
    ("phone", phones.extract_phones),
    ("email", emails.extract_emails),
    ("chat", chat.extract_chat),
    ("messaging", messaging.extract_messaging),
    ("form", forms.extract_forms),
    # after the others: it adds only what the markup did not show (an app shell's state)
    ("framework-state", framework_state.extract_framework_state),
    ("hours", hours.extract_hours),
)


def extract_contacts(
    page: ParsedPage, country: str | None = None, chat_fingerprints: Fingerprints | None = None
) -> list[ContactPoint]:
    """Every contact point on ``page``; ``country`` is the company's declared one.

    ``chat_fingerprints`` is the audit's merged table (``--fingerprints``), else the packaged one.

    One extractor failing on a hostile page must not lose the others' results,
    so each runs guarded; the failure is logged with the page URL.
    """
    region = infer_region(page, country)
    found: list[ContactPoint] = []
    for kind, func in EXTRACTORS:
        try:
            found.extend(func(page, ExtractContext(region, tuple(found), chat_fingerprints)))
        except Exception:  # noqa: BLE001 - never crash an audit for one page
            log.exception("extractor %s failed on %s", kind, page.url)
    return found


def extract_page(
    body: bytes | str, url: str, country: str | None = None, content_type: str | None = None
) -> list[ContactPoint]:
    """Parse and extract in one call (for `auditor extract` and tests)."""
    return extract_contacts(parse_page(body, url, content_type), country)
