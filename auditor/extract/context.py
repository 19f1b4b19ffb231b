"""What every extractor is given besides the page: one signature for all of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.extract.page import ParsedPage
from auditor.models import ContactPoint

if TYPE_CHECKING:
    from auditor.extract.chat import Fingerprints


@dataclass(frozen=True)
class ExtractContext:
    """The page's surroundings, as far as extraction needs them.

    ``region`` is the ISO region that numbers written without a country code belong to
    (the company's country, else the page's); ``found`` holds the contact points the
    extractors before this one found on the page (hours attach to them);
    ``chat`` is the audit's chat fingerprint table when it differs from the packaged
    one (``--fingerprints``), so two audits in one process never share it.
    """

    region: str | None = None
    found: tuple[ContactPoint, ...] = ()
    chat: Fingerprints | None = None


NO_CONTEXT = ExtractContext()

# every extractor: extract(page, context) -> contact points, pure
Extractor = Callable[[ParsedPage, ExtractContext], list[ContactPoint]]
