"""Batching: which recipients go into which session, to which host, in what order.

* **Few sessions.** Recipients are grouped by the IP of the mail host they route to
  (domains sharing a provider share it), and one session carries up to
  ``max_recipients_per_session`` of them. A :class:`HostLimiter` keyed by IP caps
  parallel sessions and session starts per minute per host; hosts run concurrently.
* **Fallback.** Connection failures, timeouts and 421 move a recipient on to the
  next MX (at most :data:`MAX_TARGETS` addresses per domain); a host that failed is
  not tried again in this run. If STARTTLS breaks the connection the host is
  retried without TLS for the rest of the run and the evidence says so.
* **Catch-all.** After a domain's real recipients, a random local part of the same
  domain is tried on a separate session; the result is kept per domain.
* **Greylisting** (4xx) is retried once, after ``greylist_retry_delay``, for the
  whole batch together (one sleep, no loops). The limiter hears which hosts
  greylisted: a shared one makes every worker wait out the same delay.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
from collections.abc import Iterable

from auditor import reasons
from auditor.models import UNKNOWN, VerdictValue
from auditor.validate.email.config import EmailCheckConfig
from auditor.validate.email.conversation import Conversation, Dialer, HostFailure, failure_reason
from auditor.validate.email.evidence import MAX_TEXT, entry, ms, now
from auditor.validate.email.outcomes import (
    DONE,
    NEXT_HOST,
    PENDING,
    SPLIT,
    CatchAll,
    Outcome,
    Probe,
)
from auditor.validate.email.preflight import PREFLIGHT_HOSTS, Preflight
from auditor.validate.email.routing import MAX_TARGETS
from auditor.validate.limits import HostLimiter
from auditor.validate.smtp_reply import (
    classify_reply,
    classify_sender_reply,
    is_too_many_recipients,
)

log = logging.getLogger(__name__)

RANDOM_LOCAL_LENGTH = 24


def random_local() -> str:
    """A local part no real mailbox has: the catch-all probe's recipient."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(RANDOM_LOCAL_LENGTH))


async def _command(conv: Conversation, line: str, utf8: bool = False) -> tuple[int, str]:
    """One transaction command; a 421 closes the session (HostFailure), anything else is returned."""
    code, text = await conv.command(line, utf8=utf8)
    if code == 421:
        raise HostFailure("deferred", f"421 to {line.split(':')[0]}", code, text)
    return code, text


