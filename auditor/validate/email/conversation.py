"""The SMTP conversation with one mail host: greeting, EHLO, STARTTLS, commands, QUIT.

Never DATA: a session only names recipients. Every line sent and every reply is kept
in a transcript; trouble at the connection level raises :class:`HostFailure`, which
sends the remaining recipients to the next MX. TLS is opportunistic, as between
MTAs: the certificate is not verified (the check is about the mailbox, not the
server's PKI) and the SNI is the MX host name. The SMTP client class is injected
through :class:`Dialer`, so tests may hand in their own.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib
from aiosmtplib.errors import (
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPException,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from auditor import reasons
from auditor.config import default
from auditor.models import UNKNOWN, VerdictValue
from auditor.validate.email.evidence import MAX_TEXT, entry
from auditor.validate.smtp_reply import enhanced_code, is_policy_text

SmtpClientFactory = Callable[..., aiosmtplib.SMTP]


def opportunistic_tls() -> ssl.SSLContext:
    """A client context that encrypts without verifying, as MTAs do between themselves."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@dataclass(frozen=True)
class Dialer:
    """How sessions are opened: our HELO name, the port, the timeout, TLS, the client class."""

    helo: str
    port: int = default("smtp_port")
    timeout: float = default("smtp_timeout")
    tls_context: ssl.SSLContext = field(default_factory=opportunistic_tls)
    client: SmtpClientFactory = aiosmtplib.SMTP


class HostFailure(Exception):
    """The session with this host cannot go on: try the next MX."""

    def __init__(self, kind: str, message: str, code: int | None = None, text: str = "") -> None:
        super().__init__(message)
        self.kind = kind  # timeout | unreachable | deferred | rejected | error | tls
        self.code = code
        self.text = text
        self.conversation: Conversation | None = None  # set when opening failed


def failure_reason(failure: HostFailure) -> tuple[VerdictValue, str]:
    """The verdict a host-level failure leaves when no other MX is left (always unknown)."""
    if failure.kind == "timeout":
        return UNKNOWN, reasons.SMTP_TIMEOUT
    if failure.kind == "unreachable":
        return UNKNOWN, reasons.SMTP_UNREACHABLE
    if failure.kind == "deferred":
        return UNKNOWN, reasons.GREYLISTED
    if failure.kind == "rejected" and (
        is_policy_text(failure.text) or (enhanced_code(failure.text) or "").startswith("5.7.")
    ):
        return UNKNOWN, reasons.BLOCKED_BY_POLICY
    return UNKNOWN, reasons.SMTP_ERROR


