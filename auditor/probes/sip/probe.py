"""The phone line probe: does a published number ring? Opt-in, polite, and never billed.

What it does for each number, and why:

* **Never dials what it must not.** Invalid numbers, emergency numbers
  (``shortnumberinfo.is_emergency_number`` / ``connects_to_emergency_number``),
  short codes, premium-rate and shared-cost numbers are refused before any
  network traffic: calling them costs the caller money or takes a line that
  someone in trouble may need.
* **Hangs up before anything is charged.** By default the call is cancelled as
  soon as the network says it rings (180) or brings early media (183). With
  ``answer_window`` it waits for a 200 OK up to that many seconds, then ACKs and
  BYEs at once (an answered call may be charged for a second).
* **Calls when people are there.** Named windows (business hours, evening,
  weekend) are evaluated in the number's own time zone; a ledger the caller can
  persist (plain JSON) allows at most one call per number per window occurrence;
  a global limiter caps calls per minute and calls in flight.
* **Reads the answer by RFC 3398.** 404/410/484/604 mean the number is not in
  service; 486/600 busy and 180/183 ringing mean the line exists; 200 means
  someone answered; 480/408 say nothing; 5xx is the network; no answer at all
  (Timer B) is ``sip-timeout``. See :func:`classify_call`.
* **Keeps its secret.** The trunk password is read from an environment variable
  or a file when the run starts, held in a :class:`Secret`, and never appears in
  a repr, a log line, the evidence or the transcript.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time as _time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import PhoneNumberFormat, shortnumberinfo
from phonenumbers import timezone as pn_timezone

from auditor import reasons
from auditor.models import Check, Verdict, VerdictValue
from auditor.net.guard import AddressPolicy, BlockedAddressError, is_ip_literal
from auditor.net.resolver import DnsAnswer
from auditor.probes.sip.digest import Secret
from auditor.probes.sip.message import host_for_uri
from auditor.probes.sip.transaction import TimerSettings
from auditor.probes.sip.transport import DEFAULT_PORTS, TRANSPORTS, open_transport
from auditor.probes.sip.ua import CallResult, CallSpec, UserAgent
from auditor.validate.limits import HostLimiter
from auditor.validate.phone import TYPE_NAMES, normalize_country

log = logging.getLogger(__name__)

CHECK_NAME = "sip-line"
LIMITER_KEY = "sip-trunk"
DEFAULT_PASSWORD_ENV = "AUDITOR_SIP_PASSWORD"
LEDGER_VERSION = 1

# ------------------------------------------------------------------------- outcome table

# RFC 3398 §7.2.4.1 (ISDN cause -> SIP status), read back the other way.
FINAL_OUTCOMES: Mapping[int, tuple[VerdictValue, str]] = {
    404: ("inactive", reasons.NUMBER_NOT_IN_SERVICE),  # cause 1, unallocated number
    410: ("inactive", reasons.NUMBER_CHANGED),  # cause 22
    484: ("inactive", reasons.ADDRESS_INCOMPLETE),  # cause 28
    604: ("inactive", reasons.NUMBER_NOT_IN_SERVICE),  # does not exist anywhere
    486: ("active", reasons.BUSY),  # cause 17, user busy
    600: ("active", reasons.BUSY),  # busy everywhere
    480: ("unknown", reasons.NO_ANSWER),  # cause 19 (or 18/20/31)
    408: ("unknown", reasons.NO_ANSWER),  # cause 18, no user responding
}
LIVE_REASONS = frozenset({reasons.RINGS, reasons.SESSION_PROGRESS, reasons.ANSWERED})


def classify_call(result: CallResult) -> tuple[VerdictValue, str]:
    """(verdict, reason) for one call, by RFC 3398.

    Precedence: an answer; an explicit "not in service"/"busy" final (carriers
    sometimes play a 183 announcement before a 404, and the 404 is the truth);
    then ringing or session progress seen before the end (a 180 followed by 480
    or by the 487 of our CANCEL still proves the line rings); then the other
    finals; then the absence of any final.
    """
    if result.transport_error and result.final is None and not result.responses:
        return "unknown", reasons.SIP_TRANSPORT_ERROR
    final = result.final
    if final is not None and 200 <= final.code < 300:
        return "active", reasons.ANSWERED
    if final is not None and final.code in (401, 407) and result.auth_failed:
        return "unknown", reasons.SIP_AUTH_FAILED
    if final is not None and final.code in FINAL_OUTCOMES and FINAL_OUTCOMES[final.code][0] != "unknown":
        return FINAL_OUTCOMES[final.code]
    if result.saw(180):
        return "active", reasons.RINGS
    if result.saw(183):
        return "active", reasons.SESSION_PROGRESS
    if final is None:
        if result.timed_out:
            return "unknown", reasons.SIP_TIMEOUT
        if result.transport_error:
            return "unknown", reasons.SIP_TRANSPORT_ERROR
        return "unknown", reasons.NO_ANSWER  # only 100 Trying before our CANCEL went unanswered
    if final.code in FINAL_OUTCOMES:
        return FINAL_OUTCOMES[final.code]
    if 500 <= final.code < 600:
        return "unknown", reasons.NETWORK
    if final.code == 487 and result.cancel_reason:
        return "unknown", reasons.NO_ANSWER  # we gave up after 100 Trying; the network never rang
    return "unknown", reasons.SIP_UNEXPECTED


# ------------------------------------------------------------------------------ windows


@dataclass(frozen=True)
class ProbeWindow:
    """Days (0 = Monday) and local times during which a number may be called.

    ``end`` before ``start`` wraps past midnight; the occurrence then belongs to the
    day it started on.
    """

    name: str
    days: frozenset[int]
    start: time
    end: time

    def occurrence(self, local: datetime) -> date | None:
        """The date of the window occurrence ``local`` falls in, or None when outside."""
        t, day = local.time(), local.date()
        if self.start <= self.end:
            inside = local.weekday() in self.days and self.start <= t < self.end
            return day if inside else None
        if t >= self.start and local.weekday() in self.days:
            return day
        yesterday = day - timedelta(days=1)
        if t < self.end and yesterday.weekday() in self.days:
            return yesterday
        return None

    def contains(self, local: datetime) -> bool:
        return self.occurrence(local) is not None


WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
EVERY_DAY = frozenset(range(7))

DEFAULT_WINDOWS: Mapping[str, ProbeWindow] = {
    "business-hours": ProbeWindow("business-hours", WEEKDAYS, time(9), time(17)),
    "evening": ProbeWindow("evening", EVERY_DAY, time(18), time(21)),
    "weekend": ProbeWindow("weekend", WEEKEND, time(10), time(16)),
}


def _as_number(number: str | phonenumbers.PhoneNumber, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    if isinstance(number, phonenumbers.PhoneNumber):
        return number
    try:
        return phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None


def number_zone(number: str | phonenumbers.PhoneNumber) -> ZoneInfo | None:
    """The number's time zone: the first one phonenumbers names; None when unknown."""
    parsed = _as_number(number)
    if parsed is None:
        return None
    for name in pn_timezone.time_zones_for_number(parsed):
        if name and name != "Etc/Unknown":
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return None


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)  # naive means UTC


