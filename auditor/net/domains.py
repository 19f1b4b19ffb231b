"""Registrable domains by the Public Suffix List (offline snapshot)."""

from __future__ import annotations

from functools import lru_cache

import tldextract

# The snapshot bundled with tldextract: never fetch the list at run time, the
# tool must work offline and give the same answer on every machine.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=False)


@lru_cache(maxsize=65536)
def split_host(host: str) -> tuple[str, str, str]:
    """(subdomain, domain, public suffix) of ``host``; suffix is '' if unknown."""
    host = (host or "").strip().rstrip(".").lower()
    result = _EXTRACT(host)
    return result.subdomain, result.domain, result.suffix


@lru_cache(maxsize=65536)
def registrable_domain(host: str) -> str | None:
    """``www.firma.com.tr`` -> ``firma.com.tr``; None for IPs and bare suffixes."""
    _sub, domain, suffix = split_host(host)
    if not domain or not suffix:
        return None
    return f"{domain}.{suffix}"


def has_public_suffix(host: str) -> bool:
    """True when ``host`` ends in a real public suffix (rejects ``logo@2x.png``)."""
    _sub, domain, suffix = split_host(host)
    return bool(domain and suffix)


def same_site(host_a: str, host_b: str) -> bool:
    """Both hosts belong to the same registrable domain (subdomains included)."""
    a, b = registrable_domain(host_a), registrable_domain(host_b)
    if a is None or b is None:
        return (host_a or "").lower().rstrip(".") == (host_b or "").lower().rstrip(".")
    return a == b
