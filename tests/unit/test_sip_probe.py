"""The line probe: outcome table, windows, ledger, rate limit, never-dial rules, secrecy,
and the call flow against a scripted far end on loopback UDP."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from auditor import reasons
from auditor.models import Verdict
from auditor.net.guard import AddressPolicy
from auditor.net.resolver import DnsAnswer
from auditor.probes.sip import probe as probe_mod
from auditor.probes.sip.digest import parse_auth_params
from auditor.probes.sip.message import SipMessage, build_response, parse_message
from auditor.probes.sip.probe import (
    DEFAULT_WINDOWS,
    ProbeWindow,
    SipTrunkConfig,
    classify_call,
    dial_refusal,
    ledger_key,
    new_ledger,
    number_zone,
    probe_due,
    probe_lines,
)
from auditor.probes.sip.ua import CallResult, CallSpec, ResponseRecord
from auditor.validate.limits import HostLimiter
from tests.support.requirements import need_ipv6_loopback

HU = "+36 1 234 5678"  # Budapest fixed line, Europe/Budapest (UTC+1 in November)
RU_MOSCOW = "+7 495 123-45-67"  # Europe/Moscow (UTC+3)
RU_NOVOSIBIRSK = "+7 383 123 45 67"  # Asia/Novosibirsk (UTC+7)
TR = "+90 212 555 1234"  # Europe/Istanbul (UTC+3)
MONDAY_10_UTC = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


# ------------------------------------------------------------------------- helpers


def result(*codes: int, final: int | None = None, cancel: str | None = None, timed_out: bool = False,
           transport_error: str | None = None, auth_failed: str | None = None) -> CallResult:
    """A CallResult with provisional ``codes`` then ``final``."""
    r = CallResult("sip:+3612345678@trunk.example;user=phone", "cid", "UDP")
    for i, code in enumerate(codes):
        r.responses.append(ResponseRecord(code, "x", 0.1 * (i + 1)))
    if final is not None:
        r.final = ResponseRecord(final, "y", 1.0)
        r.responses.append(r.final)
        if 200 <= final < 300:
            r.answered_after = 1.0
    r.cancel_reason = cancel
    r.cancel_sent_after = 0.5 if cancel else None
    r.timed_out = timed_out
    r.transport_error = transport_error
    r.auth_failed = auth_failed
    return r


def config(**kwargs: Any) -> SipTrunkConfig:
    base: dict[str, Any] = {"host": "127.0.0.1", "port": 5060, "username": "probe", "t1": 0.05, "timer_b": 1.0,
                            "linger": 0.0, "calls_per_minute": 600, "max_concurrent_calls": 4}
    base.update(kwargs)
    return SipTrunkConfig(**base)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture
def no_dialling(monkeypatch: pytest.MonkeyPatch) -> list[CallSpec]:
    """Replace the network call by a recorder that fails the test if it is reached."""
    placed: list[CallSpec] = []

    async def forbidden(cfg: SipTrunkConfig, address: str, port: int, spec: CallSpec) -> CallResult:
        placed.append(spec)
        raise AssertionError(f"dialled {spec.request_uri}")

    monkeypatch.setattr(probe_mod, "_place_call", forbidden)
    return placed


@pytest.fixture
def canned(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Replace the network call by canned results keyed by E.164 (default: 180 then 487)."""
    state: dict[str, Any] = {"results": {}, "placed": []}

    async def fake(cfg: SipTrunkConfig, address: str, port: int, spec: CallSpec) -> CallResult:
        e164 = spec.request_uri.split(":", 1)[1].split("@", 1)[0]
        state["placed"].append((address, port, spec))
        factory = state["results"].get(e164)
        return factory() if factory else result(100, 180, final=487, cancel="ringing")

    monkeypatch.setattr(probe_mod, "_place_call", fake)
    return state


# --------------------------------------------------------------------- outcome table


