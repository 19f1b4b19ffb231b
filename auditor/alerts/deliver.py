"""Deliver one alert payload to one destination: a webhook (JSON POST) or a mailbox (SMTP submission).

Every failure becomes a :class:`DeliveryError` with a stable tag and a message
that names the destination, never a secret: the webhook's URL may itself be a
secret (``webhook:env:NAME``), so messages use the destination's name, and any
secret value that still reaches a message is replaced before it leaves here.
Webhook connections obey the address policy (no private or loopback address
unless allowed), resolve through the run's resolver and never follow redirects.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import socket
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiohttp
from yarl import URL

from auditor import __version__, reasons
from auditor.alerts.config import Destination, NotifyConfig, SecretError
from auditor.net.guard import AddressPolicy, is_ip_literal
from auditor.net.resolver import DnsResolver
from auditor.validate.http import GuardedResolveError, GuardedResolver


class DeliveryError(Exception):
    """A delivery that did not happen: ``tag`` (reasons.toml) and a secret-free message."""

    def __init__(self, tag: str, message: str) -> None:
        super().__init__(message)
        self.tag, self.message = tag, message


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)[:200]


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value replaced (defence in depth: messages are built without them)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


async def _post(url: str, body: bytes, headers: dict[str, str], timeout: float, policy: AddressPolicy,
                nameserver: str | None) -> int:
    host = URL(url).host or ""
    if is_ip_literal(host) and not policy.permits(host):
        raise DeliveryError(reasons.PRIVATE_ADDRESS_REFUSED, "the webhook's address is private or reserved")
    resolver = GuardedResolver(DnsResolver(nameserver), policy)
    connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, ssl=ssl.create_default_context())
    async with aiohttp.ClientSession(connector=connector, trust_env=False,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.post(url, data=body, headers=headers, allow_redirects=False) as resp:
            await resp.read()
            return resp.status


def post_webhook(dest: Destination, body: dict[str, Any], config: NotifyConfig, idempotency_key: str,
                 nameserver: str | None = None) -> int:
    """POST the payload as JSON; the HTTP status (2xx) or a DeliveryError."""
    secrets: list[str | None] = []
    try:
        url = dest.url()
        secrets.append(url if dest.target.startswith("env:") else None)
        token = config.token.read(f"{dest.name} token")
        secrets.append(token)
    except SecretError as exc:
        raise DeliveryError(reasons.SECRET_UNAVAILABLE, str(exc)) from None
    headers = {"Content-Type": "application/json", "User-Agent": f"contact-auditor/{__version__}",
               "Idempotency-Key": idempotency_key}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    policy = AddressPolicy(config.allow_private)
    try:
        status = asyncio.run(_post(url, data, headers, config.timeout, policy, nameserver))
    except DeliveryError:
        raise
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
        cause = getattr(exc, "os_error", None) or exc.__cause__ or exc
        tag = getattr(cause, "tag", None)
        if isinstance(cause, GuardedResolveError) and tag:
            raise DeliveryError(tag, scrub(f"{dest.name}: {cause.message}", secrets)) from None
        raise DeliveryError(reasons.WEBHOOK_UNREACHABLE,
                            scrub(f"{dest.name}: {type(exc).__name__}", secrets)) from None
    if 300 <= status < 400:
        raise DeliveryError(reasons.WEBHOOK_REDIRECT, f"{dest.name}: answered {status} (redirects are not followed)")
    if not 200 <= status < 300:
        raise DeliveryError(reasons.WEBHOOK_HTTP_ERROR, f"{dest.name}: answered HTTP {status}")
    return status


def send_email(dest: Destination, body: dict[str, Any], text: str, subject: str, config: NotifyConfig,
               idempotency_key: str) -> str:
    """Submit the alert as a plain-text email; the server's final answer or a DeliveryError."""
    sub = config.submission
    assert sub is not None and config.email_from
    try:
        password = sub.password()
    except Exception as exc:  # noqa: BLE001 - the inquiries config's ConfigError: a missing secret
        raise DeliveryError(reasons.SECRET_UNAVAILABLE, str(exc)) from None
    msg = EmailMessage()
    msg["From"] = config.email_from
    msg["To"] = dest.target
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(idstring=idempotency_key.replace(":", "."), domain=config.email_from.split("@")[-1])
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to alerts
    msg.set_content(text)
    msg.add_attachment(json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"),
                       maintype="application", subtype="json", filename="alerts.json")
    local = sub.helo or socket.getfqdn()
    try:
        context = ssl.create_default_context(cafile=sub.ca_file)
        smtp = (smtplib.SMTP_SSL(sub.host, sub.port, local_hostname=local, timeout=sub.timeout, context=context)
                if sub.security == "tls" else smtplib.SMTP(sub.host, sub.port, local_hostname=local,
                                                            timeout=sub.timeout))
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(reasons.ALERT_SMTP_UNREACHABLE, f"{dest.name}: cannot reach {sub.describe()}: "
                            f"{type(exc).__name__}") from None
    try:
        smtp.ehlo()
        if sub.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if sub.user:
            smtp.login(sub.user, password or "")
        refused = smtp.send_message(msg, from_addr=config.email_from, to_addrs=[dest.target])
        if refused:
            raise DeliveryError(reasons.ALERT_SMTP_REFUSED, f"{dest.name}: recipient refused")
        return "accepted"
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(reasons.ALERT_SMTP_REFUSED, scrub(
            f"{dest.name}: login as {sub.user} refused ({exc.smtp_code})", [password])) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(reasons.ALERT_SMTP_REFUSED, scrub(
            f"{dest.name}: {exc.smtp_code} {_text(exc.smtp_error)}", [password])) from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError(reasons.ALERT_SMTP_REFUSED, f"{dest.name}: recipient refused") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(reasons.ALERT_SMTP_UNREACHABLE, f"{dest.name}: {type(exc).__name__}") from None
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