def _window(window: str | ProbeWindow | None, windows: Mapping[str, ProbeWindow]) -> ProbeWindow | None:
    if window is None or isinstance(window, ProbeWindow):
        return window
    try:
        return windows[window]
    except KeyError:
        raise ValueError(f"unknown probe window {window!r} (known: {', '.join(sorted(windows))})") from None


def ledger_key(window: ProbeWindow | None, local: datetime) -> str | None:
    """``business-hours/2026-11-03``; without a window, one call per local day (``any/...``)."""
    if window is None:
        return f"any/{local.date().isoformat()}"
    day = window.occurrence(local)
    return f"{window.name}/{day.isoformat()}" if day else None


def new_ledger() -> dict[str, Any]:
    return {"version": LEDGER_VERSION, "calls": {}}


def _ledger_calls(ledger: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ledger.setdefault("version", LEDGER_VERSION)
    calls: dict[str, dict[str, Any]] = ledger.setdefault("calls", {})
    return calls


def probe_due(
    number: str | phonenumbers.PhoneNumber,
    window: str | ProbeWindow | None,
    now: datetime | None = None,
    *,
    ledger: dict[str, Any] | None = None,
    windows: Mapping[str, ProbeWindow] = DEFAULT_WINDOWS,
) -> bool:
    """May ``number`` be called at ``now`` in ``window`` (its own local time)?

    False outside the window, when the number's time zone is unknown (local time
    cannot be known), or when ``ledger`` already holds a call in this occurrence.
    ``window=None`` is always due (except for the ledger's one call per local day).
    """
    return _due(number, _window(window, windows), _aware(now), ledger)[0]


def _due(
    number: str | phonenumbers.PhoneNumber, window: ProbeWindow | None, now: datetime, ledger: dict[str, Any] | None
) -> tuple[bool, str, datetime | None, str | None]:
    """(due, reason if not, local time, ledger key)."""
    zone = number_zone(number)
    if zone is None:
        if window is not None:
            return False, reasons.UNKNOWN_TIMEZONE, None, None
        local = now.astimezone(UTC)
    else:
        local = now.astimezone(zone)
    key = ledger_key(window, local)
    if key is None:
        return False, reasons.OUTSIDE_WINDOW, local, None
    if ledger is not None:
        e164 = _e164(number)
        if e164 and key in _ledger_calls(ledger).get(e164, {}):
            return False, reasons.ALREADY_PROBED, local, key
    return True, "", local, key


def _e164(number: str | phonenumbers.PhoneNumber) -> str | None:
    parsed = _as_number(number)
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164) if parsed else None