@pytest.mark.parametrize(
    "call, expected",
    [
        (result(100, final=404), ("inactive", "number-not-in-service")),
        (result(final=604), ("inactive", "number-not-in-service")),
        (result(100, final=410), ("inactive", "number-changed")),
        (result(100, final=484), ("inactive", "address-incomplete")),
        (result(100, final=486), ("active", "busy")),
        (result(final=600), ("active", "busy")),
        (result(100, 180, final=487, cancel="ringing"), ("active", "rings")),
        (result(100, 183, final=487, cancel="session-progress"), ("active", "session-progress")),
        (result(100, 180, final=200), ("active", "answered")),
        (result(100, final=480), ("unknown", "no-answer")),
        (result(final=408), ("unknown", "no-answer")),
        (result(100, final=503), ("unknown", "network")),
        (result(100, final=500), ("unknown", "network")),
        (result(100, final=502), ("unknown", "network")),
        (result(timed_out=True), ("unknown", "sip-timeout")),
        (result(100, final=403), ("unknown", "sip-unexpected")),
        (result(100, final=603), ("unknown", "sip-unexpected")),
        (result(100, final=302), ("unknown", "sip-unexpected")),
        (result(final=487), ("unknown", "sip-unexpected")),  # nobody asked for a 487
        (result(100, final=487, cancel="ring-timeout"), ("unknown", "no-answer")),
        (result(100, cancel="ring-timeout"), ("unknown", "no-answer")),
        (result(final=407, auth_failed="credentials refused"), ("unknown", "sip-auth-failed")),
        (result(transport_error="ConnectionRefusedError"), ("unknown", "sip-transport-error")),
        # A carrier's announcement (183) before the truth (404): the 404 wins.
        (result(100, 183, final=404), ("inactive", "number-not-in-service")),
        # It rang, then nobody answered: the line exists.
        (result(100, 180, final=480), ("active", "rings")),
        (result(100, 180, final=486), ("active", "busy")),
    ],
)
def test_outcome_mapping(call: CallResult, expected: tuple[str, str]) -> None:
    assert classify_call(call) == expected


def test_every_reason_has_a_message() -> None:
    tags = {"number-not-in-service", "number-changed", "address-incomplete", "busy", "rings", "session-progress",
            "answered", "no-answer", "network", "sip-timeout", "sip-unexpected", "sip-auth-failed",
            "sip-transport-error", "sip-proxy-unresolved", "sip-proxy-refused", "sip-error", "not-available-24-7",
            "emergency-number", "short-number", "outside-window", "unknown-timezone", "already-probed",
            "premium-rate", "shared-cost", "invalid-number"}
    for tag in tags:
        assert reasons.message(tag), tag


# --------------------------------------------------------------------------- windows


class TestWindows:
    def test_zones(self) -> None:
        assert [z.key if z else None for z in map(number_zone, [HU, RU_MOSCOW, RU_NOVOSIBIRSK, TR])] == [
            "Europe/Budapest", "Europe/Moscow", "Asia/Novosibirsk", "Europe/Istanbul"
        ]
        assert number_zone("+800 1234 5678") is None
        assert number_zone("not a number") is None

    @pytest.mark.parametrize(
        "utc_hour, due",
        [
            # Monday 2 November 2026. Budapest = UTC+1, Moscow/Istanbul = UTC+3, Novosibirsk = UTC+7.
            (1, {HU: False, RU_MOSCOW: False, TR: False, RU_NOVOSIBIRSK: False}),  # NSK 08:00
            (2, {HU: False, RU_MOSCOW: False, TR: False, RU_NOVOSIBIRSK: True}),  # NSK 09:00
            (6, {HU: False, RU_MOSCOW: True, TR: True, RU_NOVOSIBIRSK: True}),  # MSK 09:00, NSK 13:00
            (8, {HU: True, RU_MOSCOW: True, TR: True, RU_NOVOSIBIRSK: True}),  # BUD 09:00
            (10, {HU: True, RU_MOSCOW: True, TR: True, RU_NOVOSIBIRSK: False}),  # NSK 17:00: closed
            (14, {HU: True, RU_MOSCOW: False, TR: False, RU_NOVOSIBIRSK: False}),  # MSK 17:00
            (16, {HU: False, RU_MOSCOW: False, TR: False, RU_NOVOSIBIRSK: False}),  # BUD 17:00
        ],
    )
    def test_business_hours_in_each_numbers_own_zone(self, utc_hour: int, due: dict[str, bool]) -> None:
        now = datetime(2026, 11, 2, utc_hour, 0, tzinfo=UTC)
        assert {n: probe_due(n, "business-hours", now) for n in due} == due

    def test_weekend_and_evening(self) -> None:
        saturday_noon_budapest = datetime(2026, 11, 7, 11, 0, tzinfo=UTC)
        assert probe_due(HU, "weekend", saturday_noon_budapest)
        assert not probe_due(HU, "business-hours", saturday_noon_budapest)
        # Friday 23:30 in Novosibirsk is Friday 16:30 UTC: not the weekend there yet... but
        # Saturday 10:30 in Novosibirsk is Saturday 03:30 UTC, when it is 04:30 in Budapest.
        early_saturday = datetime(2026, 11, 7, 3, 30, tzinfo=UTC)
        assert probe_due(RU_NOVOSIBIRSK, "weekend", early_saturday)
        assert not probe_due(HU, "weekend", early_saturday)
        evening_istanbul = datetime(2026, 11, 4, 16, 0, tzinfo=UTC)  # 19:00 Istanbul, 17:00 Budapest
        assert probe_due(TR, "evening", evening_istanbul)
        assert not probe_due(HU, "evening", evening_istanbul)

    def test_daylight_saving_is_the_zones_business(self) -> None:
        # 1 July: Budapest is UTC+2, so 07:30 UTC is 09:30 there; Istanbul stays UTC+3.
        summer = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
        assert probe_due(HU, "business-hours", summer)
        winter = datetime(2026, 1, 7, 7, 30, tzinfo=UTC)
        assert not probe_due(HU, "business-hours", winter)
        assert probe_due(TR, "business-hours", winter)

    def test_naive_now_is_utc_and_aware_offsets_work(self) -> None:
        assert probe_due(HU, "business-hours", datetime(2026, 11, 2, 8, 30))
        plus5 = timezone(timedelta(hours=5))
        assert probe_due(HU, "business-hours", datetime(2026, 11, 2, 13, 30, tzinfo=plus5))  # 08:30 UTC

    def test_no_window_is_always_due_and_unknown_zone_never_in_a_window(self) -> None:
        assert probe_due(HU, None, datetime(2026, 11, 8, 3, 0, tzinfo=UTC))
        assert probe_due("+800 1234 5678", None, MONDAY_10_UTC)
        assert not probe_due("+800 1234 5678", "business-hours", MONDAY_10_UTC)

    def test_unknown_window_name(self) -> None:
        with pytest.raises(ValueError, match="unknown probe window"):
            probe_due(HU, "lunch", MONDAY_10_UTC)

    def test_window_past_midnight_belongs_to_its_start_day(self) -> None:
        night = ProbeWindow("night", frozenset({4}), time(22), time(2))  # Friday 22:00 - Saturday 02:00
        friday_late = datetime(2026, 11, 6, 23, 0)
        saturday_early = datetime(2026, 11, 7, 1, 0)
        saturday_late = datetime(2026, 11, 7, 23, 0)
        assert night.occurrence(friday_late) == night.occurrence(saturday_early) == friday_late.date()
        assert night.occurrence(saturday_late) is None
        assert not night.contains(datetime(2026, 11, 7, 3, 0))
        assert probe_due(HU, night, datetime(2026, 11, 7, 0, 30, tzinfo=UTC))  # 01:30 Budapest, Saturday

    def test_ledger_allows_one_call_per_window_occurrence(self) -> None:
        ledger = new_ledger()
        assert probe_due(HU, "business-hours", MONDAY_10_UTC, ledger=ledger)
        local = MONDAY_10_UTC.astimezone(number_zone(HU))
        key = ledger_key(DEFAULT_WINDOWS["business-hours"], local)
        assert key == "business-hours/2026-11-02"
        ledger["calls"]["+3612345678"] = {key: {"status": "done"}}
        assert not probe_due(HU, "business-hours", MONDAY_10_UTC + timedelta(hours=3), ledger=ledger)
        assert probe_due(HU, "business-hours", MONDAY_10_UTC + timedelta(days=1), ledger=ledger)
        assert probe_due(HU, "evening", MONDAY_10_UTC + timedelta(hours=8), ledger=ledger)
        assert json.loads(json.dumps(ledger)) == ledger


