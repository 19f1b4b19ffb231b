"""Syntax: is this string an address at all, and what is its normalized form? No I/O.

Kept apart from deliverability, as python-email-validator keeps ``validate_email``'s
syntax step apart from its DNS step: the rest of the package only ever sees
addresses that passed here.
"""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from auditor import reasons
from auditor.models import ACTIVE, INACTIVE, Check
from auditor.validate.email.evidence import MAX_TEXT, ms, now


@dataclass
class Address:
    """One input address after the syntax check; ``key`` is what verdicts are keyed by."""

    raw: str
    key: str
    valid: bool
    syntax: Check
    ascii_address: str = ""
    utf8: bool = False  # the local part needs SMTPUTF8
    domain: str = ""  # ASCII (IDNA) and lower-case

    @property
    def rcpt(self) -> str:
        """What RCPT TO names: the ASCII form unless the local part itself is not ASCII."""
        return self.key if self.utf8 else self.ascii_address


def parse_address(raw: str) -> Address:
    """The syntax check of one address, with its evidence; never raises."""
    text = str(raw).strip()
    start, t0 = now()
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        check = Check(
            "email-syntax", INACTIVE, reasons.INVALID_SYNTAX, reasons.message(reasons.INVALID_SYNTAX),
            {"input": text[:MAX_TEXT], "error": str(exc)}, start, ms(t0),
        )
        return Address(text, text, False, check)
    key = result.normalized
    check = Check(
        "email-syntax", ACTIVE, reasons.VALID_SYNTAX, reasons.message(reasons.VALID_SYNTAX),
        {"input": text[:MAX_TEXT], "normalized": key}, start, ms(t0),
    )
    ascii_address = result.ascii_email or f"{result.local_part}@{result.ascii_domain}"
    return Address(
        text, key, True, check, ascii_address, result.ascii_email is None,
        result.ascii_domain.lower(),
    )
