"""The lab's mail servers: one SMTP listener per loopback address, each with a behaviour.

Every lab MX host is its own loopback address (127.0.0.2, 127.0.1.7, ... all bind
on Linux without setup) on one shared port, so DNS can point MX names at distinct
"hosts" and the validator's per-host limits are exercised for real. Well-behaved
hosts run aiosmtpd with a handler; misbehaving ones (tarpit, drop, 421, silent,
broken STARTTLS, garbage) are a raw asyncio server, because aiosmtpd is too
correct to misbehave. Nothing is ever delivered: DATA is counted and refused.

Counters (read them after the validator is done): sessions, RCPTs and the most
concurrent sessions per IP, and every command verb per IP -- the politeness
assertions and the benchmark read these.

Behaviours::

    mailboxes      accepts the listed local parts (or full addresses), 550 5.1.1 for others
    accept-all     accepts every recipient
    greylist       450 4.2.0 to the first try per (client, recipient); after
                   greylist_delay seconds behaves like mailboxes
    policy         554 5.7.1 ... blocked using zen.spamhaus.org to every RCPT
    too-many-rcpt  452 4.5.3 to the second and later RCPT of a session; else mailboxes
    starttls       offers STARTTLS (self-signed certificate made at start) and
                   requires it before MAIL; then mailboxes
    starttls-broken  offers STARTTLS, answers 220, then sends junk instead of a handshake
    tarpit         banner only after tarpit_delay seconds; then mailboxes
    drop           closes the connection on MAIL FROM, without a reply
    421            421 at connect
    silent         accepts TCP, never says anything
    garbage        good banner, then a non-SMTP line for every command
    endless        good banner, then a multi-line reply to EHLO that never ends
    endless-banner a multi-line banner that never ends
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from aiosmtpd.smtp import SMTP as AioSMTP
from aiosmtpd.smtp import Envelope, Session

from auditor.lab.background import BackgroundLoop, BackgroundServer

__all__ = ["BEHAVIOURS", "LabMailServers", "MailHostSpec"]

log = logging.getLogger(__name__)

AIOSMTPD_BEHAVIOURS = ("mailboxes", "accept-all", "greylist", "policy", "too-many-rcpt", "starttls")
RAW_BEHAVIOURS = (
    "tarpit", "drop", "421", "silent", "starttls-broken", "garbage", "endless", "endless-banner",
)
ENDLESS_LIMIT = 64 * 1024 * 1024  # an endless reply stops here even if the client keeps reading
BEHAVIOURS = AIOSMTPD_BEHAVIOURS + RAW_BEHAVIOURS

POLICY_REPLY = "554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org"
GREYLIST_REPLY = "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, try again later"
UNKNOWN_REPLY = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown"
TOO_MANY_REPLY = "452 4.5.3 Error: too many recipients"
ACCEPT_REPLY = "250 2.1.5 Ok"
DATA_REPLY = "554 5.5.1 Lab mail host: DATA is never accepted here"
MAX_LINE = 2048
# What the raw (misbehaving) hosts answer to the commands that need nothing of their own.
_RAW_REPLIES = {
    "HELO": "250 {host}",
    "MAIL": "250 2.1.0 Ok",
    "RSET": "250 2.0.0 Ok",
    "NOOP": "250 2.0.0 Ok",
    "DATA": DATA_REPLY,
    "QUIT": "221 2.0.0 Bye",
}


@dataclass(frozen=True)
class MailHostSpec:
    """One lab mail host: the loopback address it listens on and how it behaves."""

    ip: str
    behaviour: str = "mailboxes"
    mailboxes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown lab SMTP behaviour {self.behaviour!r}; one of {', '.join(BEHAVIOURS)}")
        if not ipaddress.ip_address(self.ip).is_loopback:
            raise ValueError(f"lab mail hosts listen on loopback only, not {self.ip!r}")
        object.__setattr__(self, "mailboxes", frozenset(m.lower() for m in self.mailboxes))

    def accepts(self, address: str) -> bool:
        address = address.lower()
        return address in self.mailboxes or address.partition("@")[0] in self.mailboxes


def _spec(item: MailHostSpec | tuple[Any, ...]) -> MailHostSpec:
    if isinstance(item, MailHostSpec):
        return item
    ip, behaviour, *rest = item
    return MailHostSpec(ip, behaviour, frozenset(rest[0] if rest and rest[0] else ()))


def _self_signed_context(hostname: str, ips: Iterable[str]) -> ssl.SSLContext:
    """A server context with a fresh self-signed certificate (the lab never has a CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    san = [x509.DNSName(hostname)] + [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .sign(key, hashes.SHA256())
    )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory(prefix="lab-smtp-") as tmp:
        cert_path, key_path = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        ctx.load_cert_chain(cert_path, key_path)
    return ctx


class _Handler:
    """aiosmtpd hooks for one lab host: decide each RCPT, count every command."""

    def __init__(self, lab: LabMailServers, spec: MailHostSpec) -> None:
        self.lab = lab
        self.spec = spec

    def _count(self, verb: str) -> None:
        self.lab._count(self.spec.ip, verb)

    async def handle_EHLO(self, server: AioSMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]) -> list[str]:
        self._count("EHLO")
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server: AioSMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        self._count("HELO")
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_MAIL(self, server: AioSMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        self._count("MAIL")
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server: AioSMTP, session: Session, envelope: Envelope, address: str, options: list[str]) -> str:
        self._count("RCPT")
        count = getattr(session, "lab_rcpts", 0) + 1
        session.lab_rcpts = count  # type: ignore[attr-defined]
        client = session.peer[0] if session.peer else "?"
        reply = self.lab._rcpt_reply(self.spec, client, address, count)
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_RSET(self, server: AioSMTP, session: Session, envelope: Envelope) -> str:
        self._count("RSET")
        return "250 2.0.0 Ok"

    async def handle_NOOP(self, server: AioSMTP, session: Session, envelope: Envelope, arg: str) -> str:
        self._count("NOOP")
        return "250 2.0.0 Ok"

    async def handle_QUIT(self, server: AioSMTP, session: Session, envelope: Envelope) -> str:
        self._count("QUIT")
        return "221 2.0.0 Bye"

    def handle_STARTTLS(self, server: AioSMTP, session: Session, envelope: Envelope) -> bool:
        self._count("STARTTLS")
        return True


