"""Reason tags as named constants, checked against ``auditor/data/reasons.toml`` at import.

A verdict, a check or a harvest failure carries a stable kebab-case reason tag; reports,
exports and users' scripts depend on the spelling. Code names a tag through a constant
here (``reasons.DNS_FAILURE``), so a typo is a NameError, and this module refuses to
import when a constant names no tag of the data file, when a tag has no message, or when
a tag of the data file has no constant (as LinkChecker checks its warning tags).
:func:`message` is the one lookup of a tag's human message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from auditor.data import load

__all__ = ["TAGS", "message"]

# harvest
DNS_FAILURE: Final = "dns-failure"
PRIVATE_ADDRESS_REFUSED: Final = "private-address-refused"
CONNECT_TIMEOUT: Final = "connect-timeout"
READ_TIMEOUT: Final = "read-timeout"
CONNECTION_REFUSED: Final = "connection-refused"
CONNECTION_LOST: Final = "connection-lost"
TLS_ERROR: Final = "tls-error"
TOO_LARGE: Final = "too-large"
ROBOTS_DISALLOWED: Final = "robots-disallowed"
NO_CONTACT_PAGE_FOUND: Final = "no-contact-page-found"
NO_CONTACT_POINTS: Final = "no-contact-points"
PAGE_BUDGET_REACHED: Final = "page-budget-reached"
COMPANY_TIME_BUDGET: Final = "company-time-budget"
HOME_REDIRECTED_OFFSITE: Final = "home-redirected-offsite"
REDIRECTED_OFFSITE: Final = "redirected-offsite"
HTTP_4XX: Final = "http-4xx"
HTTP_5XX: Final = "http-5xx"
NOT_HTML: Final = "not-html"
DOWNLOAD_ERROR: Final = "download-error"
PROCESSING_ERROR: Final = "processing-error"
SITEMAP_INVALID: Final = "sitemap-invalid"

# email
VALID_SYNTAX: Final = "valid-syntax"
INVALID_SYNTAX: Final = "invalid-syntax"
NULL_MX: Final = "null-mx"
NXDOMAIN: Final = "nxdomain"
NO_MAIL_HOST: Final = "no-mail-host"
IMPLICIT_MX: Final = "implicit-mx"
MX_PRIVATE: Final = "mx-private"
DNS_TIMEOUT: Final = "dns-timeout"
DNS_SERVFAIL: Final = "dns-servfail"
MAILBOX_EXISTS: Final = "mailbox-exists"
NO_SUCH_MAILBOX: Final = "no-such-mailbox"
MAILBOX_DISABLED: Final = "mailbox-disabled"
ACCEPT_ALL: Final = "accept-all"
GREYLISTED: Final = "greylisted"
BLOCKED_BY_POLICY: Final = "blocked-by-policy"
CANNOT_VERIFY: Final = "cannot-verify"
PORT_25_BLOCKED: Final = "port-25-blocked"
SMTP_TIMEOUT: Final = "smtp-timeout"
SMTP_ERROR: Final = "smtp-error"
SMTP_UNREACHABLE: Final = "smtp-unreachable"

# phone
INVALID_NUMBER: Final = "invalid-number"
NOT_DIALLED: Final = "not-dialled"
PREMIUM_RATE: Final = "premium-rate"
SHARED_COST: Final = "shared-cost"
TOLL_FREE: Final = "toll-free"

# links, chat, messaging, forms
HTTP_OK: Final = "http-ok"
HTTP_404: Final = "http-404"
SOFT_404: Final = "soft-404"
BOT_CHALLENGE: Final = "bot-challenge"
RATE_LIMITED: Final = "rate-limited"
REDIRECT_LOOP: Final = "redirect-loop"
WIDGET_LOADS: Final = "widget-loads"
WIDGET_MISSING: Final = "widget-missing"
DEAD_PROVIDER: Final = "dead-provider"
UNVERIFIABLE: Final = "unverifiable"
ACCOUNT_MISSING: Final = "account-missing"
ACCOUNT_EXISTS: Final = "account-exists"
FORM_ACTION_OK: Final = "form-action-ok"
FORM_ACTION_BROKEN: Final = "form-action-broken"

# links: HTTP client and validators (auditor.validate.http / links)
TOO_MANY_REDIRECTS: Final = "too-many-redirects"
INVALID_URL: Final = "invalid-url"
BAD_REDIRECT: Final = "bad-redirect"
NO_WIDGET_URL: Final = "no-widget-url"
OPERATOR_ONLINE: Final = "operator-online"
OPERATOR_OFFLINE: Final = "operator-offline"
OPERATOR_UNKNOWN: Final = "operator-unknown"
FORM_ACTION_UNVERIFIED: Final = "form-action-unverified"
LINK_WITHOUT_SCHEME: Final = "link-without-scheme"

# email: DNS and SMTP validator (auditor.validate.email)
MX_FOUND: Final = "mx-found"
DNS_ERROR: Final = "dns-error"
NOT_ACCEPT_ALL: Final = "not-accept-all"
RECIPIENT_REFUSED: Final = "recipient-refused"
SMTPUTF8_UNSUPPORTED: Final = "smtputf8-unsupported"
VALIDATOR_ERROR: Final = "validator-error"

# any check
CHECK_ERROR: Final = "check-error"

# browser mode: rendering in headless Chromium (auditor.validate.browser)
LAUNCHER_VISIBLE: Final = "launcher-visible"
LAUNCHER_HIDDEN: Final = "launcher-hidden"
WIDGET_NOT_LOADED: Final = "widget-not-loaded"
REQUEST_BUDGET_SPENT: Final = "request-budget-spent"
SCHEME_BLOCKED: Final = "scheme-blocked"
METHOD_BLOCKED: Final = "method-blocked"
RESOURCE_SKIPPED: Final = "resource-skipped"
WEBSOCKET_BLOCKED: Final = "websocket-blocked"
RENDER_TIMEOUT: Final = "render-timeout"
BROWSER_ERROR: Final = "browser-error"
BROWSER_UNAVAILABLE: Final = "browser-unavailable"

# email inquiries: the opt-in mystery-shopper probe (auditor.probes.inquiries)
HUMAN_REPLY: Final = "human-reply"
AUTO_ACK_ONLY: Final = "auto-ack-only"
BOUNCED: Final = "bounced"
NO_REPLY: Final = "no-reply"
UNANSWERED_INQUIRY: Final = "unanswered-inquiry"
ALREADY_ANSWERED: Final = "already-answered"
PENDING: Final = "pending"
SEND_FAILED: Final = "send-failed"
DSN_FAILED: Final = "dsn-failed"
NDR: Final = "ndr"
DSN_DELAYED: Final = "dsn-delayed"
DSN_INFO: Final = "dsn-info"
DELAY_NOTICE: Final = "delay-notice"
AUTO_SUBMITTED: Final = "auto-submitted"
X_AUTOREPLY: Final = "x-autoreply"
PRECEDENCE: Final = "precedence"
READ_RECEIPT: Final = "read-receipt"
AUTO_REPLY_SUBJECT: Final = "auto-reply-subject"
TICKET_ACK: Final = "ticket-ack"
NO_REPLY_SENDER: Final = "no-reply-sender"
NO_AUTOMATION_SIGNS: Final = "no-automation-signs"

# phone: SIP line probe (auditor.probes.sip), RFC 3398 readings of the network's answer
NUMBER_NOT_IN_SERVICE: Final = "number-not-in-service"
NUMBER_CHANGED: Final = "number-changed"
ADDRESS_INCOMPLETE: Final = "address-incomplete"
BUSY: Final = "busy"
RINGS: Final = "rings"
SESSION_PROGRESS: Final = "session-progress"
ANSWERED: Final = "answered"
NO_ANSWER: Final = "no-answer"
NETWORK: Final = "network"
SIP_TIMEOUT: Final = "sip-timeout"
SIP_UNEXPECTED: Final = "sip-unexpected"
SIP_AUTH_FAILED: Final = "sip-auth-failed"
SIP_TRANSPORT_ERROR: Final = "sip-transport-error"
SIP_PROXY_UNRESOLVED: Final = "sip-proxy-unresolved"
SIP_PROXY_REFUSED: Final = "sip-proxy-refused"
SIP_ERROR: Final = "sip-error"
NOT_AVAILABLE_24_7: Final = "not-available-24-7"
EMERGENCY_NUMBER: Final = "emergency-number"
SHORT_NUMBER: Final = "short-number"
OUTSIDE_WINDOW: Final = "outside-window"
UNKNOWN_TIMEZONE: Final = "unknown-timezone"
ALREADY_PROBED: Final = "already-probed"

# schedules (auditor.waves.scheduler)
WAVE_STILL_RUNNING: Final = "wave-still-running"
WAVE_DELAYED: Final = "wave-delayed"
WAVE_START_MISSED: Final = "wave-start-missed"

# alerts (auditor.alerts)
WEBHOOK_HTTP_ERROR: Final = "webhook-http-error"
WEBHOOK_UNREACHABLE: Final = "webhook-unreachable"
WEBHOOK_REDIRECT: Final = "webhook-redirect"
ALERT_SMTP_REFUSED: Final = "alert-smtp-refused"
ALERT_SMTP_UNREACHABLE: Final = "alert-smtp-unreachable"
DELIVERY_INTERRUPTED: Final = "delivery-interrupted"
SECRET_UNAVAILABLE: Final = "secret-unavailable"
SCORE_DROP: Final = "score-drop"
CLAIM_24_7_FAILED: Final = "claim-24-7-failed"


def _messages() -> Mapping[str, str]:
    table: Mapping[str, str] = load("reasons.toml")["reasons"]
    return table


def message(tag: str | None) -> str:
    """The human message for ``tag`` (empty when there is no tag or it is unknown)."""
    if not tag:
        return ""
    return _messages().get(tag, "")


def _constants() -> dict[str, str]:
    return {name: value for name, value in globals().items()
            if name.isupper() and not name.startswith("_") and isinstance(value, str)}


def _check() -> frozenset[str]:
    """Every constant names a tag with a message, and every tag of the file has a constant."""
    table = _messages()
    constants = _constants()
    unknown = sorted(f"{name} = {tag!r}" for name, tag in constants.items() if tag not in table)
    silent = sorted(tag for tag, text in table.items() if not isinstance(text, str) or not text.strip())
    unnamed = sorted(set(table) - set(constants.values()))
    misnamed = sorted(name for name, tag in constants.items() if name != tag.upper().replace("-", "_"))
    problems = [
        *(f"constant for no tag of reasons.toml: {c}" for c in unknown),
        *(f"tag without a message: {t}" for t in silent),
        *(f"tag of reasons.toml without a constant here: {t}" for t in unnamed),
        *(f"constant not named after its tag: {n}" for n in misnamed),
    ]
    if problems:
        raise ImportError("auditor.reasons does not match auditor/data/reasons.toml: " + "; ".join(problems))
    return frozenset(constants.values())


TAGS: Final[frozenset[str]] = _check()