class Conversation:
    """One SMTP connection with its transcript; connection-level trouble raises HostFailure."""

    def __init__(self, dialer: Dialer, host: str, ip: str) -> None:
        self.dialer = dialer
        self.helo = dialer.helo
        self.host = host
        self.ip = ip
        self.port = dialer.port
        self.timeout = dialer.timeout
        self.transcript: list[dict[str, Any]] = []
        self.smtp: aiosmtplib.SMTP | None = None
        self.tls: dict[str, Any] | str | None = None
        self.reached = False  # anything but a timeout came back (the preflight's signal)
        self.smtputf8 = False

    async def open(self, try_tls: bool) -> None:
        smtp = self.dialer.client(
            hostname=self.ip, port=self.port, local_hostname=self.helo, timeout=self.timeout,
            start_tls=False, validate_certs=False,
        )
        self.smtp = smtp
        try:
            banner = await asyncio.wait_for(smtp.connect(), self.timeout)
        except SMTPConnectResponseError as exc:
            self.reached = True
            self.transcript.append(entry(None, exc.code, exc.message))
            kind = "deferred" if exc.code == 421 else "rejected"
            raise HostFailure(kind, f"greeting {exc.code}", exc.code, exc.message) from None
        except (SMTPConnectTimeoutError, TimeoutError):
            self.transcript.append(entry(None, error=f"no SMTP greeting within {self.timeout:g} s"))
            raise HostFailure("timeout", f"no SMTP greeting within {self.timeout:g} s") from None
        except SMTPResponseException as exc:  # a malformed banner
            self.reached = True
            self.transcript.append(entry(None, error=exc.message))
            raise HostFailure("error", f"bad greeting: {exc.message}") from None
        except (SMTPException, OSError) as exc:
            cause = exc.__cause__
            kind = "error" if isinstance(cause, SMTPServerDisconnected) else "unreachable"
            self.reached = True  # refused or closed: the path to the port is open
            self.transcript.append(entry(None, error=str(exc)))
            raise HostFailure(kind, str(exc)) from None
        self.reached = True
        self.transcript.append(entry(None, banner.code, banner.message))
        await self._hello()
        if try_tls and smtp.supports_extension("starttls"):
            await self._starttls()
        self.smtputf8 = smtp.supports_extension("smtputf8")

    async def _hello(self) -> None:
        smtp = self.smtp
        assert smtp is not None
        try:
            reply = await smtp.ehlo(hostname=self.helo)
            self.transcript.append(entry(f"EHLO {self.helo}", reply.code, reply.message))
            return
        except SMTPResponseException as exc:
            self.transcript.append(entry(f"EHLO {self.helo}", exc.code, exc.message))
            if exc.code == 421:
                raise HostFailure("deferred", "421 to EHLO", exc.code, exc.message) from None
            if exc.code < 200 or not smtp.is_connected:
                raise HostFailure("error", f"EHLO failed: {exc.message}"[:MAX_TEXT]) from None
        except Exception as exc:
            raise self._trouble(f"EHLO {self.helo}", exc) from None
        try:
            reply = await smtp.helo(hostname=self.helo)
            self.transcript.append(entry(f"HELO {self.helo}", reply.code, reply.message))
        except SMTPResponseException as exc:
            self.transcript.append(entry(f"HELO {self.helo}", exc.code, exc.message))
            kind = "deferred" if exc.code == 421 else "rejected"
            raise HostFailure(kind, "HELO refused", exc.code, exc.message) from None
        except Exception as exc:
            raise self._trouble(f"HELO {self.helo}", exc) from None

    async def _starttls(self) -> None:
        smtp = self.smtp
        assert smtp is not None
        try:
            reply = await smtp.starttls(
                server_hostname=self.host, tls_context=self.dialer.tls_context, timeout=self.timeout
            )
        except SMTPResponseException as exc:
            # 454 and friends: the connection is still fine in plain text.
            self.transcript.append(entry("STARTTLS", exc.code, exc.message))
            self.tls = f"refused: {exc.code} {exc.message}"[:MAX_TEXT]
            if not smtp.is_connected:
                raise HostFailure("tls", self.tls) from None
            return
        except Exception as exc:  # handshake failure, reset, timeout: the socket is unusable
            self.transcript.append(entry("STARTTLS", error=f"TLS handshake failed: {exc}"))
            raise HostFailure("tls", f"TLS handshake failed: {type(exc).__name__}: {exc}") from None
        self.transcript.append(entry("STARTTLS", reply.code, reply.message))
        ssl_object = smtp.get_transport_info("ssl_object")
        self.tls = {
            "version": ssl_object.version() if ssl_object else None,
            "cipher": ssl_object.cipher()[0] if ssl_object and ssl_object.cipher() else None,
            "certificate_verified": False,
        }
        await self._hello()

    def _trouble(self, send: str, exc: BaseException) -> HostFailure:
        """Turn an exception during a command into a recorded host failure."""
        if isinstance(exc, SMTPTimeoutError | TimeoutError):
            self.transcript.append(entry(send, error=f"no reply within {self.timeout:g} s"))
            return HostFailure("timeout", f"no reply to {send.split()[0]} within {self.timeout:g} s")
        if isinstance(exc, SMTPServerDisconnected | ConnectionError):
            self.transcript.append(entry(send, error="connection lost"))
            return HostFailure("error", f"connection lost after {send.split()[0]}")
        message = getattr(exc, "message", None) or str(exc)
        self.transcript.append(entry(send, error=f"{type(exc).__name__}: {message}"))
        return HostFailure("error", f"{type(exc).__name__}: {message}")

    async def command(self, line: str, utf8: bool = False) -> tuple[int, str]:
        """Send one command; (code, text). Timeouts and drops raise HostFailure."""
        smtp = self.smtp
        if smtp is None or not smtp.is_connected:
            self.transcript.append(entry(line, error="connection lost"))
            raise HostFailure("error", "connection lost")
        verb, _, rest = line.partition(" ")
        args = [verb.encode("ascii")]
        if rest:
            args.append(rest.encode("utf-8" if utf8 else "ascii"))
        try:
            reply = await smtp.execute_command(*args, timeout=self.timeout)
        except Exception as exc:
            raise self._trouble(line, exc) from None
        self.transcript.append(entry(line, reply.code, reply.message))
        return reply.code, reply.message

    async def close(self) -> None:
        smtp = self.smtp
        if smtp is None:
            return
        if smtp.is_connected:
            try:
                reply = await smtp.execute_command(b"QUIT", timeout=min(self.timeout, 5.0))
                self.transcript.append(entry("QUIT", reply.code, reply.message))
            except Exception:  # noqa: BLE001 - the verdicts are already made
                pass
        smtp.close()
