"""The gate every candidate passes: RFC syntax (email-validator), a public suffix, no junk."""

from __future__ import annotations

import re

from email_validator import validate_email

from auditor.extract.context import PageMemo
from auditor.extract.emails.rules import HEX_LOCAL, RETINA, TOKEN_SPLIT, email_rules
from auditor.net.domains import has_public_suffix, registrable_domain
from auditor.text import fold


def _validate(address: str) -> str | None:
    """Normalized lower-case address, or None when it is not a real contact.

    Syntax alone lets through ``logo@2x.png`` and ``name@domain.com``; the
    public suffix, file-name, placeholder and tracker checks remove those, and a no-reply
    sender (``noreply@``) is no contact point wherever it is shown.
    """
    if not address or len(address) > 320 or address.count("@") != 1:
        return None
    try:
        result = validate_email(address, check_deliverability=False)
    except Exception:  # noqa: BLE001 - EmailNotValidError, and anything IDNA throws
        return None
    value = result.normalized.lower()
    local, _, domain = value.rpartition("@")
    ascii_domain = (result.ascii_domain or domain).lower()
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
    if any(ascii_domain == t or ascii_domain.endswith("." + t) for t in rules.tracking_domains):
        return None
    if HEX_LOCAL.match(local) and re.search(r"\d", local) and re.search(r"[a-f]", local):
        return None  # 32-hex keys of error trackers and analytics
    return value


# one page's addresses are validated once each (email-validator's IDNA checks are the costly part)
validate = PageMemo(_validate)
