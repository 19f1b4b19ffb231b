"""Placeholder: filled in by the extraction work."""

from __future__ import annotations

from collections.abc import Sequence

from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint


def extract_hours(page: ParsedPage, contacts: Sequence[ContactPoint] = ()) -> list[ContactPoint]:
    return []