# ------------------------------------------------------------------------------ config


@dataclass
class SipTrunkConfig:
    """The trunk the probe calls through, and how patiently and politely it calls.

    The password is never a field: it is read from ``password_file`` if set, else
    from the environment variable ``password_env``, when a run starts.
    """

    host: str
    port: int | None = None  # default by transport: 5060, TLS 5061
    transport: str = "udp"
    username: str | None = None  # digest user name
    from_user: str | None = None  # caller ID user part; defaults to username
    display_name: str | None = None
    domain: str | None = None  # SIP domain for R-URI/From/To; defaults to host
    realm: str | None = None  # answer only challenges of this realm
    password_env: str | None = DEFAULT_PASSWORD_ENV
    password_file: str | None = None
    # Timers (RFC 3261 Table 4); timer_b=None means 64*T1.
    t1: float = 0.5
    t2: float = 4.0
    timer_b: float | None = None
    timer_d: float = 32.0
    ring_timeout: float = 60.0  # default mode: cancel if nothing rings by then
    linger: float = 1.0  # listen after a call for retransmitted finals
    connect_timeout: float = 5.0
    # Politeness.
    calls_per_minute: float = 4.0
    max_concurrent_calls: int = 1
    refuse_types: frozenset[str] = frozenset({reasons.PREMIUM_RATE, reasons.SHARED_COST})
    windows: Mapping[str, ProbeWindow] = field(default_factory=lambda: dict(DEFAULT_WINDOWS))
    # Wire details.
    user_agent: str = "contact-auditor line probe"
    send_sdp: bool = True
    local_host: str | None = None
    tls_context: ssl.SSLContext | None = None
    tls_server_name: str | None = None

    def __post_init__(self) -> None:
        self.transport = self.transport.lower()
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {self.transport!r}")
        if self.port is None:
            self.port = DEFAULT_PORTS[self.transport]
        if not 0 < int(self.port) < 65536:
            raise ValueError(f"port out of range: {self.port}")
        if not self.host or not self.host.strip():
            raise ValueError("the SIP proxy host is required")

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            if f.name in ("tls_context", "windows"):
                continue
            shown.append(f"{f.name}={getattr(self, f.name)!r}")
        shown.append("password=***")
        return f"SipTrunkConfig({', '.join(shown)})"

    __str__ = __repr__

    @property
    def sip_domain(self) -> str:
        return self.domain or self.host

    @property
    def timers(self) -> TimerSettings:
        return TimerSettings(t1=self.t1, t2=self.t2, timer_b=self.timer_b, timer_d=self.timer_d)

    def load_password(self) -> Secret | None:
        """The trunk password from the secret file or the environment, or None."""
        if self.password_file:
            try:
                text = Path(self.password_file).read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"cannot read the SIP password file {self.password_file}: {exc.strerror}") from None
            value = text.rstrip("\r\n")
            return Secret(value) if value else None
        if self.password_env:
            env_value = os.environ.get(self.password_env)
            return Secret(env_value) if env_value else None
        return None

    def request_uri(self, e164: str) -> str:
        """``sip:+E164@domain;user=phone`` (the port only when calling the proxy host itself)."""
        host = host_for_uri(self.sip_domain)
        default = DEFAULT_PORTS[self.transport]
        if self.domain is None and self.port != default:
            host = f"{host}:{self.port}"
        return f"sip:{e164}@{host};user=phone"