# -------------------------------------------------------------------- never dialled


@pytest.mark.parametrize(
    "text, country, reason",
    [
        ("112", "HU", "emergency-number"),
        ("+36 112", None, "emergency-number"),
        ("911", "US", "emergency-number"),
        ("999", "GB", "emergency-number"),
        ("110", "DE", "emergency-number"),
        ("1820", "HU", "short-number"),
        ("+36 90 123 456", None, "premium-rate"),
        ("+49 900 1234567", None, "premium-rate"),
        ("+33 8 21 61 00 00", None, "shared-cost"),
        ("+49 180 1234567", None, "shared-cost"),
        ("+36 1 23", None, "invalid-number"),
        ("hello", None, "invalid-number"),
    ],
)
def test_never_dialled(text: str, country: str | None, reason: str, no_dialling: list[CallSpec]) -> None:
    found = run(probe_lines([(text, {"country": country})], config(), resolver=None,
                            policy=AddressPolicy(allow_private=True), now=MONDAY_10_UTC))
    verdict = found[text]
    assert verdict.reason == reason
    assert verdict.verdict == ("inactive" if reason == "invalid-number" else "unknown")
    assert verdict.checks[0].name == "sip-line"
    assert no_dialling == [] and found.calls == []
    if reason in ("premium-rate", "shared-cost"):
        assert "cost-to-caller" in verdict.flags


def test_budapest_numbers_starting_112_are_not_emergency() -> None:
    import phonenumbers

    number = phonenumbers.parse("+36 1 123 4567")
    assert dial_refusal(number, "+36 1 123 4567") is None


# ------------------------------------------------------------------ probe_lines flow