class SmtpBatcher:
    """Runs SMTP probes to final outcomes; keeps per-host knowledge for the whole run."""

    def __init__(self, config: EmailCheckConfig, dialer: Dialer, mail_from: str,
                 limiter: HostLimiter) -> None:
        self.config = config
        self.dialer = dialer
        self.mail_from = mail_from
        self.limiter = limiter
        self.catch_all: dict[str, CatchAll] = {}  # domain -> its probe
        self._random_local: dict[str, str] = {}
        self._dead: dict[str, str] = {}  # ip -> why (timeouts, refusals) for this run
        self._rcpt_cap: dict[str, int] = {}  # ip -> recipients per session it tolerates
        self._no_tls: set[str] = set()
        self._preflight_done = False
        self.port_blocked = False
        self.sessions = 0

    async def check(self, real: list[Probe]) -> None:
        """Real recipients, catch-all probes, then one greylisting retry for both."""
        preflight = self.config.preflight and not self._preflight_done
        await self._run(real, preflight)
        catch = self._catch_all_probes(real)
        await self._run(catch, False)
        retry = [p for p in real + catch if p.outcome is not None and p.outcome.reason == reasons.GREYLISTED]
        if retry and not self.port_blocked:
            delay = max(0.0, self.config.greylist_retry_delay)
            # Shared with other workers (distributed runs): none of them asks these hosts before the delay.
            for ip in dict.fromkeys(p.outcome.ip for p in retry if p.outcome is not None and p.outcome.ip):
                await self.limiter.note_greylisted(ip, delay)
            log.info("%d recipient(s) greylisted; re-probing once in %g s", len(retry), delay)
            await asyncio.sleep(delay)
            for probe in retry:
                probe.retry()
            # Real recipients first, catch-all probes on sessions of their own, as before.
            await self._run([p for p in retry if not p.catch_all], False)
            await self._run([p for p in retry if p.catch_all] + self._catch_all_probes(real), False)

    def _catch_all_probes(self, real: list[Probe]) -> list[Probe]:
        """One random-address probe per domain that accepted (or deferred) a real recipient."""
        if not self.config.catch_all_probe:
            return []
        probes: list[Probe] = []
        for p in real:
            outcome = p.outcome
            if outcome is None or p.domain in self.catch_all:
                continue
            # Deferred at RCPT (not a 421 at connect): the probe's first try starts its greylist clock.
            if outcome.accepted or (outcome.reason == reasons.GREYLISTED and not outcome.error):
                local = self._random_local.setdefault(p.domain, random_local())
                probe = Probe(f"{local}@{p.domain}", f"{local}@{p.domain}", p.domain, p.route, catch_all=True)
                self.catch_all[p.domain] = CatchAll(probe)
                probes.append(probe)
        return probes

    # ------------------------------------------------------------- scheduling

    def _target(self, probe: Probe) -> tuple[str, str] | None:
        targets = probe.route.targets
        while probe.target_index < min(len(targets), MAX_TARGETS):
            host, ip = targets[probe.target_index]
            if ip not in self._dead:
                return host, ip
            probe.target_index += 1
        return None

    @staticmethod
    def _give_up(probe: Probe) -> None:
        probe.state = DONE
        if probe.failures:
            probe.outcome = probe.failures[-1]
        else:
            probe.outcome = Outcome(UNKNOWN, reasons.SMTP_UNREACHABLE, error="no mail host left to try")

    def _blocked(self, probes: Iterable[Probe]) -> None:
        for probe in probes:
            probe.state = DONE
            probe.outcome = Outcome(
                UNKNOWN, reasons.PORT_25_BLOCKED, port=self.config.smtp_port,
                error=f"no SMTP greeting from any of the first mail hosts on port {self.config.smtp_port}",
            )

    def _group(self, pending: list[Probe]) -> tuple[dict[str, list[Probe]], dict[str, str]]:
        """Probes by the IP they go to next (giving up on those with no host left), and IP -> name."""
        groups: dict[str, list[Probe]] = {}
        names: dict[str, str] = {}
        for probe in pending:
            target = self._target(probe)
            if target is None:
                self._give_up(probe)
                continue
            host, ip = target
            groups.setdefault(ip, []).append(probe)
            names.setdefault(ip, host)
        return groups, names

    async def _run(self, probes: list[Probe], preflight: bool) -> None:
        """Run probes to a final outcome: group by target IP, fall back MX by MX."""
        if not probes:
            return
        if self.port_blocked:
            self._blocked(probes)
            return
        pending = probes
        first = True
        while pending:
            groups, names = self._group(pending)
            gate = Preflight(list(groups)[:PREFLIGHT_HOSTS]) if first and preflight else None
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

    async def _drain(self, ip: str, host: str, probes: list[Probe], gate: Preflight | None) -> None:
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

    # --------------------------------------------------------------- sessions

    async def _open(self, host: str, ip: str, gate: Preflight | None) -> Conversation:
        """Connect, greet, STARTTLS when offered; if TLS breaks the socket, redo it in plain text."""
        conv = Conversation(self.dialer, host, ip)
        try:
            try:
                await conv.open(try_tls=ip not in self._no_tls)
            except HostFailure as exc:
                if exc.kind != "tls":
                    raise
                self._no_tls.add(ip)
                if conv.smtp is not None:
                    conv.smtp.close()
                earlier = conv.transcript
                conv = Conversation(self.dialer, host, ip)
                conv.transcript = [*earlier, entry(None, error="reconnecting without TLS")]
                conv.tls = f"failed, retried without TLS: {exc}"[:MAX_TEXT]
                await conv.open(try_tls=False)
        except HostFailure as exc:
            exc.conversation = conv
            raise
        finally:
            if gate is not None and ip in gate.ips:
                gate.report(ip, conv.reached)
        return conv

    async def _session(self, ip: str, host: str, probes: list[Probe], gate: Preflight | None) -> bool:
        """One SMTP session naming each probe's recipient in turn; False if the host failed."""
        for probe in probes:
            probe.state = PENDING
        async with self.limiter.slot(ip):
            self.sessions += 1
            started, t0 = now()
            conv: Conversation | None = None
            try:
                conv = await self._open(host, ip, gate)
                await self._transactions(conv, probes, started, t0)
                await conv.close()
                return True
            except Exception as exc:  # noqa: BLE001 - every failure becomes evidence
                failure = exc if isinstance(exc, HostFailure) else HostFailure(
                    "error", f"{type(exc).__name__}: {exc}"[:MAX_TEXT]
                )
                if not isinstance(exc, HostFailure):
                    log.debug("SMTP session with %s failed", ip, exc_info=True)
                if failure.kind in ("timeout", "unreachable", "error", "rejected"):
                    self._dead[ip] = str(failure)
                if conv is None and isinstance(exc, HostFailure):
                    conv = exc.conversation  # it failed while opening
                transcript = list(conv.transcript) if conv else []
                tls = conv.tls if conv else None
                if conv is not None:
                    await conv.close()
                verdict, reason = failure_reason(failure)
                for probe in probes:
                    if probe.state != PENDING:
                        continue
                    probe.failures.append(Outcome(
                        verdict, reason, failure.code, failure.text, host, ip, self.config.smtp_port,
                        tls, transcript, started, ms(t0), str(failure),
                    ))
                    probe.state = NEXT_HOST
                    probe.target_index += 1
                return False

    async def _transactions(self, conv: Conversation, probes: list[Probe], started: float, t0: float) -> None:
        """MAIL FROM / RCPT TO / RSET per recipient; sets each probe's state and outcome."""
        preamble = len(conv.transcript)
        for index, probe in enumerate(probes):
            mark = len(conv.transcript)

            def outcome(verdict: VerdictValue, reason: str, code: int | None = None, text: str = "",
                        _mark: int = mark) -> Outcome:
                return Outcome(
                    verdict, reason, code, text, conv.host, conv.ip, conv.port, conv.tls,
                    conv.transcript[:preamble] + conv.transcript[_mark:], started, ms(t0),
                )

            if probe.utf8 and not conv.smtputf8:
                probe.outcome, probe.state = outcome(UNKNOWN, reasons.SMTPUTF8_UNSUPPORTED), DONE
                continue
            smtputf8 = " SMTPUTF8" if probe.utf8 else ""
            code, text = await _command(conv, f"MAIL FROM:<{self.mail_from}>{smtputf8}")
            if code != 250:
                # About us, not the recipients: the same answer for everyone in this session.
                verdict, reason = classify_sender_reply(code, text)
                for rest in probes[index:]:
                    rest.outcome, rest.state = outcome(verdict, reason, code, text), DONE
                return
            code, text = await _command(conv, f"RCPT TO:<{probe.rcpt}>", utf8=probe.utf8)
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
