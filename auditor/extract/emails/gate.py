"""The gate every candidate passes: RFC syntax (email-validator), a public suffix, no junk."""

from __future__ import annotations

import re
from functools import cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, validate_email
from email_validator.rfc_constants import DOT_ATOM_TEXT

from auditor.extract.context import PageMemo
from auditor.extract.emails.rules import HEX_LOCAL, RETINA, TOKEN_SPLIT, email_rules
from auditor.net.domains import has_public_suffix, registrable_domain
from auditor.text import fold

# A plain ASCII host name: labels of letters, digits and inner hyphens, at least two, the
# last ending in a letter, none over 63 characters (email-validator's DNS limits).
_PLAIN_DOMAIN = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z0-9][a-z0-9-]{0,61})?[a-z]\Z"
)
_SPECIAL_USE = tuple("." + d for d in SPECIAL_USE_DOMAIN_NAMES)


def _plain(address: str) -> tuple[str, str] | None:
    """(normalized, ascii domain) of an address email-validator would accept unchanged
    but for case, or None when only email-validator can tell.

    email-validator (default options, no deliverability check) on an ASCII address whose
    local part is an RFC 5322 dot-atom and whose domain is a plain host name does no more
    than this: it splits at the one "@", accepts the dot-atom as it is, lower-cases the
    domain (UTS-46 maps only A-Z for these characters), and checks lengths, a dotted
    domain with a letter last, R-LDH and Punycode labels (any "--" here: left to it) and
    special-use names. Whatever this returns, it returns too (``test_email_speed_gates``
    checks both on edge cases); anything else goes to it.
    """
    if len(address) > 254 or not address.isascii():
        return None
    local, _, domain = address.partition("@")
    domain = domain.lower()
    if (
        len(domain) > 253
        or "--" in domain
        or not DOT_ATOM_TEXT.match(local)
        or not _PLAIN_DOMAIN.match(domain)
        or domain.endswith(_SPECIAL_USE)
    ):
        return None
    return f"{local}@{domain}", domain


# Built once, looked up without an argument: a cache keyed on the rules' long tuple would
# hash it again on every call.
@cache
def _tracking() -> tuple[frozenset[str], tuple[str, ...]]:
    """The tracking domains, and their subdomains' endings: one C-level test each."""
    domains = email_rules().tracking_domains
    return frozenset(domains), tuple("." + d for d in domains)


def _validate(address: str) -> str | None:
    """Normalized lower-case address, or None when it is not a real contact.

    Syntax alone lets through ``logo@2x.png`` and ``name@domain.com``; the
    public suffix, file-name, placeholder and tracker checks remove those, and a no-reply
    sender (``noreply@``) is no contact point wherever it is shown.
    """
    if not address or len(address) > 320 or address.count("@") != 1:
        return None
    plain = _plain(address)
    if plain is None:
        try:
            result = validate_email(address, check_deliverability=False)
        except Exception:  # noqa: BLE001 - EmailNotValidError, and anything IDNA throws
            return None
        plain = result.normalized, result.ascii_domain
    value = plain[0].lower()
    local, _, domain = value.rpartition("@")
    ascii_domain = (plain[1] or domain).lower()
    if not (has_public_suffix(ascii_domain) or has_public_suffix(domain)):
        return None
    rules = email_rules()
    labels = ascii_domain.split(".")
    if labels[-1] in rules.file_extensions or RETINA.match(labels[0]):
        return None
    registrable = registrable_domain(ascii_domain) or ascii_domain
    if (
        registrable in rules.placeholder_domains
        or domain in rules.placeholder_domains
        or ascii_domain in rules.placeholder_domains
        or local in rules.placeholder_locals
        or TOKEN_SPLIT.sub("", fold(local)).startswith(rules.no_reply_locals)
    ):
        return None
    exact, under = _tracking()
    if ascii_domain in exact or ascii_domain.endswith(under):
        return None
    if HEX_LOCAL.match(local) and re.search(r"\d", local) and re.search(r"[a-f]", local):
        return None  # 32-hex keys of error trackers and analytics
    return value


# one page's addresses are validated once each (email-validator's IDNA checks are the costly part)
validate = PageMemo(_validate)