class TestProbeLines:
    def test_outcomes_evidence_and_summary(self, canned: dict[str, Any]) -> None:
        canned["results"]["+3612345678"] = lambda: result(100, 180, final=487, cancel="ringing")
        canned["results"]["+74951234567"] = lambda: result(100, final=404)
        canned["results"]["+902125551234"] = lambda: result(100, 180, final=200)
        numbers = [(HU, {}), (RU_MOSCOW, {}), (TR, {"country": "TR"})]
        found = run(probe_lines(numbers, config(), resolver=None, policy=AddressPolicy(allow_private=True),
                                window="business-hours", now=MONDAY_10_UTC))
        assert {k: (v.verdict, v.reason) for k, v in found.items()} == {
            HU: ("active", "rings"), RU_MOSCOW: ("inactive", "number-not-in-service"), TR: ("active", "answered"),
        }
        check = found[TR].checks[0]
        ev = check.evidence
        assert check.name == "sip-line" and ev["final_code"] == 200 and ev["time_to_answer"] == 1.0
        assert ev["window"] == "business-hours" and ev["timezone"] == "Europe/Istanbul"
        assert ev["local_time"].startswith("2026-11-02T13:00:00+03:00")
        assert ev["responses"][0] == {"code": 100, "reason": "x", "t": 0.1, "invite": 1}
        assert ev["request_uri"] == "sip:+902125551234@127.0.0.1;user=phone"
        assert sorted(c["number"] for c in found.calls) == ["+3612345678", "+74951234567", "+902125551234"]
        assert all({"at", "verdict", "reason", "final_code", "window"} <= set(c) for c in found.calls)
        json.dumps([v.to_dict() for v in found.values()])
        json.dumps(found.calls)
        assert Verdict.from_dict(found[HU].to_dict()) == found[HU]

    def test_same_number_twice_is_called_once(self, canned: dict[str, Any]) -> None:
        found = run(probe_lines([(HU, {}), ("06 1 234 5678", {"country": "HU"})], config(), resolver=None,
                                policy=AddressPolicy(allow_private=True), now=MONDAY_10_UTC))
        assert len(canned["placed"]) == 1
        assert found[HU].reason == found["06 1 234 5678"].reason == "rings"
        assert found["06 1 234 5678"].value == "06 1 234 5678"

    def test_outside_window_and_ledger(self, canned: dict[str, Any]) -> None:
        ledger = new_ledger()
        cfg = config()
        numbers = [(HU, {}), (RU_NOVOSIBIRSK, {})]  # 11:00 in Budapest, 17:00 in Novosibirsk
        first = run(probe_lines(numbers, cfg, resolver=None, policy=AddressPolicy(allow_private=True),
                                window="business-hours", ledger=ledger, now=MONDAY_10_UTC))
        assert first[HU].reason == "rings"
        assert (first[RU_NOVOSIBIRSK].verdict, first[RU_NOVOSIBIRSK].reason) == ("unknown", "outside-window")
        entry = ledger["calls"]["+3612345678"]["business-hours/2026-11-02"]
        assert entry["status"] == "done" and entry["reason"] == "rings"
        saved = json.loads(json.dumps(ledger))  # the caller persists it as JSON
        second = run(probe_lines(numbers[:1], cfg, resolver=None, policy=AddressPolicy(allow_private=True),
                                 window="business-hours", ledger=saved, now=MONDAY_10_UTC + timedelta(hours=2)))
        assert second[HU].reason == "already-probed"
        assert second[HU].checks[0].evidence["previous_call"]["reason"] == "rings"
        assert len(canned["placed"]) == 1 and second.calls == []

    def test_claims_24_7_flag(self, canned: dict[str, Any]) -> None:
        canned["results"]["+74951234567"] = lambda: result(100, final=480)
        canned["results"]["+902125551234"] = lambda: result(100, final=486)
        numbers = [(HU, {"claims_24_7": True}), (RU_MOSCOW, {"claims_24_7": True}), (TR, {"claims_24_7": True})]
        found = run(probe_lines(numbers, config(), resolver=None, policy=AddressPolicy(allow_private=True),
                                window="evening", now=datetime(2026, 11, 2, 17, 30, tzinfo=UTC)))
        assert "not-available-24-7" not in found[HU].flags  # rang at 18:30 in Budapest (20:30 in Moscow and Istanbul)
        moscow = found[RU_MOSCOW]
        assert "not-available-24-7" in moscow.flags and "24/7" in moscow.message
        assert "not-available-24-7" in found[TR].flags  # busy is not available either
        assert moscow.checks[0].evidence["claims_24_7"] is True

    def test_rate_limit_spaces_calls(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = {"t": 0.0}
        sleeps: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            sleeps.append(seconds)
            clock["t"] += seconds

        limiter = HostLimiter(concurrency=1, per_minute=2, clock=lambda: clock["t"], sleep=fake_sleep)
        starts: list[float] = []

        async def timed(cfg: SipTrunkConfig, address: str, port: int, spec: CallSpec) -> CallResult:
            starts.append(clock["t"])
            return result(100, 180, final=487, cancel="ringing")

        monkeypatch.setattr(probe_mod, "_place_call", timed)
        numbers = [(HU, {}), (RU_MOSCOW, {}), (TR, {}), ("+36 1 999 9999", {})]
        found = run(probe_lines(numbers, config(), resolver=None, policy=AddressPolicy(allow_private=True),
                                now=MONDAY_10_UTC, limiter=limiter))
        # Two calls per minute: two at once, then a wait of a minute for the next two.
        assert sorted(starts) == [0.0, 0.0, 60.0, 60.0]
        assert sleeps == [60.0]
        assert len(found.calls) == 4 and limiter.max_active["sip-trunk"] == 1

    def test_default_limiter_from_config(self, canned: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        made: list[tuple[int, float]] = []
        real = probe_mod.HostLimiter

        def spy(concurrency: int = 1, per_minute: float = 60.0, **kw: Any) -> HostLimiter:
            made.append((concurrency, per_minute))
            return real(concurrency=concurrency, per_minute=per_minute, **kw)

        monkeypatch.setattr(probe_mod, "HostLimiter", spy)
        run(probe_lines([(HU, {})], config(calls_per_minute=3, max_concurrent_calls=2), resolver=None,
                        policy=AddressPolicy(allow_private=True), now=MONDAY_10_UTC))
        assert made == [(2, 3)]

    def test_private_proxy_is_refused_without_permission(self, no_dialling: list[CallSpec]) -> None:
        found = run(probe_lines([(HU, {})], config(), resolver=None, policy=AddressPolicy(), now=MONDAY_10_UTC))
        assert (found[HU].verdict, found[HU].reason) == ("unknown", "sip-proxy-refused")
        assert "127.0.0.1" in found[HU].message and no_dialling == []

    def test_proxy_name_goes_through_the_resolver(self, canned: dict[str, Any]) -> None:
        class Resolver:
            def __init__(self, addresses: list[str]) -> None:
                self.asked: list[str] = []
                self.found = addresses

            def addresses(self, host: str) -> tuple[list[str], DnsAnswer]:
                self.asked.append(host)
                status = "ok" if self.found else "nxdomain"
                return list(self.found), DnsAnswer(host, "A", status, tuple(self.found), message="")

        cfg = config(host="sip.trunk.example", port=5070)
        good = Resolver(["127.0.0.1"])
        found = run(probe_lines([(HU, {})], cfg, resolver=good, policy=AddressPolicy(allow_private=True),
                                now=MONDAY_10_UTC))
        assert good.asked == ["sip.trunk.example"] and found[HU].reason == "rings"
        address, port, spec = canned["placed"][0]
        assert (address, port) == ("127.0.0.1", 5070)
        assert spec.request_uri == "sip:+3612345678@sip.trunk.example:5070;user=phone"
        private = run(probe_lines([(HU, {})], cfg, resolver=Resolver(["10.1.2.3"]), policy=AddressPolicy(),
                                  now=MONDAY_10_UTC))
        assert private[HU].reason == "sip-proxy-refused"
        missing = run(probe_lines([(HU, {})], cfg, resolver=Resolver([]), policy=AddressPolicy(),
                                  now=MONDAY_10_UTC))
        assert missing[HU].reason == "sip-proxy-unresolved"
        assert len(canned["placed"]) == 1

    def test_a_crashing_call_costs_one_verdict(self, monkeypatch: pytest.MonkeyPatch) -> None:
        async def broken(cfg: SipTrunkConfig, address: str, port: int, spec: CallSpec) -> CallResult:
            if "3612345678" in spec.request_uri:
                raise RuntimeError("bug")
            return result(100, final=486)

        monkeypatch.setattr(probe_mod, "_place_call", broken)
        found = run(probe_lines([(HU, {}), (TR, {})], config(), resolver=None,
                                policy=AddressPolicy(allow_private=True), now=MONDAY_10_UTC))
        assert found[HU].reason == "sip-error" and found[TR].reason == "busy"


# ---------------------------------------------------------------------------- config


class TestConfig:
    def test_defaults_and_validation(self) -> None:
        assert SipTrunkConfig(host="trunk.example").port == 5060
        assert SipTrunkConfig(host="trunk.example", transport="TLS").port == 5061
        assert SipTrunkConfig(host="trunk.example", transport="tls").transport == "tls"
        with pytest.raises(ValueError):
            SipTrunkConfig(host="trunk.example", transport="sctp")
        with pytest.raises(ValueError):
            SipTrunkConfig(host="trunk.example", port=70000)
        with pytest.raises(ValueError):
            SipTrunkConfig(host=" ")

    def test_request_uri(self) -> None:
        assert SipTrunkConfig(host="trunk.example").request_uri("+3612345678") == "sip:+3612345678@trunk.example;user=phone"
        assert SipTrunkConfig(host="::1", port=5070).request_uri("+1") == "sip:+1@[::1]:5070;user=phone"
        cfg = SipTrunkConfig(host="10.0.0.1", port=5070, domain="voip.example")
        assert cfg.request_uri("+1") == "sip:+1@voip.example;user=phone"

    def test_password_from_env_and_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("MY_TRUNK_PW", "from-env")
        assert SipTrunkConfig(host="h", password_env="MY_TRUNK_PW").load_password().reveal() == "from-env"  # type: ignore[union-attr]
        monkeypatch.delenv("MY_TRUNK_PW")
        assert SipTrunkConfig(host="h", password_env="MY_TRUNK_PW").load_password() is None
        secret = tmp_path / "pw"
        secret.write_text("from-file\n")
        cfg = SipTrunkConfig(host="h", password_file=str(secret))
        assert cfg.load_password().reveal() == "from-file"  # type: ignore[union-attr]
        with pytest.raises(ValueError, match="cannot read"):
            SipTrunkConfig(host="h", password_file=str(tmp_path / "missing")).load_password()

    def test_repr_never_shows_the_password(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AUDITOR_SIP_PASSWORD", "Zq8-repr-secret")
        cfg = SipTrunkConfig(host="trunk.example", username="probe")
        password = cfg.load_password()
        for text in (repr(cfg), str(cfg), f"{cfg}", repr(password), repr(probe_mod._call_spec(cfg, "+1", password, None))):
            assert "Zq8-repr-secret" not in text
        assert "password=***" in repr(cfg) and "AUDITOR_SIP_PASSWORD" in repr(cfg)


# ------------------------------------------------- the real stack against a scripted far end


Script = Callable[[SipMessage, "FarEnd"], list[SipMessage]]


class FarEnd(asyncio.DatagramProtocol):
    """A scripted UAS on loopback UDP: every request goes to ``script``, its answers go back."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.received: list[SipMessage] = []
        self.invites: list[SipMessage] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: tuple[str, int] | None = None
        self.extra: list[SipMessage] = []  # responses to our own requests

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.peer = addr
        msg = parse_message(data)
        if not isinstance(msg, SipMessage):
            return
        if msg.is_response:
            self.extra.append(msg)
            return
        self.received.append(msg)
        if msg.method == "INVITE":
            self.invites.append(msg)
        for answer in self.script(msg, self):
            self.send(answer)

    def send(self, msg: SipMessage | bytes) -> None:
        assert self.transport is not None and self.peer is not None
        self.transport.sendto(msg if isinstance(msg, bytes) else msg.to_bytes(), self.peer)

    def methods(self) -> list[str]:
        return [m.method or "" for m in self.received]


async def with_far_end(script: Script, body: Callable[[int], Awaitable[Any]]) -> tuple[Any, FarEnd]:
    loop = asyncio.get_running_loop()
    far = FarEnd(script)
    transport, _ = await loop.create_datagram_endpoint(lambda: far, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        return await body(port), far
    finally:
        transport.close()


def ringing_script(challenge: str | None = None, code: int = 180) -> Script:
    """100/180 (after an optional 407 challenge); CANCEL -> 200 + 487."""

    def script(msg: SipMessage, far: FarEnd) -> list[SipMessage]:
        if msg.method == "INVITE":
            if challenge and msg.header("Proxy-Authorization") is None:
                return [build_response(msg, 407, "Proxy Authentication Required", to_tag="c1",
                                       extra=[("Proxy-Authenticate", challenge)])]
            return [build_response(msg, 100, "Trying"), build_response(msg, code, "Ringing", to_tag="r1")]
        if msg.method == "CANCEL":
            invite = far.invites[-1]
            return [build_response(msg, 200, "OK", to_tag="r1"), build_response(invite, 487, "Request Terminated",
                                                                                 to_tag="r1")]
        if msg.method == "BYE":
            return [build_response(msg, 200, "OK")]
        return []

    return script


def probe_one(port: int, cfg_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> Awaitable[Any]:
    cfg = config(port=port, **(cfg_kwargs or {}))
    return probe_lines([(HU, {})], cfg, resolver=None, policy=AddressPolicy(allow_private=True),
                       now=MONDAY_10_UTC, **kwargs)


class TestCallFlow:
    def test_password_never_leaks(self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
        password = "Pw-7c1e-do-not-leak"
        monkeypatch.setenv("AUDITOR_SIP_PASSWORD", password)
        caplog.set_level(logging.DEBUG)
        ledger = new_ledger()
        challenge = 'Digest realm="trunk.example", nonce="n0nce-1", qop="auth", algorithm=MD5'
        found, far = run(with_far_end(ringing_script(challenge), lambda port: probe_one(port, ledger=ledger)))
        verdict = found[HU]
        assert (verdict.verdict, verdict.reason) == ("active", "rings")
        assert far.methods() == ["INVITE", "ACK", "INVITE", "CANCEL", "ACK"]
        auth = far.invites[1].header("Proxy-Authorization")
        assert auth is not None
        response_value = parse_auth_params(auth.removeprefix("Digest "))["response"]
        evidence = verdict.checks[0].evidence
        assert evidence["auth"]["header"] == "Proxy-Authorization" and evidence["auth"]["realm"] == "trunk.example"
        sent = [e for e in evidence["transcript"] if e["dir"] == "out" and "Proxy-Authorization" in e["headers"]]
        assert sent and all(e["headers"]["Proxy-Authorization"] == "<redacted>" for e in sent)
        everything = "\n".join([
            json.dumps([v.to_dict() for v in found.values()]), json.dumps(found.calls), json.dumps(ledger),
            caplog.text, repr(verdict), repr(config()),
        ])
        assert password not in everything
        assert response_value not in everything
        assert "n0nce-1" in everything  # the challenge itself is kept: it is not a secret

    def test_answer_is_acked_and_hung_up_at_once(self) -> None:
        def script(msg: SipMessage, far: FarEnd) -> list[SipMessage]:
            if msg.method == "INVITE":
                ok = build_response(msg, 200, "OK", to_tag="a1", extra=[
                    ("Contact", f"<sip:far@127.0.0.1:{far.transport.get_extra_info('sockname')[1]}>"),  # type: ignore[union-attr]
                    ("Record-Route", "<sip:rr1.example;lr>, <sip:rr2.example;lr>"),
                ])
                return [build_response(msg, 180, "Ringing", to_tag="a1"), ok, ok]  # and a retransmission
            if msg.method == "BYE":
                return [build_response(msg, 200, "OK")]
            return []

        found, far = run(with_far_end(script, lambda port: probe_one(port)))  # default mode: 200 races the CANCEL
        verdict = found[HU]
        assert (verdict.verdict, verdict.reason) == ("active", "answered")
        assert far.methods().count("BYE") == 1 and "ACK" in far.methods()
        ack = next(m for m in far.received if m.method == "ACK")
        bye = next(m for m in far.received if m.method == "BYE")
        assert ack.uri and ack.uri.startswith("sip:far@127.0.0.1") and ack.cseq == (1, "ACK")
        assert bye.header_lines("Route") == ["<sip:rr2.example;lr>", "<sip:rr1.example;lr>"]
        assert bye.to_addr is not None and bye.to_addr.tag == "a1" and bye.cseq == (2, "BYE")
        evidence = verdict.checks[0].evidence
        assert evidence["final_code"] == 200 and evidence["time_to_answer"] is not None
        assert evidence["bye_status"] == 200

    def test_answer_window_passes_then_cancel(self) -> None:
        found, far = run(with_far_end(ringing_script(), lambda port: probe_one(port, answer_window=0.3)))
        verdict = found[HU]
        assert (verdict.verdict, verdict.reason) == ("active", "rings")
        evidence = verdict.checks[0].evidence
        assert evidence["cancel_reason"] == "answer-window" and evidence["cancel_status"] == 200
        cancel = next(e for e in evidence["transcript"] if e["line"].startswith("CANCEL"))
        assert cancel["t"] >= 0.29

    def test_refused_credentials(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AUDITOR_SIP_PASSWORD", "wrong")

        def script(msg: SipMessage, far: FarEnd) -> list[SipMessage]:
            if msg.method == "INVITE":
                return [build_response(msg, 401, "Unauthorized", to_tag="u1",
                                       extra=[("WWW-Authenticate", 'Digest realm="r", nonce="n"')])]
            return []

        found, far = run(with_far_end(script, lambda port: probe_one(port)))
        assert (found[HU].verdict, found[HU].reason) == ("unknown", "sip-auth-failed")
        assert far.methods() == ["INVITE", "ACK", "INVITE", "ACK"]
        assert far.invites[1].header("Authorization") is not None
        assert far.invites[1].cseq == (2, "INVITE") and far.invites[1].call_id == far.invites[0].call_id

    def test_challenge_without_password_places_no_second_invite(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("AUDITOR_SIP_PASSWORD", raising=False)
        challenge = 'Digest realm="r", nonce="n"'
        found, far = run(with_far_end(ringing_script(challenge), lambda port: probe_one(port)))
        assert found[HU].reason == "sip-auth-failed" and "no username/password" in found[HU].message
        assert far.methods() == ["INVITE", "ACK"]

    def test_realm_hint_filters_challenges(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AUDITOR_SIP_PASSWORD", "pw")
        challenge = 'Digest realm="elsewhere", nonce="n"'
        found, far = run(with_far_end(ringing_script(challenge),
                                      lambda port: probe_one(port, {"realm": "trunk.example"})))
        assert found[HU].reason == "sip-auth-failed" and "trunk.example" in found[HU].message
        assert far.methods() == ["INVITE", "ACK"]

    def test_announcement_then_404_and_garbage_and_a_ping(self) -> None:
        def script(msg: SipMessage, far: FarEnd) -> list[SipMessage]:
            if msg.method == "INVITE":
                far.send(b"\x00\x01 not sip at all")
                ping = SipMessage.request("OPTIONS", "sip:probe@127.0.0.1", [
                    ("Via", "SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKping"), ("From", "<sip:far@x>;tag=p"),
                    ("To", "<sip:probe@x>"), ("Call-ID", "ping-1"), ("CSeq", "1 OPTIONS"),
                ])
                far.send(ping)
                return [build_response(msg, 183, "Session Progress", to_tag="s1"),
                        build_response(msg, 404, "Not Found", to_tag="s1")]
            return []

        # answer_window keeps the call open past the 183 so the 404 decides.
        found, far = run(with_far_end(script, lambda port: probe_one(port, answer_window=2.0)))
        verdict = found[HU]
        assert (verdict.verdict, verdict.reason) == ("inactive", "number-not-in-service")
        transcript = verdict.checks[0].evidence["transcript"]
        assert any(e["line"] == "(unparseable)" for e in transcript)
        assert [m.status for m in far.extra] == [481]  # the OPTIONS of another Call-ID

    def test_nothing_listening_is_a_transport_error(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        found = run(probe_one(port))  # the port is closed again: ICMP port unreachable
        assert (found[HU].verdict, found[HU].reason) == ("unknown", "sip-transport-error")

    def test_timer_b_with_retransmissions(self) -> None:
        found, far = run(with_far_end(lambda msg, far: [], lambda port: probe_one(port, {"timer_b": 0.4})))
        verdict = found[HU]
        assert (verdict.verdict, verdict.reason) == ("unknown", "sip-timeout")
        assert far.methods() == ["INVITE"] * 4  # 0, 0.05, 0.15, 0.35
        assert verdict.checks[0].evidence["retransmissions"] == 3


# ----------------------------------------------------------- TLS and IPv6 transports


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A throwaway certificate for ``name`` (and 127.0.0.1), as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


async def _stream_far_end(script: Script, server_ssl: Any, body: Callable[[int], Awaitable[Any]]) -> tuple[Any, list[str]]:
    """A scripted UAS over TCP or TLS; returns (body's result, methods received)."""
    from auditor.probes.sip.message import StreamFramer

    seen: list[str] = []
    far = FarEnd(script)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = StreamFramer()
        while data := await reader.read(65536):
            for msg in framer.feed(data):
                if isinstance(msg, SipMessage) and msg.is_request:
                    seen.append(msg.method or "")
                    if msg.method == "INVITE":
                        far.invites.append(msg)
                    for answer in script(msg, far):
                        writer.write(answer.to_bytes())
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ssl)
    port = server.sockets[0].getsockname()[1]
    try:
        return await body(port), seen
    finally:
        server.close()


def test_tls_transport_verifies_the_trunk(tmp_path: Path) -> None:
    import ssl

    cert, key = _self_signed(tmp_path, "sip.trunk.test")
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(cert, key)
    client_ssl = ssl.create_default_context(cafile=str(cert))

    def body(port: int) -> Awaitable[Any]:
        return probe_one(port, {"transport": "tls", "tls_context": client_ssl, "tls_server_name": "sip.trunk.test"})

    found, seen = run(_stream_far_end(ringing_script(), server_ssl, body))
    assert (found[HU].verdict, found[HU].reason) == ("active", "rings")
    assert seen == ["INVITE", "CANCEL", "ACK"]
    assert found[HU].checks[0].evidence["transcript"][0]["headers"]["Via"].startswith("SIP/2.0/TLS 127.0.0.1:")

    # Without trusting that certificate the handshake fails and nothing is dialled.
    def untrusting(port: int) -> Awaitable[Any]:
        return probe_one(port, {"transport": "tls", "tls_context": ssl.create_default_context(),
                                "tls_server_name": "sip.trunk.test"})

    found, seen = run(_stream_far_end(ringing_script(), server_ssl, untrusting))
    assert found[HU].reason == "sip-transport-error" and "TLS" in found[HU].message and seen == []


def test_ipv6_loopback() -> None:
    need_ipv6_loopback()

    async def go() -> tuple[Any, FarEnd]:
        loop = asyncio.get_running_loop()
        far = FarEnd(ringing_script())
        transport, _ = await loop.create_datagram_endpoint(lambda: far, local_addr=("::1", 0))
        port = transport.get_extra_info("sockname")[1]
        try:
            cfg = config(host="::1", port=port)
            found = await probe_lines([(HU, {})], cfg, resolver=None, policy=AddressPolicy(allow_private=True),
                                      now=MONDAY_10_UTC)
            return found, far
        finally:
            transport.close()

    found, far = run(go())
    assert found[HU].reason == "rings" and far.methods() == ["INVITE", "CANCEL", "ACK"]
    invite = far.invites[0]
    assert invite.uri == f"sip:+3612345678@[::1]:{far.transport.get_extra_info('sockname')[1]};user=phone"  # type: ignore[union-attr]
    assert invite.top_via is not None and invite.top_via.host == "::1"
    assert b"IN IP6 ::1" in invite.body