class _LabSMTP(AioSMTP):
    """aiosmtpd's protocol plus the lab's counters, per-reply latency and a DATA refusal."""

    def __init__(self, lab: LabMailServers, spec: MailHostSpec, **kwargs: Any) -> None:
        super().__init__(_Handler(lab, spec), **kwargs)
        self._lab = lab
        self._spec = spec
        self._lab_open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._original_transport is None and not self._lab_open
        super().connection_made(transport)
        if first:
            self._lab_open = True
            self._lab._opened(self._spec.ip, transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._lab_open:
            self._lab_open = False
            self._lab._closed(self._spec.ip, self.transport)
        super().connection_lost(error)

    async def push(self, status: Any) -> None:
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else str(status)
        if self._lab.latency and text[3:4] != "-":
            await asyncio.sleep(self._lab.latency)
        await super().push(status)

    async def smtp_DATA(self, arg: str) -> None:
        self._lab._count(self._spec.ip, "DATA")
        await self.push(DATA_REPLY)


def quiet_mail_log() -> logging.Logger:
    """aiosmtpd's logger, at WARNING unless the user set a level: it logs every connection at INFO."""
    mail_log = logging.getLogger("mail.log")
    if mail_log.level == logging.NOTSET:
        mail_log.setLevel(logging.WARNING)
    return mail_log


class LabMailServers(BackgroundServer):
    """All lab mail hosts on one port, served from a background thread's event loop.

    ``specs`` are :class:`MailHostSpec` or ``(ip, behaviour, mailboxes)`` tuples;
    ``port=0`` picks a port that is free on every listed address.
    """

    def __init__(
        self,
        specs: Iterable[MailHostSpec | tuple[Any, ...]],
        port: int = 0,
        *,
        latency: float = 0.0,
        tarpit_delay: float = 60.0,
        greylist_delay: float = 1.0,
        hostname: str = "lab-mx.example",
    ) -> None:
        self.specs = [_spec(s) for s in specs]
        ips = [s.ip for s in self.specs]
        if len(set(ips)) != len(ips):
            raise ValueError("each lab mail host needs its own address")
        self.port = port
        self.latency = latency
        self.tarpit_delay = tarpit_delay
        self.greylist_delay = greylist_delay
        self.hostname = hostname
        self._lock = threading.Lock()
        self.sessions: Counter[str] = Counter()
        self.rcpts: Counter[str] = Counter()
        self.max_concurrent: Counter[str] = Counter()
        self.commands: Counter[tuple[str, str]] = Counter()
        self._active: Counter[str] = Counter()
        self._greylist: dict[tuple[str, str], float] = {}
        self._bg = BackgroundLoop("lab-smtp")
        self._servers: list[asyncio.AbstractServer] = []
        self._transports: set[asyncio.BaseTransport] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._tls: ssl.SSLContext | None = None

    # ---------------------------------------------------------------- counters

    def _count(self, ip: str, verb: str) -> None:
        with self._lock:
            self.commands[(ip, verb)] += 1
            if verb == "RCPT":
                self.rcpts[ip] += 1

    def _opened(self, ip: str, transport: Any) -> None:
        with self._lock:
            self.sessions[ip] += 1
            self._active[ip] += 1
            self.max_concurrent[ip] = max(self.max_concurrent[ip], self._active[ip])
            if transport is not None:
                self._transports.add(transport)

    def _closed(self, ip: str, transport: Any) -> None:
        with self._lock:
            self._active[ip] -= 1
            self._transports.discard(transport)

    @property
    def data_commands(self) -> int:
        """How many DATA commands any host ever received (a validator must send none)."""
        with self._lock:
            return sum(n for (_, verb), n in self.commands.items() if verb == "DATA")

    def command_count(self, verb: str, ip: str | None = None) -> int:
        with self._lock:
            return sum(n for (i, v), n in self.commands.items() if v == verb and (ip is None or i == ip))

    def reset_counters(self) -> None:
        """Zero the counters (the greylist memory stays: it is server state, not a counter)."""
        with self._lock:
            for counter in (self.sessions, self.rcpts, self.max_concurrent, self.commands):
                counter.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "sessions": dict(self.sessions),
                "rcpts": dict(self.rcpts),
                "max_concurrent": dict(self.max_concurrent),
                "data_commands": sum(n for (_, v), n in self.commands.items() if v == "DATA"),
            }

    # --------------------------------------------------------------- behaviour

    def _rcpt_reply(self, spec: MailHostSpec, client: str, address: str, index: int) -> str:
        """The reply to the ``index``-th RCPT (1-based) of a session."""
        behaviour = spec.behaviour
        if behaviour == "policy":
            return POLICY_REPLY
        if behaviour == "too-many-rcpt" and index >= 2:
            return TOO_MANY_REPLY
        if behaviour == "greylist":
            now = time.monotonic()
            with self._lock:
                first = self._greylist.setdefault((client, address.lower()), now)
            if now - first < self.greylist_delay:
                return GREYLIST_REPLY.format(rcpt=address)
        if behaviour == "accept-all" or spec.accepts(address):
            return ACCEPT_REPLY
        return UNKNOWN_REPLY.format(rcpt=address)

    async def _reply(self, writer: asyncio.StreamWriter, *lines: str) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)
        writer.write("".join(line + "\r\n" for line in lines).encode())
        await writer.drain()

    async def _endless(self, writer: asyncio.StreamWriter, code: str) -> None:
        """Continuation lines (``250-...``) with no last line, until the client hangs up."""
        line = f"{code}-{'x' * 500}\r\n".encode()
        batch = line * 16
        sent = 0
        while sent < ENDLESS_LIMIT:
            writer.write(batch)
            await writer.drain()
            sent += len(batch)
            await asyncio.sleep(0)

    async def _raw_client(self, spec: MailHostSpec, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A deliberately bad (or slow) SMTP server for one connection."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._opened(spec.ip, None)
        try:
            if not await self._raw_greeting(spec.behaviour, reader, writer):
                return
            rcpts = [0]
            while True:
                line = await reader.readline()
                if not line or len(line) > MAX_LINE:
                    return
                verb, _, arg = line.decode("utf-8", "replace").strip().partition(" ")
                verb = verb.upper()
                self._count(spec.ip, verb)
                if not await self._raw_command(spec, writer, verb, arg, rcpts):
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._closed(spec.ip, None)
            self._tasks.discard(task)
            writer.close()

    async def _raw_greeting(self, behaviour: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Whatever comes before (or instead of) the 220 banner; False when the session is over."""
        if behaviour == "silent":
            while await reader.read(4096):
                pass
            return False
        if behaviour == "421":
            await self._reply(writer, f"421 4.3.2 {self.hostname} Service not available, closing transmission channel")
            return False
        if behaviour == "tarpit":
            await asyncio.sleep(self.tarpit_delay)
        if behaviour == "endless-banner":
            await self._endless(writer, "220")
            return False
        await self._reply(writer, f"220 {self.hostname} ESMTP lab")
        return True

    async def _raw_command(self, spec: MailHostSpec, writer: asyncio.StreamWriter, verb: str, arg: str,
                           rcpts: list[int]) -> bool:
        """Answer one command the way the host's behaviour does; False when the session is over."""
        behaviour = spec.behaviour
        if behaviour == "garbage":
            await self._reply(writer, "Hello? This is not the SMTP you are looking for.")
            return True
        if behaviour == "endless" and verb in ("EHLO", "HELO"):
            await self._endless(writer, "250")
            return False
        if verb == "STARTTLS" and behaviour == "starttls-broken":
            await self._reply(writer, "220 2.0.0 Ready to start TLS")
            writer.write(b"this is not a TLS handshake\r\n" * 4)
            await writer.drain()
            return False
        if verb == "MAIL" and behaviour == "drop":
            return False
        if verb == "EHLO":
            extra = ["250-STARTTLS"] if behaviour == "starttls-broken" else []
            await self._reply(writer, f"250-{self.hostname}", "250-PIPELINING", *extra, "250 8BITMIME")
        elif verb == "RCPT":
            rcpts[0] += 1
            address = arg.partition(":")[2].strip().split(" ")[0].strip("<>")
            await self._reply(writer, self._rcpt_reply(spec, "raw", address, rcpts[0]))
        else:
            await self._reply(writer, _RAW_REPLIES.get(verb, "502 5.5.2 Error: command not recognized").format(
                host=self.hostname))
        return verb != "QUIT"

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Bind every host and serve from a daemon thread; returns self."""
        if self._bg.running:
            return self
        quiet_mail_log()
        if any(s.behaviour == "starttls" for s in self.specs):
            self._tls = _self_signed_context(self.hostname, [s.ip for s in self.specs])
        self._bg.start(self._bind_all, self._shutdown)
        return self

    async def _bind_all(self) -> None:
        for attempt in range(20):
            port = self.port or _free_port(self.specs[0].ip if self.specs else "127.0.0.1")
            try:
                for spec in self.specs:
                    self._servers.append(await self._serve(spec, port))
            except OSError:
                await self._close_servers()
                if self.port or attempt == 19:
                    raise
                continue
            self.port = port
            return

    async def _serve(self, spec: MailHostSpec, port: int) -> asyncio.AbstractServer:
        loop = asyncio.get_running_loop()
        if spec.behaviour in RAW_BEHAVIOURS:
            return await asyncio.start_server(
                lambda r, w: self._raw_client(spec, r, w), spec.ip, port, reuse_address=True
            )
        tls = self._tls if spec.behaviour == "starttls" else None

        def factory() -> _LabSMTP:
            return _LabSMTP(
                self, spec, hostname=self.hostname, ident="ESMTP lab", tls_context=tls,
                require_starttls=tls is not None, timeout=60, loop=loop,
            )

        return await loop.create_server(factory, spec.ip, port, reuse_address=True)

    async def _close_servers(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()

    async def _shutdown(self) -> None:
        await self._close_servers()
        for task in list(self._tasks):
            task.cancel()
        with self._lock:
            transports = list(self._transports)
        for transport in transports:
            transport.close()
        await asyncio.sleep(0)

    def stop(self) -> None:
        """Close every listener and connection and end the thread."""
        self._bg.stop()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
