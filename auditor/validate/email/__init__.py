"""Email addresses: syntax, then DNS (RFC 5321 §5.1, RFC 7505), then an SMTP dialogue up to RCPT.

The package keeps each concern in its own module, syntax apart from deliverability:

* :mod:`.syntax` -- is it an address, and its normalized form (no I/O);
* :mod:`.routing` -- the mail route from an injected resolver: MX, null MX,
  implicit MX; a DNS timeout or SERVFAIL is ``unknown``, never ``inactive``;
* :mod:`.conversation` -- one SMTP session: banner, EHLO, STARTTLS when offered,
  then per recipient ``MAIL FROM`` / ``RCPT TO`` / ``RSET``, then ``QUIT``. **Never
  DATA**: nothing is ever sent, the recipient is only named;
* :mod:`.preflight` -- is outbound port 25 blocked on this network at all;
* :mod:`.batch` -- few, polite sessions: recipients grouped per mail host IP,
  next-MX fallback, the catch-all probe and one greylisting retry;
* :mod:`.verdicts` -- the checks and the verdict of each address (pure);
* :mod:`.validator` -- :class:`EmailValidator`, which runs them in that order.

**Honest unknowns.** Policy / blocklist refusals, 252, greylisting, timeouts and
accept-all domains are ``unknown``; only an explicit "no such mailbox" (or null MX,
NXDOMAIN, no mail host) is ``inactive``. Connect+banner together, and each command,
cost at most ``timeout``.
"""

from __future__ import annotations

from auditor.validate.email.config import EmailCheckConfig
from auditor.validate.email.evidence import MAX_TEXT, MAX_TRANSCRIPT
from auditor.validate.email.routing import MailHost, MailRoute, mail_hosts
from auditor.validate.email.validator import EmailValidator
from auditor.validate.smtp_reply import classify_reply

__all__ = [
    "MAX_TEXT",
    "MAX_TRANSCRIPT",
    "EmailCheckConfig",
    "EmailValidator",
    "MailHost",
    "MailRoute",
    "classify_reply",
    "mail_hosts",
]
