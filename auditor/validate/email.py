"""Email addresses: syntax, then DNS (RFC 5321 §5.1, RFC 7505), then an SMTP dialogue up to RCPT.

Why it is shaped like this:

* **Never DATA.** A session is banner, EHLO, STARTTLS when offered, then per
  recipient ``MAIL FROM`` / ``RCPT TO`` / ``RSET``, then ``QUIT``. Nothing is ever
  sent; the recipient is only named.
* **Few sessions.** Addresses are grouped by the IP of the mail host they route to
  (domains sharing a provider share it), and one session carries up to
  ``max_recipients_per_session`` recipients. A :class:`HostLimiter` keyed by IP
  caps parallel sessions and session starts per minute per host; different hosts
  run concurrently.
* **Honest unknowns.** Policy / blocklist refusals, 252, greylisting, timeouts and
  accept-all domains are ``unknown``; only an explicit "no such mailbox" (or null
  MX, NXDOMAIN, no mail host) is ``inactive``.
* **Greylisting** (4xx) is retried once, after ``greylist_retry_delay``, for the
  whole batch together (one sleep, no loops).
* **Catch-all**: after a domain's real recipients, a random local part of the same
  domain is tried on a separate session; if it is accepted too, acceptances at
  that domain prove nothing (``accept-all``). The result is cached per domain.
* **Preflight** (port 25 blocked?): the first sessions of the first batch go to
  up to :data:`PREFLIGHT_HOSTS` distinct mail hosts while every other host waits.
  If each of them fails to produce an SMTP greeting within ``timeout`` -- TCP
  connect timed out, or the connection opened but no banner came (filtering
  middleboxes and tarpits look alike from here) -- and at least two hosts were
  tried, port 25 is declared blocked: one warning, and every SMTP check of the run
  is ``unknown``/``port-25-blocked`` instead of thousands of timeouts. A refused
  connection, a 421 or any reply means the path is open. With a single distinct
  host the preflight cannot tell a blocked port from one silent server, so the
  host's own timeout is reported. No extra connection is ever made for it.
* **Timeouts**: connect+banner together, and each command, cost at most
  ``timeout``; connection failures, timeouts and 421 move on to the next MX (at
  most :data:`MAX_TARGETS` addresses per domain).
* TLS is opportunistic, as between MTAs: the certificate is not verified (the
  check is about the mailbox, not the server's PKI), the SNI is the MX host name.
  If STARTTLS breaks the connection the host is retried without TLS for the rest
  of the run and the evidence says so.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import ssl
import string
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiosmtplib
from aiosmtplib.errors import (
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPException,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)
from email_validator import EmailNotValidError, validate_email

from auditor.data import load as load_data
from auditor.models import Check, Verdict
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import NODATA, NXDOMAIN, OK, SERVFAIL, TIMEOUT, DnsAnswer
from auditor.validate.limits import HostLimiter
from auditor.validate.smtp_reply import (
    ACTIVE,
    INACTIVE,
    UNKNOWN,
    classify_reply,
    classify_sender_reply,
    enhanced_code,
    is_policy_text,
    is_too_many_recipients,
)

__all__ = [
    "EmailCheckConfig",
    "EmailValidator",
    "MailHost",
    "MailRoute",
    "classify_reply",
    "mail_hosts",
]

log = logging.getLogger(__name__)

MAX_MX_HOSTS = 5  # MX hosts whose addresses are looked up, by preference
MAX_TARGETS = 4  # (host, ip) pairs tried per address before giving up
PREFLIGHT_HOSTS = 3  # distinct mail hosts probed before the rest may start
MAX_TEXT = 400  # characters of a reply kept in evidence
MAX_TRANSCRIPT = 40  # transcript entries kept per check
MAX_OPEN_SESSIONS = 256  # all hosts together
RANDOM_LOCAL_LENGTH = 24
DNS_THREADS = 16

_warned: set[str] = set()


def _warn_once(key: str, message: str, *args: object) -> None:
    """Log a configuration warning once per process, not once per address."""
    if key not in _warned:
        _warned.add(key)
        log.warning(message, *args)


def _reasons() -> dict[str, str]:
    return load_data("reasons.toml")["reasons"]


def reason_message(tag: str) -> str:
    """The human message for a reason tag (empty if the tag is unknown)."""
    return _reasons().get(tag, "")


# --------------------------------------------------------------------------- config


@dataclass
class EmailCheckConfig:
    """How far and how politely to check (see the module docstring for each rule)."""

    smtp_port: int = 25
    helo: str = ""  # our FQDN with a matching PTR; never another company's domain
    mail_from: str = ""  # an address on our own domain
    timeout: float = 10.0
    greylist_retry_delay: float = 900.0
    per_mx_concurrency: int = 1
    per_mx_sessions_per_minute: float = 60.0
    max_recipients_per_session: int = 20
    catch_all_probe: bool = True
    preflight: bool = True
    allow_private: bool = False
    smtp: bool = True  # False -> syntax and DNS only


# ------------------------------------------------------------------------------ DNS


class _Resolves(Protocol):
    def query(self, name: str, rdtype: str) -> DnsAnswer: ...


@dataclass(frozen=True)
class MailHost:
    """One MX target with the addresses we may and may not contact."""

    name: str
    preference: int
    addresses: tuple[str, ...] = ()  # permitted by the address policy, A then AAAA
    refused: tuple[str, ...] = ()  # private/reserved, not contacted
    status: str = OK  # DNS outcome of the address lookup

    def evidence(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "preference": self.preference,
            "addresses": list(self.addresses),
            "refused": list(self.refused),
            "status": self.status,
        }


@dataclass(frozen=True)
class MailRoute:
    """Where mail for a domain goes, and the DNS verdict on the domain."""

    domain: str
    verdict: str  # active: a mail host can be contacted; inactive; unknown
    reason: str
    hosts: tuple[MailHost, ...] = ()
    implicit: bool = False
    answers: tuple[DnsAnswer, ...] = ()
    started_at: float = 0.0
    duration_ms: float = 0.0

    @property
    def targets(self) -> tuple[tuple[str, str], ...]:
        """(host name, ip) in the order to try them, each IP once."""
        seen: set[str] = set()
        out: list[tuple[str, str]] = []
        for host in self.hosts:
            for ip in host.addresses:
                if ip not in seen:
                    seen.add(ip)
                    out.append((host.name, ip))
        return tuple(out)

    def evidence(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "implicit_mx": self.implicit,
            "hosts": [h.evidence() for h in self.hosts],
            "answers": [a.evidence() for a in self.answers],
        }


_TEMPORARY = {SERVFAIL: "dns-servfail", TIMEOUT: "dns-timeout"}


def _temporary_reason(status: str) -> str:
    return _TEMPORARY.get(status, "dns-error")


def _host_addresses(
    resolver: _Resolves, name: str, policy: AddressPolicy, answers: list[DnsAnswer]
) -> tuple[list[str], list[str], str]:
    """(permitted, refused, status) for one host: A, then AAAA unless A said NXDOMAIN."""
    a = resolver.query(name, "A")
    answers.append(a)
    if a.status == NXDOMAIN:
        return [], [], NXDOMAIN
    aaaa = resolver.query(name, "AAAA")
    answers.append(aaaa)
    found = [r for ans in (a, aaaa) if ans.ok for r in ans.records]
    permitted = [ip for ip in found if policy.permits(ip)]
    refused = [ip for ip in found if not policy.permits(ip)]
    if found:
        return permitted, refused, OK
    if a.status == NODATA and aaaa.status in (NODATA, NXDOMAIN):
        return [], [], NODATA
    bad = a if a.status not in (OK, NODATA) else aaaa
    return [], [], bad.status


def _parse_mx(record: str) -> tuple[int, str] | None:
    parts = record.split()
    if len(parts) != 2:
        return None
    try:
        pref = int(parts[0])
    except ValueError:
        return None
    return pref, parts[1].lower().rstrip(".")


def mail_hosts(resolver: _Resolves, domain: str, policy: AddressPolicy) -> MailRoute:
    """The mail route of ``domain`` by RFC 5321 §5.1 and RFC 7505, from the resolver's answers.

    MX by preference (ties by name, for determinism); a lone ``0 .`` is a null MX;
    no MX at all (NODATA) means the domain itself is the implicit MX. Addresses the
    policy forbids are kept as evidence but never become targets.
    """
    start, t0 = time.time(), time.perf_counter()
    domain = domain.lower().rstrip(".")
    answers: list[DnsAnswer] = []

    def route(verdict: str, reason: str, hosts: Iterable[MailHost] = (), implicit: bool = False) -> MailRoute:
        return MailRoute(
            domain, verdict, reason, tuple(hosts), implicit, tuple(answers), start,
            (time.perf_counter() - t0) * 1000,
        )

    mx = resolver.query(domain, "MX")
    answers.append(mx)
    if mx.status == NXDOMAIN:
        return route(INACTIVE, "nxdomain")
    if mx.status not in (OK, NODATA):
        return route(UNKNOWN, _temporary_reason(mx.status))

    if mx.status == NODATA or not mx.records:
        permitted, refused, status = _host_addresses(resolver, domain, policy, answers)
        host = MailHost(domain, 0, tuple(permitted), tuple(refused), status)
        if permitted:
            return route(ACTIVE, "implicit-mx", [host], implicit=True)
        if refused:
            return route(UNKNOWN, "mx-private", [host], implicit=True)
        if status == NXDOMAIN:
            return route(INACTIVE, "nxdomain", implicit=True)
        if status == NODATA:
            return route(INACTIVE, "no-mail-host", implicit=True)
        return route(UNKNOWN, _temporary_reason(status), implicit=True)

    parsed = [p for p in (_parse_mx(r) for r in mx.records) if p is not None]
    real = sorted({(pref, name) for pref, name in parsed if name})
    if not real:
        # Only "." exchanges: RFC 7505 null MX (also when the preference is not 0).
        return route(INACTIVE, "null-mx") if parsed else route(UNKNOWN, "dns-error")

    hosts: list[MailHost] = []
    usable = 0
    for pref, name in real[:MAX_MX_HOSTS]:
        permitted, refused, status = _host_addresses(resolver, name, policy, answers)
        hosts.append(MailHost(name, pref, tuple(permitted), tuple(refused), status))
        usable += bool(permitted)
        if usable >= MAX_TARGETS:
            break
    if usable:
        return route(ACTIVE, "mx-found", hosts)
    temporary = [h.status for h in hosts if h.status not in (OK, NODATA, NXDOMAIN)]
    if temporary:
        return route(UNKNOWN, _temporary_reason(temporary[0]), hosts)
    if any(h.refused for h in hosts):
        return route(UNKNOWN, "mx-private", hosts)
    return route(INACTIVE, "no-mail-host", hosts)


# ----------------------------------------------------------------------------- SMTP

PENDING, DONE, NEXT_HOST, SPLIT = "pending", "done", "next-host", "split"


@dataclass
class _Outcome:
    """What one attempt at one recipient ended with."""

    verdict: str
    reason: str
    code: int | None = None
    text: str = ""
    host: str = ""
    ip: str = ""
    port: int = 0
    tls: dict[str, Any] | str | None = None
    transcript: list[dict[str, Any]] = field(default_factory=list)
    started_at: float = 0.0
    duration_ms: float = 0.0
    error: str = ""

    @property
    def accepted(self) -> bool:
        return self.code in (250, 251)

    def evidence(self) -> dict[str, Any]:
        # tls: None = not offered/used; a dict = used; a string = refused or failed (then plain).
        data: dict[str, Any] = {
            "mx": self.host,
            "ip": self.ip,
            "port": self.port,
            "tls": self.tls,
            "code": self.code,
            "enhanced": enhanced_code(self.text) if self.text else None,
            "text": _clean(self.text),
            "transcript": self.transcript[:MAX_TRANSCRIPT],
        }
        if self.error:
            data["error"] = _clean(self.error)
        return data


@dataclass(eq=False)
class _Probe:
    """One recipient to name in some session: a real address or a catch-all probe."""

    key: str
    rcpt: str
    domain: str
    route: MailRoute
    utf8: bool = False
    catch_all: bool = False
    target_index: int = 0
    state: str = PENDING
    outcome: _Outcome | None = None
    failures: list[_Outcome] = field(default_factory=list)  # earlier hosts
    earlier: list[_Outcome] = field(default_factory=list)  # earlier passes (greylisting)

    def retry(self) -> None:
        if self.outcome is not None:
            self.earlier.append(self.outcome)
        self.outcome = None
        self.failures = []
        self.state = PENDING
        self.target_index = 0


class _HostFailure(Exception):
    """The session with this host cannot go on: try the next MX."""

    def __init__(self, kind: str, message: str, code: int | None = None, text: str = "") -> None:
        super().__init__(message)
        self.kind = kind  # timeout | unreachable | deferred | rejected | error | tls
        self.code = code
        self.text = text
        self.conversation: _Conversation | None = None  # set when opening failed


def _clean(text: str) -> str:
    """Capped and valid UTF-8: servers send anything, and aiosmtplib keeps bad bytes as surrogates."""
    return text[:MAX_TEXT].encode("utf-8", "replace").decode("utf-8")


def _entry(send: str | None, code: int | None = None, text: str = "", error: str = "") -> dict[str, Any]:
    item: dict[str, Any] = {"send": _clean(send) if send is not None else None}
    if code is not None:
        item["code"] = code
        item["enhanced"] = enhanced_code(text)
        item["text"] = _clean(text)
    if error:
        item["error"] = _clean(error)
    return item


def _failure_reason(failure: _HostFailure) -> tuple[str, str]:
    """The verdict a host-level failure leaves when no other MX is left."""
    if failure.kind == "timeout":
        return UNKNOWN, "smtp-timeout"
    if failure.kind == "unreachable":
        return UNKNOWN, "smtp-unreachable"
    if failure.kind == "deferred":
        return UNKNOWN, "greylisted"
    if failure.kind == "rejected" and (
        is_policy_text(failure.text) or (enhanced_code(failure.text) or "").startswith("5.7.")
    ):
        return UNKNOWN, "blocked-by-policy"
    return UNKNOWN, "smtp-error"


class _Conversation:
    """One SMTP connection with its transcript; connection-level trouble raises _HostFailure."""

    def __init__(self, validator: EmailValidator, host: str, ip: str) -> None:
        self.v = validator
        self.host = host
        self.ip = ip
        self.port = validator.config.smtp_port
        self.timeout = validator.config.timeout
        self.transcript: list[dict[str, Any]] = []
        self.smtp: aiosmtplib.SMTP | None = None
        self.tls: dict[str, Any] | str | None = None
        self.reached = False  # anything but a timeout came back (the preflight's signal)
        self.smtputf8 = False

    async def open(self, try_tls: bool) -> None:
        smtp = aiosmtplib.SMTP(
            hostname=self.ip, port=self.port, local_hostname=self.v.helo, timeout=self.timeout,
            start_tls=False, validate_certs=False,
        )
        self.smtp = smtp
        try:
            banner = await asyncio.wait_for(smtp.connect(), self.timeout)
        except SMTPConnectResponseError as exc:
            self.reached = True
            self.transcript.append(_entry(None, exc.code, exc.message))
            kind = "deferred" if exc.code == 421 else "rejected"
            raise _HostFailure(kind, f"greeting {exc.code}", exc.code, exc.message) from None
        except (SMTPConnectTimeoutError, TimeoutError):
            self.transcript.append(_entry(None, error=f"no SMTP greeting within {self.timeout:g} s"))
            raise _HostFailure("timeout", f"no SMTP greeting within {self.timeout:g} s") from None
        except SMTPResponseException as exc:  # a malformed banner
            self.reached = True
            self.transcript.append(_entry(None, error=exc.message))
            raise _HostFailure("error", f"bad greeting: {exc.message}") from None
        except (SMTPException, OSError) as exc:
            cause = exc.__cause__
            kind = "error" if isinstance(cause, SMTPServerDisconnected) else "unreachable"
            self.reached = True  # refused or closed: the path to the port is open
            self.transcript.append(_entry(None, error=str(exc)))
            raise _HostFailure(kind, str(exc)) from None
        self.reached = True
        self.transcript.append(_entry(None, banner.code, banner.message))
        await self._hello()
        if try_tls and smtp.supports_extension("starttls"):
            await self._starttls()
        self.smtputf8 = smtp.supports_extension("smtputf8")

    async def _hello(self) -> None:
        smtp = self.smtp
        assert smtp is not None
        try:
            reply = await smtp.ehlo(hostname=self.v.helo)
            self.transcript.append(_entry(f"EHLO {self.v.helo}", reply.code, reply.message))
            return
        except SMTPResponseException as exc:
            self.transcript.append(_entry(f"EHLO {self.v.helo}", exc.code, exc.message))
            if exc.code == 421:
                raise _HostFailure("deferred", "421 to EHLO", exc.code, exc.message) from None
            if exc.code < 200 or not smtp.is_connected:
                raise _HostFailure("error", f"EHLO failed: {exc.message}"[:MAX_TEXT]) from None
        except Exception as exc:
            raise self._trouble(f"EHLO {self.v.helo}", exc) from None
        try:
            reply = await smtp.helo(hostname=self.v.helo)
            self.transcript.append(_entry(f"HELO {self.v.helo}", reply.code, reply.message))
        except SMTPResponseException as exc:
            self.transcript.append(_entry(f"HELO {self.v.helo}", exc.code, exc.message))
            kind = "deferred" if exc.code == 421 else "rejected"
            raise _HostFailure(kind, "HELO refused", exc.code, exc.message) from None
        except Exception as exc:
            raise self._trouble(f"HELO {self.v.helo}", exc) from None

    async def _starttls(self) -> None:
        smtp = self.smtp
        assert smtp is not None
        try:
            reply = await smtp.starttls(
                server_hostname=self.host, tls_context=self.v.tls_context, timeout=self.timeout
            )
        except SMTPResponseException as exc:
            # 454 and friends: the connection is still fine in plain text.
            self.transcript.append(_entry("STARTTLS", exc.code, exc.message))
            self.tls = f"refused: {exc.code} {exc.message}"[:MAX_TEXT]
            if not smtp.is_connected:
                raise _HostFailure("tls", self.tls) from None
            return
        except Exception as exc:  # handshake failure, reset, timeout: the socket is unusable
            self.transcript.append(_entry("STARTTLS", error=f"TLS handshake failed: {exc}"))
            raise _HostFailure("tls", f"TLS handshake failed: {type(exc).__name__}: {exc}") from None
        self.transcript.append(_entry("STARTTLS", reply.code, reply.message))
        ssl_object = smtp.get_transport_info("ssl_object")
        self.tls = {
            "version": ssl_object.version() if ssl_object else None,
            "cipher": ssl_object.cipher()[0] if ssl_object and ssl_object.cipher() else None,
            "certificate_verified": False,
        }
        await self._hello()

    def _trouble(self, send: str, exc: BaseException) -> _HostFailure:
        """Turn an exception during a command into a recorded host failure."""
        if isinstance(exc, SMTPTimeoutError | TimeoutError):
            self.transcript.append(_entry(send, error=f"no reply within {self.timeout:g} s"))
            return _HostFailure("timeout", f"no reply to {send.split()[0]} within {self.timeout:g} s")
        if isinstance(exc, SMTPServerDisconnected | ConnectionError):
            self.transcript.append(_entry(send, error="connection lost"))
            return _HostFailure("error", f"connection lost after {send.split()[0]}")
        message = getattr(exc, "message", None) or str(exc)
        self.transcript.append(_entry(send, error=f"{type(exc).__name__}: {message}"))
        return _HostFailure("error", f"{type(exc).__name__}: {message}")

    async def command(self, line: str, utf8: bool = False) -> tuple[int, str]:
        """Send one command; (code, text). Timeouts and drops raise _HostFailure."""
        smtp = self.smtp
        if smtp is None or not smtp.is_connected:
            self.transcript.append(_entry(line, error="connection lost"))
            raise _HostFailure("error", "connection lost")
        verb, _, rest = line.partition(" ")
        args = [verb.encode("ascii")]
        if rest:
            args.append(rest.encode("utf-8" if utf8 else "ascii"))
        try:
            reply = await smtp.execute_command(*args, timeout=self.timeout)
        except Exception as exc:
            raise self._trouble(line, exc) from None
        self.transcript.append(_entry(line, reply.code, reply.message))
        return reply.code, reply.message

    async def close(self) -> None:
        smtp = self.smtp
        if smtp is None:
            return
        if smtp.is_connected:
            try:
                reply = await smtp.execute_command(b"QUIT", timeout=min(self.timeout, 5.0))
                self.transcript.append(_entry("QUIT", reply.code, reply.message))
            except Exception:  # noqa: BLE001 - the verdicts are already made
                pass
        smtp.close()


class _Preflight:
    """Decides, from the first sessions, whether this machine can reach port 25 at all."""

    def __init__(self, ips: list[str]) -> None:
        self.ips = set(ips)
        self._waiting = set(ips)
        self.blocked = False
        self.event = asyncio.Event()
        if len(self.ips) < 2:  # one silent host is just one silent host
            self.event.set()

    def report(self, ip: str, greeted: bool) -> None:
        if self.event.is_set() or ip not in self._waiting:
            return
        if greeted:
            self.event.set()
            return
        self._waiting.discard(ip)
        if not self._waiting:
            self.blocked = True
            self.event.set()


@dataclass
class _CatchAll:
    probe: _Probe

    @property
    def accepted(self) -> bool | None:
        """True: random address accepted; False: rejected as unknown; None: could not tell."""
        outcome = self.probe.outcome
        if outcome is None:
            return None
        if outcome.accepted:
            return True
        if outcome.verdict == INACTIVE:
            return False
        return None


@dataclass
class _Address:
    raw: str
    key: str
    valid: bool
    syntax: Check
    ascii_address: str = ""
    utf8: bool = False
    domain: str = ""


def _now() -> tuple[float, float]:
    return time.time(), time.perf_counter()


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def _default_helo() -> str:
    try:
        name = socket.getfqdn()
    except OSError:
        name = ""
    return name if name and " " not in name else "localhost"


class EmailValidator:
    """Validates email addresses; reuse one instance per run so its caches and limits hold."""

    def __init__(self, resolver: _Resolves, config: EmailCheckConfig) -> None:
        self.resolver = resolver
        self.config = config
        self.policy = AddressPolicy(config.allow_private)
        self.helo = config.helo.strip()
        if config.smtp and not self.helo:
            self.helo = _default_helo()
            _warn_once(
                "helo",
                "no SMTP HELO name configured; using this machine's name %r. Set it to a name "
                "of your own with a matching PTR record, or mail servers may refuse the checks.",
                self.helo,
            )
        self.mail_from = config.mail_from.strip()
        if config.smtp and not self.mail_from:
            self.mail_from = f"postmaster@{self.helo or 'localhost'}"
            _warn_once(
                "mail_from",
                "no SMTP MAIL FROM configured; using %r. Set an address on your own domain.",
                self.mail_from,
            )
        self.limiter = HostLimiter(
            config.per_mx_concurrency, config.per_mx_sessions_per_minute, MAX_OPEN_SESSIONS
        )
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.tls_context = ctx
        self._routes: dict[str, MailRoute] = {}
        self._catch_all: dict[str, _CatchAll] = {}
        self._random_local: dict[str, str] = {}
        self._dead: dict[str, str] = {}  # ip -> why (timeouts, refusals) for this run
        self._rcpt_cap: dict[str, int] = {}  # ip -> recipients per session it tolerates
        self._no_tls: set[str] = set()
        self._preflight_done = False
        self.port_blocked = False
        self.sessions = 0

    # ------------------------------------------------------------------ public

    async def validate(self, address: str) -> Verdict:
        """One address; see :meth:`validate_many` (prefer it: it batches)."""
        results = await self.validate_many([address])
        return next(iter(results.values()))

    async def validate_many(self, addresses: Iterable[str]) -> dict[str, Verdict]:
        """Verdicts keyed by normalized address (invalid ones by the stripped input). Never raises."""
        items: dict[str, _Address] = {}
        for raw in addresses:
            item = self._syntax(raw)
            items.setdefault(item.key, item)
        try:
            return await self._validate(items)
        except Exception as exc:  # noqa: BLE001 - a bug must not take the run down
            log.exception("email validation failed unexpectedly")
            return {
                key: Verdict(
                    "email", key, UNKNOWN, "validator-error", f"{reason_message('validator-error')} ({exc})",
                    (item.syntax,),
                )
                for key, item in items.items()
            }

    # ---------------------------------------------------------------- pipeline

    def _syntax(self, raw: str) -> _Address:
        text = str(raw).strip()
        start, t0 = _now()
        try:
            result = validate_email(text, check_deliverability=False)
        except EmailNotValidError as exc:
            check = Check(
                "email-syntax", INACTIVE, "invalid-syntax", reason_message("invalid-syntax"),
                {"input": text[:MAX_TEXT], "error": str(exc)}, start, _ms(t0),
            )
            return _Address(text, text, False, check)
        key = result.normalized
        check = Check(
            "email-syntax", ACTIVE, "valid-syntax", reason_message("valid-syntax"),
            {"input": text[:MAX_TEXT], "normalized": key}, start, _ms(t0),
        )
        ascii_address = result.ascii_email or f"{result.local_part}@{result.ascii_domain}"
        return _Address(
            text, key, True, check, ascii_address, result.ascii_email is None,
            result.ascii_domain.lower(),
        )

    async def _routes_for(self, domains: Iterable[str]) -> None:
        todo = [d for d in dict.fromkeys(domains) if d not in self._routes]
        if not todo:
            return
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=min(DNS_THREADS, len(todo)), thread_name_prefix="mx") as pool:
            routes = await asyncio.gather(
                *(loop.run_in_executor(pool, mail_hosts, self.resolver, d, self.policy) for d in todo)
            )
        for domain, route in zip(todo, routes, strict=True):
            self._routes[domain] = route

    async def _validate(self, items: dict[str, _Address]) -> dict[str, Verdict]:
        valid = [i for i in items.values() if i.valid]
        await self._routes_for(i.domain for i in valid)
        real: dict[str, _Probe] = {}
        if self.config.smtp:
            for item in valid:
                route = self._routes[item.domain]
                if route.verdict == ACTIVE:
                    real[item.key] = _Probe(item.key, item.ascii_address if not item.utf8 else item.key,
                                            item.domain, route, item.utf8)
        if real:
            await self._smtp(list(real.values()))
        return {key: self._verdict(item, real.get(key)) for key, item in items.items()}

    async def _smtp(self, real: list[_Probe]) -> None:
        """Real recipients, catch-all probes, then one greylisting retry for both."""
        preflight = self.config.preflight and not self._preflight_done
        await self._run(real, preflight)
        catch = self._catch_all_probes(real)
        await self._run(catch, False)
        retry = [p for p in real + catch if p.outcome is not None and p.outcome.reason == "greylisted"]
        if retry and not self.port_blocked:
            delay = max(0.0, self.config.greylist_retry_delay)
            log.info("%d recipient(s) greylisted; re-probing once in %g s", len(retry), delay)
            await asyncio.sleep(delay)
            for probe in retry:
                probe.retry()
            # Real recipients first, catch-all probes on sessions of their own, as before.
            await self._run([p for p in retry if not p.catch_all], False)
            await self._run([p for p in retry if p.catch_all] + self._catch_all_probes(real), False)

    def _catch_all_probes(self, real: list[_Probe]) -> list[_Probe]:
        """One random-address probe per domain that accepted (or deferred) a real recipient."""
        if not self.config.catch_all_probe:
            return []
        probes: list[_Probe] = []
        for p in real:
            outcome = p.outcome
            if outcome is None or p.domain in self._catch_all:
                continue
            # Deferred at RCPT (not a 421 at connect): the probe's first try starts its greylist clock.
            if outcome.accepted or (outcome.reason == "greylisted" and not outcome.error):
                local = self._random_local.setdefault(
                    p.domain,
                    "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(RANDOM_LOCAL_LENGTH)),
                )
                probe = _Probe(f"{local}@{p.domain}", f"{local}@{p.domain}", p.domain, p.route, catch_all=True)
                self._catch_all[p.domain] = _CatchAll(probe)
                probes.append(probe)
        return probes

    # ------------------------------------------------------------- scheduling

    def _target(self, probe: _Probe) -> tuple[str, str] | None:
        targets = probe.route.targets
        while probe.target_index < min(len(targets), MAX_TARGETS):
            host, ip = targets[probe.target_index]
            if ip not in self._dead:
                return host, ip
            probe.target_index += 1
        return None

    def _give_up(self, probe: _Probe) -> None:
        probe.state = DONE
        if probe.failures:
            probe.outcome = probe.failures[-1]
        else:
            probe.outcome = _Outcome(UNKNOWN, "smtp-unreachable", error="no mail host left to try")

    def _blocked(self, probes: Iterable[_Probe]) -> None:
        for probe in probes:
            probe.state = DONE
            probe.outcome = _Outcome(
                UNKNOWN, "port-25-blocked", port=self.config.smtp_port,
                error=f"no SMTP greeting from any of the first mail hosts on port {self.config.smtp_port}",
            )

    async def _run(self, probes: list[_Probe], preflight: bool) -> None:
        """Run probes to a final outcome: group by target IP, fall back MX by MX."""
        if not probes:
            return
        if self.port_blocked:
            self._blocked(probes)
            return
        pending = probes
        first = True
        while pending:
            groups: dict[str, list[_Probe]] = {}
            names: dict[str, str] = {}
            for probe in pending:
                target = self._target(probe)
                if target is None:
                    self._give_up(probe)
                    continue
                host, ip = target
                groups.setdefault(ip, []).append(probe)
                names.setdefault(ip, host)
            gate = _Preflight(list(groups)[:PREFLIGHT_HOSTS]) if first and preflight else None
            await asyncio.gather(*(self._drain(ip, names[ip], group, gate) for ip, group in groups.items()))
            if gate is not None:
                self._preflight_done = len(gate.ips) >= 2
                if gate.blocked:
                    self.port_blocked = True
                    log.warning(
                        "no mail host answered on port %d within %g s (%d tried): outbound port %d "
                        "looks blocked on this network; SMTP checks are reported as port-25-blocked",
                        self.config.smtp_port, self.config.timeout, len(gate.ips), self.config.smtp_port,
                    )
                    self._blocked(probes)
                    return
            pending = [p for g in groups.values() for p in g if p.state == NEXT_HOST]
            first = False

    async def _drain(self, ip: str, host: str, probes: list[_Probe], gate: _Preflight | None) -> None:
        """All sessions one host needs for these probes, at most per_mx_concurrency at a time."""
        if gate is not None and ip not in gate.ips:
            await gate.event.wait()
            if gate.blocked:
                return
        queue = list(probes)
        failed: list[bool] = [False]

        async def worker() -> None:
            while queue and not failed[0]:
                cap = max(1, min(self.config.max_recipients_per_session, self._rcpt_cap.get(ip, 1 << 30)))
                chunk, queue[:] = queue[:cap], queue[cap:]
                ok = await self._session(ip, host, chunk, gate)
                queue[:0] = [p for p in chunk if p.state == SPLIT]
                if not ok:
                    failed[0] = True

        workers = max(1, min(self.config.per_mx_concurrency, len(queue)))
        await asyncio.gather(*(worker() for _ in range(workers)))
        if failed[0]:
            for probe in queue:
                probe.state = NEXT_HOST
                probe.target_index += 1

    async def _open(self, host: str, ip: str, gate: _Preflight | None) -> _Conversation:
        """Connect, greet, STARTTLS when offered; if TLS breaks the socket, redo it in plain text."""
        conv = _Conversation(self, host, ip)
        try:
            try:
                await conv.open(try_tls=ip not in self._no_tls)
            except _HostFailure as exc:
                if exc.kind != "tls":
                    raise
                self._no_tls.add(ip)
                if conv.smtp is not None:
                    conv.smtp.close()
                earlier = conv.transcript
                conv = _Conversation(self, host, ip)
                conv.transcript = [*earlier, _entry(None, error="reconnecting without TLS")]
                conv.tls = f"failed, retried without TLS: {exc}"[:MAX_TEXT]
                await conv.open(try_tls=False)
        except _HostFailure as exc:
            exc.conversation = conv
            raise
        finally:
            if gate is not None and ip in gate.ips:
                gate.report(ip, conv.reached)
        return conv

    async def _session(self, ip: str, host: str, probes: list[_Probe], gate: _Preflight | None) -> bool:
        """One SMTP session naming each probe's recipient in turn; False if the host failed."""
        for probe in probes:
            probe.state = PENDING
        async with self.limiter.slot(ip):
            self.sessions += 1
            started, t0 = _now()
            conv: _Conversation | None = None
            try:
                conv = await self._open(host, ip, gate)
                await self._transactions(conv, probes, started, t0)
                await conv.close()
                return True
            except Exception as exc:  # noqa: BLE001 - every failure becomes evidence
                failure = exc if isinstance(exc, _HostFailure) else _HostFailure(
                    "error", f"{type(exc).__name__}: {exc}"[:MAX_TEXT]
                )
                if not isinstance(exc, _HostFailure):
                    log.debug("SMTP session with %s failed", ip, exc_info=True)
                if failure.kind in ("timeout", "unreachable", "error", "rejected"):
                    self._dead[ip] = str(failure)
                if conv is None and isinstance(exc, _HostFailure):
                    conv = exc.conversation  # it failed while opening
                transcript = list(conv.transcript) if conv else []
                tls = conv.tls if conv else None
                if conv is not None:
                    await conv.close()
                verdict, reason = _failure_reason(failure)
                for probe in probes:
                    if probe.state != PENDING:
                        continue
                    probe.failures.append(_Outcome(
                        verdict, reason, failure.code, failure.text, host, ip, self.config.smtp_port,
                        tls, transcript, started, _ms(t0), str(failure),
                    ))
                    probe.state = NEXT_HOST
                    probe.target_index += 1
                return False

    async def _transactions(self, conv: _Conversation, probes: list[_Probe], started: float, t0: float) -> None:
        """MAIL FROM / RCPT TO / RSET per recipient; sets each probe's state and outcome."""
        preamble = len(conv.transcript)
        for index, probe in enumerate(probes):
            mark = len(conv.transcript)

            def outcome(verdict: str, reason: str, code: int | None = None, text: str = "",
                        _mark: int = mark) -> _Outcome:
                return _Outcome(
                    verdict, reason, code, text, conv.host, conv.ip, conv.port, conv.tls,
                    conv.transcript[:preamble] + conv.transcript[_mark:], started, _ms(t0),
                )

            if probe.utf8 and not conv.smtputf8:
                probe.outcome, probe.state = outcome(UNKNOWN, "smtputf8-unsupported"), DONE
                continue
            smtputf8 = " SMTPUTF8" if probe.utf8 else ""
            code, text = await conv.command(f"MAIL FROM:<{self.mail_from}>{smtputf8}")
            if code == 421:
                raise _HostFailure("deferred", "421 to MAIL FROM", code, text)
            if code != 250:
                # About us, not the recipients: the same answer for everyone in this session.
                verdict, reason = classify_sender_reply(code, text)
                for rest in probes[index:]:
                    rest.outcome, rest.state = outcome(verdict, reason, code, text), DONE
                return
            code, text = await conv.command(f"RCPT TO:<{probe.rcpt}>", utf8=probe.utf8)
            if code == 421:
                raise _HostFailure("deferred", "421 to RCPT TO", code, text)
            if index > 0 and is_too_many_recipients(code, text):
                # Not a verdict: the rest go to a new session, and later sessions stay this small.
                self._rcpt_cap[conv.ip] = index
                for rest in probes[index:]:
                    rest.state = SPLIT
                await conv.command("RSET")
                return
            verdict, reason = classify_reply(code, text)
            probe.outcome, probe.state = outcome(verdict, reason, code, text), DONE
            if index + 1 < len(probes):
                await conv.command("RSET")

    # --------------------------------------------------------------- verdicts

    def _verdict(self, item: _Address, probe: _Probe | None) -> Verdict:
        checks = [item.syntax]
        if not item.valid:
            return Verdict("email", item.key, INACTIVE, "invalid-syntax", reason_message("invalid-syntax"), tuple(checks))
        route = self._routes[item.domain]
        checks.append(Check(
            "email-dns", route.verdict, route.reason, reason_message(route.reason), route.evidence(),
            route.started_at, round(route.duration_ms, 2),
        ))
        flags: list[str] = ["implicit-mx"] if route.implicit else []
        if route.verdict != ACTIVE:
            return Verdict("email", item.key, route.verdict, route.reason, reason_message(route.reason), tuple(checks), tuple(flags))
        if probe is None or probe.outcome is None:
            # DNS only: the domain takes mail; the mailbox itself was not asked about.
            return Verdict("email", item.key, UNKNOWN, route.reason, reason_message(route.reason), tuple(checks), tuple(flags))
        outcome = probe.outcome
        evidence = outcome.evidence()
        if probe.failures:
            evidence["failed_hosts"] = [f.evidence() for f in probe.failures if f is not outcome]
        if probe.earlier:
            evidence["earlier_attempts"] = [e.evidence() for e in probe.earlier]
        checks.append(Check(
            "smtp-rcpt", outcome.verdict, outcome.reason, reason_message(outcome.reason), evidence,
            outcome.started_at, outcome.duration_ms,
        ))
        if any(o.reason == "greylisted" for o in [*probe.earlier, outcome]):
            flags.append("greylisted")
        verdict, reason = outcome.verdict, outcome.reason
        catch = self._catch_all.get(item.domain)
        if catch is not None and (outcome.accepted or any(e.reason == "greylisted" for e in probe.earlier)):
            checks.append(self._catch_all_check(catch))
            if outcome.accepted and catch.accepted:
                verdict, reason = UNKNOWN, "accept-all"
                flags.append("accept-all")
        return Verdict("email", item.key, verdict, reason, reason_message(reason), tuple(checks), tuple(flags))

    @staticmethod
    def _catch_all_check(catch: _CatchAll) -> Check:
        probe = catch.probe
        outcome = probe.outcome or _Outcome(UNKNOWN, "smtp-error")
        accepted = catch.accepted
        if accepted is True:
            verdict, reason = UNKNOWN, "accept-all"
        elif accepted is False:
            verdict, reason = ACTIVE, "not-accept-all"
        else:
            verdict, reason = UNKNOWN, outcome.reason
        evidence = {"probe": probe.rcpt, "accepted": accepted, **outcome.evidence()}
        if probe.earlier:
            evidence["earlier_attempts"] = [e.evidence() for e in probe.earlier]
        return Check("catch-all", verdict, reason, reason_message(reason), evidence, outcome.started_at, outcome.duration_ms)