# --------------------------------------------------------------------- never-dial rules


@dataclass(frozen=True)
class Refusal:
    verdict: VerdictValue
    reason: str
    message: str
    flags: tuple[str, ...] = ()


def dial_refusal(
    number: phonenumbers.PhoneNumber | None,
    text: str = "",
    region: str | None = None,
    refuse_types: Iterable[str] = (reasons.PREMIUM_RATE, reasons.SHARED_COST),
) -> Refusal | None:
    """Why ``number`` must not be dialled, or None when it may be.

    Emergency and short numbers are checked before validity, so "112" is refused
    as an emergency number rather than merely as invalid.
    """
    if number is None:
        return Refusal("inactive", reasons.INVALID_NUMBER, f"{text!r} cannot be read as a phone number")
    home = region or phonenumbers.region_code_for_country_code(number.country_code or 0)
    nsn = phonenumbers.national_significant_number(number)
    regions = {r for r in (home, phonenumbers.region_code_for_number(number)) if r and r != "ZZ"}
    digits = "".join(ch for ch in text if ch.isdigit()) if text and not text.strip().startswith("+") else ""
    valid = phonenumbers.is_valid_number(number)
    for r in regions:
        for candidate in {nsn, digits} - {""}:
            # Prefix matching ("112" + more digits) only for numbers that are not a full
            # valid number: +36 1 123 4567 is a Budapest line, not 112.
            if shortnumberinfo.is_emergency_number(candidate, r) or (
                not valid and shortnumberinfo.connects_to_emergency_number(candidate, r)
            ):
                return Refusal("unknown", reasons.EMERGENCY_NUMBER, f"{text or nsn} reaches emergency services in {r}; never dialled")
    if not valid and shortnumberinfo.is_valid_short_number(number):
        return Refusal("unknown", reasons.SHORT_NUMBER, f"{text or nsn} is a short code; never dialled")
    if not valid:
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        return Refusal("inactive", reasons.INVALID_NUMBER, f"{e164} is not valid in its numbering plan; not dialled")
    kind = TYPE_NAMES.get(phonenumbers.number_type(number), "unknown")
    if kind in set(refuse_types):
        intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
        flags = ("cost-to-caller",) if kind in (reasons.PREMIUM_RATE, reasons.SHARED_COST) else ()
        return Refusal("unknown", kind, f"{intl} is a {kind} number; never dialled", flags)
    return None


# ------------------------------------------------------------------------------ results


