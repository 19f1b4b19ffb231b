"""What one SMTP reply says about a recipient: pure, table-tested, no I/O.

Order matters (validation-facts.md): a 5xx that mentions a blocklist, reputation or
PTR is about *us*, not about the mailbox, even when it also says "does not exist"
or carries a mailbox-ish code, so policy wording is checked before mailbox
wording. Only 250/251 count as acceptance; 4xx is temporary and never inactive.

Decisions worth knowing:

* 5.2.2 and "mailbox full / over quota" -> ``unknown``/``mailbox-disabled``: the
  mailbox exists but refuses mail right now; that is not proof it is dead.
* 5.2.1 ("account disabled") -> ``inactive``/``no-such-mailbox``, as RFC 3463 and
  the facts file treat disabled mailboxes as dead.
* ``550 5.4.1 Recipient address rejected: Access denied`` is Microsoft 365's
  directory-based edge blocking, its answer for unknown recipients -> inactive.
* A 4xx that says "greylist" is greylisting; a 4xx with blocklist wording is a
  policy deferral (retrying will not help); every other 4xx is treated as
  greylisting / rate limiting and re-probed once later.
* Any other 5xx -> ``unknown``/``recipient-refused``: a refusal that does not say
  the mailbox is missing proves nothing.
"""

from __future__ import annotations

import re

from auditor import reasons
from auditor.models import ACTIVE, INACTIVE, UNKNOWN, VerdictValue

_ENHANCED_START = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_ENHANCED_HASH = re.compile(r"#\s?([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")

_GREYLIST = re.compile(r"gr[ea]y[- ]?list", re.I)

# About the client, the sender or the message: never about the mailbox.
_POLICY = re.compile(
    r"""
    spamhaus | spamcop | \bsorbs\b | barracuda | \bspam\w* | \bjunk\b
    | \bblock(?:ed|ing|s)?\b | block\s?-?list(?:ed)? | black\s?-?list(?:ed)? | deny\s?-?list
    | \b(?:dns)?rbl\b | \bdnsbl\b | \bbanned\b | \blisted\s+(?:at|on|in|by)\b
    | reputation | \bptr\b | reverse\s+(?:dns|hostname|lookup|address|name) | \brdns\b
    | \bpolic(?:y|ies)\b | \bhelo\b | \behlo\b | \bsender\b | client\s+host
    | \brelay(?:ing)?\b | unauthenticated | \bdmarc\b | \bspf\b | \bdkim\b
    """,
    re.I | re.X,
)

_FULL = re.compile(
    r"over\s+(?:the\s+)?quota | quota\s+exceeded | exceeded\s+(?:the\s+|its\s+)?(?:storage\s+)?quota"
    r" | mailbox\s+(?:is\s+)?full | mailbox\s+size\s+limit | insufficient\s+storage",
    re.I | re.X,
)

_MAILBOX = re.compile(
    r"""
    user\s+unknown | unknown\s+(?:user|recipient|mailbox|address|local\s+part)
    | (?:recipient|address|mailbox)\s+unknown
    | no\s+such\s+(?:local\s+)?(?:user|mailbox|recipient|address|account|person)
    | no\s+mailbox | nosuchuser
    | (?:does\s+not|doesn'?t|did\s+not)\s+exist | \bnot\s+exist | non-?existent
    | mailbox\s+(?:is\s+)?(?:unavailable|not\s+found|not\s+available|disabled|inactive|deactivated)
    | (?:user|recipient|account|address|mailbox)\s+(?:was\s+)?not\s+found | recipientnotfound
    | (?:invalid|unknown|bad)\s+(?:recipient|mailbox|user) | recipient\s+(?:is\s+)?invalid
    | not\s+a\s+valid\s+(?:mailbox|recipient|user|address)
    | unroute?able\s+address
    | doesn'?t\s+have\s+an?\s+\S+\s+account
    | account\s+(?:(?:is|has\s+been)\s+)?(?:disabled|deactivated|inactive|closed|suspended)
    | no\s+longer\s+(?:active|available|valid|exists)
    """,
    re.I | re.X,
)
_DBEB = re.compile(r"recipient\s+address\s+rejected:\s*access\s+denied", re.I)


def enhanced_code(text: str) -> str | None:
    """The RFC 3463 status code (``"5.1.1"``) a reply text carries, if any.

    Looked for at the start (``550 5.1.1 ...``; aiosmtplib strips the basic code)
    and in qmail/Exim's ``(#5.1.1)`` form.
    """
    match = _ENHANCED_START.match(text) or _ENHANCED_HASH.search(text)
    if not match:
        return None
    return ".".join(str(int(part)) for part in match.groups())


def is_policy_text(text: str) -> bool:
    """True when a reply speaks of blocklists, reputation, PTR, policy or the sender."""
    return bool(_POLICY.search(text))


def classify_reply(code: int, text: str) -> tuple[VerdictValue, str]:
    """(verdict, reason tag) for the reply to ``RCPT TO``."""
    text = text or ""
    enhanced = enhanced_code(text)
    if code in (250, 251):
        return ACTIVE, reasons.MAILBOX_EXISTS
    if code == 252:
        return UNKNOWN, reasons.CANNOT_VERIFY
    if 400 <= code < 500:
        if _GREYLIST.search(text):
            return UNKNOWN, reasons.GREYLISTED
        if is_policy_text(text):
            return UNKNOWN, reasons.BLOCKED_BY_POLICY
        return UNKNOWN, reasons.GREYLISTED
    if not 500 <= code < 600:
        return UNKNOWN, reasons.SMTP_ERROR
    if (enhanced and enhanced.startswith("5.7.")) or is_policy_text(text):
        return UNKNOWN, reasons.BLOCKED_BY_POLICY
    if enhanced == "5.2.2" or _FULL.search(text):
        return UNKNOWN, reasons.MAILBOX_DISABLED
    if enhanced and (enhanced.startswith("5.1.") or enhanced == "5.2.1"):
        return INACTIVE, reasons.NO_SUCH_MAILBOX
    if enhanced == "5.4.1" and _DBEB.search(text):
        return INACTIVE, reasons.NO_SUCH_MAILBOX
    if _MAILBOX.search(text):
        return INACTIVE, reasons.NO_SUCH_MAILBOX
    return UNKNOWN, reasons.RECIPIENT_REFUSED


def classify_sender_reply(code: int, text: str) -> tuple[VerdictValue, str]:
    """(verdict, reason) when ``MAIL FROM`` is refused: it is about us, never the mailbox."""
    if 400 <= code < 500 and (_GREYLIST.search(text or "") or not is_policy_text(text or "")):
        return UNKNOWN, reasons.GREYLISTED
    if 400 <= code < 600:
        return UNKNOWN, reasons.BLOCKED_BY_POLICY
    return UNKNOWN, reasons.SMTP_ERROR


def is_too_many_recipients(code: int, text: str) -> bool:
    """452 / 4.5.3: the server wants fewer recipients per session, not a verdict."""
    return code == 452 or enhanced_code(text or "") == "4.5.3"
