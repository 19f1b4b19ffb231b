"""Placeholder: filled in by the extraction work."""

from __future__ import annotations

from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint


def extract_messaging(page: ParsedPage, *args: object) -> list[ContactPoint]:
    return []
