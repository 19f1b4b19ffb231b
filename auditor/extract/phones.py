"""Placeholder: filled in by the extraction work."""

from __future__ import annotations

from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint


def extract_phones(page: ParsedPage, region: str | None = None) -> list[ContactPoint]:
    return []
