"""The email validator: syntax, then the route, then the SMTP batch, then one verdict each."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import aiosmtplib

from auditor.models import ACTIVE, Verdict
from auditor.net.guard import AddressPolicy
from auditor.validate.email.batch import SmtpBatcher
from auditor.validate.email.config import EmailCheckConfig
from auditor.validate.email.conversation import Dialer, SmtpClientFactory, opportunistic_tls
from auditor.validate.email.outcomes import Probe
from auditor.validate.email.routing import MailRoute, Resolves, mail_hosts
from auditor.validate.email.syntax import Address, parse_address
from auditor.validate.email.verdicts import crashed_verdict, email_verdict
from auditor.validate.limits import HostLimiter

log = logging.getLogger(__name__)

MAX_OPEN_SESSIONS = 256  # all hosts together
DNS_THREADS = 16

_warned: set[str] = set()


def _warn_once(key: str, message: str, *args: object) -> None:
    """Log a configuration warning once per process, not once per address."""
    if key not in _warned:
        _warned.add(key)
        log.warning(message, *args)


def _default_helo() -> str:
    try:
        name = socket.getfqdn()
    except OSError:
        name = ""
    return name if name and " " not in name else "localhost"


class EmailValidator:
    """Validates email addresses; reuse one instance per run so its caches and limits hold.

    The resolver is injected (``--nameserver`` and the lab reach it that way), and so
    may be the SMTP client class (``smtp_client``, aiosmtplib's by default) and the
    per-host limiter (a distributed run's :class:`~auditor.validate.limits.SharedHostLimiter`).
    """

    def __init__(self, resolver: Resolves, config: EmailCheckConfig,
                 smtp_client: SmtpClientFactory = aiosmtplib.SMTP, limiter: HostLimiter | None = None) -> None:
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
        self.limiter = limiter or HostLimiter(
            config.per_mx_concurrency, config.per_mx_sessions_per_minute, MAX_OPEN_SESSIONS
        )
        dialer = Dialer(self.helo, config.smtp_port, config.timeout, opportunistic_tls(), smtp_client)
        self.smtp = SmtpBatcher(config, dialer, self.mail_from, self.limiter)
        self._routes: dict[str, MailRoute] = {}

    @property
    def port_blocked(self) -> bool:
        """The preflight found port 25 blocked: every later SMTP check is port-25-blocked."""
        return self.smtp.port_blocked

    @property
    def sessions(self) -> int:
        """SMTP sessions opened so far in this run."""
        return self.smtp.sessions

    async def validate(self, address: str) -> Verdict:
        """One address; see :meth:`validate_many` (prefer it: it batches)."""
        results = await self.validate_many([address])
        return next(iter(results.values()))

    async def validate_many(self, addresses: Iterable[str]) -> dict[str, Verdict]:
        """Verdicts keyed by normalized address (invalid ones by the stripped input). Never raises."""
        items: dict[str, Address] = {}
        for raw in addresses:
            item = parse_address(raw)
            items.setdefault(item.key, item)
        try:
            return await self._validate(items)
        except Exception as exc:  # noqa: BLE001 - a bug must not take the run down
            log.exception("email validation failed unexpectedly")
            return {key: crashed_verdict(item, exc) for key, item in items.items()}

    async def _routes_for(self, domains: Iterable[str]) -> None:
        """Look up each new domain's route once per run, in threads (the resolver blocks)."""
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

    async def _validate(self, items: dict[str, Address]) -> dict[str, Verdict]:
        valid = [i for i in items.values() if i.valid]
        await self._routes_for(i.domain for i in valid)
        real: dict[str, Probe] = {}
        if self.config.smtp:
            for item in valid:
                route = self._routes[item.domain]
                if route.verdict == ACTIVE:
                    real[item.key] = Probe(item.key, item.rcpt, item.domain, route, item.utf8)
        if real:
            await self.smtp.check(list(real.values()))
        return {
            key: email_verdict(
                item, self._routes[item.domain] if item.valid else None, real.get(key),
                self.smtp.catch_all.get(item.domain),
            )
            for key, item in items.items()
        }