class ProbeResults(dict[str, Verdict]):
    """Verdicts by input number, plus ``calls``: every call placed, for the run summary."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[dict[str, Any]] = []


class _Resolves(Protocol):
    def addresses(self, host: str) -> tuple[list[str], DnsAnswer]: ...


@dataclass
class _Target:
    address: str | None = None
    port: int = 5060
    reason: str = ""
    message: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


async def _resolve_proxy(config: SipTrunkConfig, resolver: _Resolves | None, policy: AddressPolicy) -> _Target:
    host = config.host.strip().strip("[]")
    port = int(config.port or DEFAULT_PORTS[config.transport])
    evidence: dict[str, Any] = {"proxy_host": config.host, "port": port}
    if is_ip_literal(host):
        addresses = [host]
    else:
        if resolver is None:
            return _Target(None, port, reasons.SIP_PROXY_UNRESOLVED, f"no resolver to look up {host}", evidence)
        addresses, answer = await asyncio.to_thread(resolver.addresses, host)
        evidence["dns"] = answer.evidence()
        if not addresses:
            detail = answer.message or answer.status
            return _Target(None, port, reasons.SIP_PROXY_UNRESOLVED, f"the SIP proxy {host} has no address ({detail})", evidence)
    evidence["addresses"] = list(addresses)
    permitted = [a for a in addresses if policy.permits(a)]
    if not permitted:
        return _Target(None, port, reasons.SIP_PROXY_REFUSED, str(BlockedAddressError(host, addresses[0])), evidence)
    return _Target(permitted[0], port, "", "", evidence)


async def _place_call(config: SipTrunkConfig, address: str, port: int, spec: CallSpec) -> CallResult:
    """Open a transport to the proxy, place one call, close. Patched in unit tests."""
    transport = await open_transport(
        config.transport, address, port, ssl_context=config.tls_context,
        server_hostname=config.tls_server_name or config.host, connect_timeout=config.connect_timeout,
        local_host=config.local_host,
    )
    try:
        return await UserAgent(transport).call(spec)
    finally:
        transport.close()


def _call_spec(config: SipTrunkConfig, e164: str, password: Secret | None, answer_window: float | None) -> CallSpec:
    from_user = config.from_user or config.username or "anonymous"
    uri = config.request_uri(e164)
    return CallSpec(
        request_uri=uri,
        to_uri=uri,
        from_uri=f"sip:{from_user}@{host_for_uri(config.sip_domain)}",
        display_name=config.display_name,
        contact_user=from_user,
        auth_username=config.username,
        password=password,
        realm_hint=config.realm,
        answer_window=answer_window,
        ring_timeout=config.ring_timeout,
        user_agent=config.user_agent,
        timers=config.timers,
        send_sdp=config.send_sdp,
        linger=config.linger,
    )


def _message(intl: str, reason: str, result: CallResult) -> str:
    """``+36 1 234 5678: <reason message> [SIP 100 0.01 s, 180 0.42 s, CANCEL 0.42 s, 487 0.45 s]``."""
    steps: list[str] = []
    last_invite = 1
    cancel_t = result.cancel_sent_after
    for r in result.responses:
        if r.invite != last_invite:
            steps.append("INVITE with credentials")
            last_invite = r.invite
        if cancel_t is not None and r.invite == result.invites_sent and r.t > cancel_t:
            steps.append(f"CANCEL {cancel_t:.2f} s")
            cancel_t = None
        steps.append(f"{r.code} {r.t:.2f} s")
    if cancel_t is not None:
        steps.append(f"CANCEL {cancel_t:.2f} s")
    if result.timed_out:
        steps.append(f"no response in {result.duration:.1f} s")
    text = f"{intl}: {reasons.message(reason) or reason}"
    if steps:
        text += f" [SIP {', '.join(steps)}]"
    if result.auth_failed:
        text += f" ({result.auth_failed})"
    if result.transport_error:
        text += f" ({result.transport_error})"
    return text


def _refused(text: str, refusal: Refusal, started: float, evidence: dict[str, Any]) -> Verdict:
    check = Check(CHECK_NAME, refusal.verdict, refusal.reason, refusal.message, evidence, started, 0.0)
    return Verdict("phone", text, refusal.verdict, refusal.reason, refusal.message, (check,), refusal.flags)


_Planned = dict[str, list[tuple[str, dict[str, Any], phonenumbers.PhoneNumber]]]


def _plan(
    numbers: Iterable[tuple[str, Mapping[str, Any]]], config: SipTrunkConfig, window: str | None,
    results: ProbeResults,
) -> _Planned:
    """The numbers to dial, grouped by E.164; those never to be dialled get their verdict now."""
    planned: _Planned = {}
    for text, info in numbers:
        info = dict(info or {})
        region = normalize_country(info.get("country") or info.get("region"))
        parsed = _as_number(text, region)
        refusal = dial_refusal(parsed, text, region, config.refuse_types)
        if refusal is not None:
            results[text] = _refused(text, refusal, _time.time(), {"input": text, "window": window})
            log.info("sip-line %s: not dialled (%s)", text, refusal.reason)
            continue
        assert parsed is not None
        e164 = phonenumbers.format_number(parsed, PhoneNumberFormat.E164)
        planned.setdefault(e164, []).append((text, info, parsed))
    return planned


def _call_evidence(
    base: Mapping[str, Any], local: datetime, target: _Target, config: SipTrunkConfig, spec: CallSpec,
    result: CallResult,
) -> dict[str, Any]:
    """What a placed call records: the proxy, every response, the cancel, the timings, the transcript."""
    return {
        **base,
        "local_time": local.isoformat(),
        "proxy": f"{host_for_uri(target.address or '')}:{target.port}",
        "transport": config.transport,
        "request_uri": spec.request_uri,
        "responses": [r.to_dict() for r in result.responses],
        "final_code": result.final.code if result.final else None,
        "final_reason": result.final.reason if result.final else None,
        "time_to_answer": round(result.answered_after, 3) if result.answered_after is not None else None,
        "cancelled": result.cancel_reason is not None,
        "cancel_reason": result.cancel_reason,
        "cancel_status": result.cancel_status,
        "bye_status": result.bye_status,
        "auth": result.auth,
        "timed_out": result.timed_out,
        "transport_error": result.transport_error,
        "invites_sent": result.invites_sent,
        "retransmissions": result.retransmissions,
        "duration_s": round(result.duration, 3),
        "notes": list(result.notes),
        "transcript": result.transcript,
    }


async def probe_lines(
    numbers: Iterable[tuple[str, Mapping[str, Any]]],
    config: SipTrunkConfig,
    *,
    resolver: _Resolves | None,
    policy: AddressPolicy | None,
    window: str | None = None,
    answer_window: float | None = None,
    ledger: dict[str, Any] | None = None,
    now: datetime | None = None,
    limiter: HostLimiter | None = None,
) -> ProbeResults:
    """Probe each (number, info) pair; info may hold ``country`` and ``claims_24_7``.

    Returns verdicts keyed by the input text (check name ``sip-line``), with
    ``.calls`` listing every call placed. ``ledger`` (see :func:`new_ledger`) is
    read and updated in place; ``now`` fixes the clock used for windows and the
    ledger (default: the real time at each call).
    """
    policy = policy or AddressPolicy()
    win = _window(window, config.windows)
    results = ProbeResults()
    planned = _plan(numbers, config, window, results)
    if not planned:
        return results

    target = await _resolve_proxy(config, resolver, policy)
    if target.address is None:
        for entries in planned.values():
            for text, _info, _parsed in entries:
                refusal = Refusal("unknown", target.reason, target.message)
                results[text] = _refused(text, refusal, _time.time(), {"input": text, **target.evidence})
        log.warning("sip-line: no call placed: %s", target.message)
        return results

    prober = _Prober(
        config, target, config.load_password(),
        limiter or HostLimiter(concurrency=config.max_concurrent_calls, per_minute=config.calls_per_minute),
        window, win, answer_window, ledger, now, results,
    )
    await asyncio.gather(*(prober.guarded(e164, entries) for e164, entries in planned.items()))
    return results


@dataclass
class _Line:
    """One number to call; every input text that normalized to it shares the call and the verdict."""

    e164: str
    entries: list[tuple[str, dict[str, Any], phonenumbers.PhoneNumber]]
    intl: str
    claims_24_7: bool
    started: float
    base: dict[str, Any]


@dataclass
class _Prober:
    """What every call of one :func:`probe_lines` run shares: the trunk, the window, the ledger, the results."""

    config: SipTrunkConfig
    target: _Target
    password: Secret | None
    limiter: HostLimiter
    window: str | None
    win: ProbeWindow | None
    answer_window: float | None
    ledger: dict[str, Any] | None
    now: datetime | None
    results: ProbeResults

    async def guarded(self, e164: str, entries: list[tuple[str, dict[str, Any], phonenumbers.PhoneNumber]]) -> None:
        try:
            await self.probe(e164, entries)
        except Exception as exc:  # one broken call must not cost the others
            log.exception("sip-line %s: probe failed", e164)
            message = f"the line probe failed unexpectedly: {type(exc).__name__}"
            for text, _info, _parsed in entries:
                self.results[text] = _refused(
                    text, Refusal("unknown", reasons.SIP_ERROR, message), _time.time(), {"number": e164})

    async def probe(self, e164: str, entries: list[tuple[str, dict[str, Any], phonenumbers.PhoneNumber]]) -> None:
        parsed = entries[0][2]
        claims_24_7 = any(bool(info.get("claims_24_7")) for _, info, _ in entries)
        base: dict[str, Any] = {"number": e164, "window": self.window, "claims_24_7": claims_24_7}
        zone = number_zone(parsed)
        base["timezone"] = zone.key if zone else None
        line = _Line(e164, entries, phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL),
                     claims_24_7, _time.time(), base)
        due, why, local, _ = _due(parsed, self.win, _aware(self.now), self.ledger)
        if not due:
            self._not_due(line, why, local)
            return
        async with self.limiter.slot(LIMITER_KEY):
            # Time has passed while waiting for a slot: ask again.
            call_now = _aware(self.now)
            due, why, local, key = _due(parsed, self.win, call_now, self.ledger)
            if not due:
                self._not_due(line, why, local)
                return
            assert local is not None and key is not None
            entry: dict[str, Any] = {"at": call_now.astimezone(UTC).isoformat(), "local": local.isoformat(),
                                     "status": "in-progress"}
            if self.ledger is not None:
                _ledger_calls(self.ledger).setdefault(e164, {})[key] = entry  # before dialling: a crash never re-dials
            t0 = _time.perf_counter()
            spec = _call_spec(self.config, e164, self.password, self.answer_window)
            result = await self._call(spec, t0)
        self._record(line, local, entry, spec, result, t0)

    async def _call(self, spec: CallSpec, t0: float) -> CallResult:
        try:
            return await _place_call(self.config, self.target.address or "", self.target.port, spec)
        except (OSError, TimeoutError) as exc:
            result = CallResult(spec.request_uri, "", self.config.transport.upper())
            result.transport_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            result.duration = _time.perf_counter() - t0
            return result

    def _publish(self, line: _Line, verdict: Verdict) -> None:
        for text, _info, _parsed in line.entries:
            self.results[text] = Verdict(verdict.kind, text, verdict.verdict, verdict.reason, verdict.message,
                                         verdict.checks, verdict.flags)

    def _not_due(self, line: _Line, reason: str, local: datetime | None) -> None:
        previous = None
        if self.ledger is not None and reason == reasons.ALREADY_PROBED:
            key = ledger_key(self.win, local) if local else None
            previous = _ledger_calls(self.ledger).get(line.e164, {}).get(key or "")
        evidence = {**line.base, "local_time": local.isoformat() if local else None, "previous_call": previous}
        message = f"{line.intl}: {reasons.message(reason) or reason}"
        self._publish(line, _refused(line.e164, Refusal("unknown", reason, message), line.started, evidence))

    def _record(
        self, line: _Line, local: datetime, entry: dict[str, Any], spec: CallSpec, result: CallResult, t0: float
    ) -> None:
        """The verdict of a placed call, its ledger entry and its line in the run summary."""
        verdict_name, reason = classify_call(result)
        flags: list[str] = []
        message = _message(line.intl, reason, result)
        if line.claims_24_7 and reason not in LIVE_REASONS:
            flags.append(reasons.NOT_AVAILABLE_24_7)
            message += f"; {reasons.message(reasons.NOT_AVAILABLE_24_7)}"
        evidence = _call_evidence(line.base, local, self.target, self.config, spec, result)
        check = Check(CHECK_NAME, verdict_name, reason, message, evidence, line.started,
                      round((_time.perf_counter() - t0) * 1000, 3))
        self._publish(line, Verdict("phone", line.e164, verdict_name, reason, message, (check,), tuple(flags)))
        entry.update(status="done", verdict=verdict_name, reason=reason,
                     final=result.final.code if result.final else None)
        self.results.calls.append({
            "number": line.e164, "at": entry["at"], "local_time": local.isoformat(), "window": self.window,
            "verdict": verdict_name, "reason": reason, "final_code": entry["final"],
            "duration_s": round(result.duration, 3),
        })
        log.info("sip-line %s: %s/%s (final %s, %.1f s)", line.e164, verdict_name, reason, entry["final"],
                 result.duration)
