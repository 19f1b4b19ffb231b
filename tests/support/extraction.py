"""Extraction as tests need it: every extractor's crash surfaces, and the output is well formed.

``extract_page`` runs each extractor guarded (one failing must not lose the
others on a real audit) and only logs the failure; a test that merely calls it
would pass with an extractor that raises on every page. ``extract_strictly``
turns such a log record into a test failure, and ``assert_well_formed`` checks
what every contact point promises, whatever page it came from.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

import phonenumbers

from auditor.extract import extract_page, parse_page
from auditor.models import CONTEXT_MAX, ContactPoint
from auditor.validate.links import chat_providers

KINDS = {"phone", "email", "chat", "messaging", "form", "hours"}
DAYS = {"Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"}
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
ADDRESS = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
CLOCK = re.compile(r"([01][0-9]|2[0-4]):[0-5][0-9]")


class _Failures(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def extractor_failures() -> Iterator[list[logging.LogRecord]]:
    """The ERROR records ``auditor.extract`` logs meanwhile (an extractor that raised)."""
    handler = _Failures()
    logger = logging.getLogger("auditor.extract")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def extract_strictly(body: bytes | str, url: str, country: str | None = None) -> list[ContactPoint]:
    """``extract_page``, failing on any extractor crash it swallowed, with well-formed output."""
    with extractor_failures() as failures:
        found = extract_page(body, url, country)
    assert not failures, "\n".join(
        f"{r.getMessage()}\n{logging.Formatter().formatException(r.exc_info) if r.exc_info else ''}"
        for r in failures)
    assert_well_formed(found, body, url)
    return found


def assert_well_formed(found: Sequence[ContactPoint], body: bytes | str, url: str) -> None:
    """What every contact point promises: a known kind, a normalized value, text from the page."""
    page = parse_page(body, url)
    providers = chat_providers()
    for cp in found:
        where = f"{cp!r}"
        assert cp.kind in KINDS, where
        assert cp.page_url == url and 0.0 <= cp.confidence <= 1.0, where
        assert len(cp.context) <= CONTEXT_MAX, where
        assert cp.value and cp.value == cp.value.strip(), where
        if cp.kind == "phone":
            assert E164.fullmatch(cp.value), where
            assert phonenumbers.is_valid_number(phonenumbers.parse(cp.value)), where
        elif cp.kind == "email":
            assert ADDRESS.fullmatch(cp.value) and cp.value == cp.value.lower(), where
        elif cp.kind == "chat":
            assert cp.value in providers, where
        elif cp.kind in ("form", "messaging"):
            parts = urlsplit(cp.value)
            assert parts.scheme and (parts.netloc or parts.path), where
        elif cp.kind == "hours":
            for span in cp.details.get("spans", []):
                assert set(span["days"]) <= DAYS, where
                assert CLOCK.fullmatch(span["open"]) and CLOCK.fullmatch(span["close"]), where
        if cp.method == "text":
            # a schedule read across blocks (a day in one table cell, its hours in the next) quotes
            # each block's piece, joined by " | " (hours.blocks.raw_of): each piece is on the page
            pieces = cp.raw.split(" | ") if cp.kind == "hours" else [cp.raw]
            assert cp.raw and all(piece in page.text for piece in pieces), where
