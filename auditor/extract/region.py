"""Which numbering region a page's local-format phone numbers belong to."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import phonenumbers

from auditor.extract.page import ParsedPage
from auditor.net.domains import split_host

# ccTLDs whose code differs from the ISO 3166 alpha-2 region.
_TLD_REGION = {"uk": "GB", "su": "RU"}
# Languages spoken mainly in one numbering region.
_LANG_REGION = {
    "hu": "HU", "pl": "PL", "cs": "CZ", "sk": "SK", "ro": "RO", "tr": "TR", "uk": "UA",
    "ru": "RU", "de": "DE", "fr": "FR", "it": "IT", "nl": "NL", "es": "ES", "bg": "BG",
    "hr": "HR", "sl": "SI", "sr": "RS", "lt": "LT", "lv": "LV", "et": "EE", "fi": "FI",
    "sv": "SE", "da": "DK", "nb": "NO", "no": "NO", "el": "GR", "pt": "PT", "ja": "JP",
}


@lru_cache(maxsize=1)
def _regions() -> frozenset[str]:
    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def _valid(region: str | None) -> str | None:
    if not region:
        return None
    region = region.strip().upper()
    return region if region in _regions() else None


def region_from_url(url: str) -> str | None:
    """The region of the URL's ccTLD (``firma.com.tr`` -> TR), if it has one."""
    host = urlsplit(url).hostname or ""
    _sub, _domain, suffix = split_host(host)
    tld = suffix.rsplit(".", 1)[-1].lower() if suffix else ""
    if len(tld) != 2:
        return None
    return _valid(_TLD_REGION.get(tld, tld))


def region_from_lang(lang: str | None) -> str | None:
    """``de-AT`` -> AT, ``hu`` -> HU; None when the tag says nothing of a region."""
    if not lang:
        return None
    parts = lang.replace("_", "-").split("-")
    if len(parts) > 1 and len(parts[1]) == 2:
        found = _valid(parts[1])
        if found:
            return found
    return _valid(_LANG_REGION.get(parts[0].lower()))


def infer_region(page: ParsedPage, country: str | None = None) -> str | None:
    """Declared country first, then the ccTLD, then ``<html lang>`` / hreflang."""
    found = _valid(country) or region_from_url(page.url) or region_from_lang(page.lang)
    if found:
        return found
    for tag in page.hreflangs:
        found = region_from_lang(tag)
        if found:
            return found
    return None
