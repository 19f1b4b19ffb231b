"""Availability by hour of week and the panel figures: pure functions, fixed times and zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from auditor.waves.availability import (
    Hours,
    Observation,
    assign_wave,
    build_grids,
    channel_hours,
    company_zone,
    hours_of,
    line_observations,
    line_outcome,
    link_outcome,
    merge_chat,
    operator_outcome,
)
from auditor.waves.panel import CompanyInfo, Inquiry, company_figures, panel_figures

BUD = ZoneInfo("Europe/Budapest")
# Monday 2026-12-07 is a Monday.
MON = datetime(2026, 12, 7, tzinfo=BUD)


def at(day: int, hour: int, minute: int = 0, zone: ZoneInfo = BUD) -> datetime:
    return datetime(2026, 12, 7 + day, hour, minute, tzinfo=zone)


def office() -> Hours:
    hours = hours_of("Mo-Fr 09:00-17:00", {"spans": [{"days": ["Mo", "Tu", "We", "Th", "Fr"], "open": "09:00",
                                                      "close": "17:00"}], "always_open": False})
    assert hours is not None
    return hours


def always() -> Hours:
    hours = hours_of("24/7", {"always_open": True, "spans": [{"days": ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"],
                                                              "open": "00:00", "close": "24:00"}]})
    assert hours is not None
    return hours


@pytest.mark.parametrize(("verdict", "reason", "outcome"), [
    ("active", "rings", "up"), ("active", "session-progress", "up"), ("active", "answered", "up"),
    ("active", "busy", "up"), ("inactive", "number-not-in-service", "down"), ("inactive", "number-changed", "down"),
    ("unknown", "no-answer", "no-answer"), ("unknown", "sip-timeout", "unknown"), ("unknown", "network", "unknown"),
    ("unknown", "sip-auth-failed", "unknown"), (None, None, "unknown"),
])
def test_a_line_probe_call_reads_as_rings_not_in_service_or_no_answer(verdict: str | None, reason: str | None,
                                                                      outcome: str) -> None:
    assert line_outcome(verdict, reason) == outcome


def test_chat_operator_and_link_states_read_as_outcomes() -> None:
    assert [operator_outcome(s) for s in ("online", "offline", "unknown", None)] == \
        ["up", "no-answer", "unknown", "unknown"]
    assert [link_outcome(v) for v in ("active", "inactive", "unknown", None)] == ["up", "down", "unknown", "unknown"]


def test_published_hours_say_when_a_moment_is_inside_them() -> None:
    hours = office()
    assert hours.open_at(at(0, 9)) and hours.open_at(at(4, 16, 59))
    assert not hours.open_at(at(0, 8, 59)) and not hours.open_at(at(0, 17)) and not hours.open_at(at(5, 12))
    assert hours.open_hour(0, 9) and hours.open_hour(0, 16) and not hours.open_hour(0, 17)
    assert not hours.open_hour(6, 12)


def test_a_span_past_midnight_belongs_to_the_day_it_starts_and_runs_into_the_next() -> None:
    hours = hours_of("Fr 22:00-02:00", {"spans": [{"days": ["Fr"], "open": "22:00", "close": "02:00"}]})
    assert hours is not None
    assert hours.open_at(at(4, 23)) and hours.open_at(at(5, 1, 30))
    assert not hours.open_at(at(5, 2)) and not hours.open_at(at(4, 21)) and not hours.open_at(at(0, 1))
    assert hours.open_hour(5, 1) and not hours.open_hour(5, 2)


def test_a_span_without_days_applies_to_every_day_and_24_7_is_the_always_open_flag() -> None:
    bare = hours_of("09:00-12:00", {"spans": [{"days": [], "open": "09:00", "close": "12:00"}]})
    assert bare is not None and all(bare.open_hour(d, 10) for d in range(7)) and not bare.always
    claim = always()
    assert claim.always and claim.open_at(at(6, 3))
    assert hours_of("", {"spans": []}) is None


def test_a_channel_is_described_by_its_own_hours_before_the_companys() -> None:
    points = [("Mo-Fr 09:00-17:00", {"applies_to": None, "spans": [{"days": ["Mo"], "open": "09:00",
                                                                      "close": "17:00"}]}),
              ("24/7", {"applies_to": "+3615550123", "always_open": True, "spans": []})]
    own = channel_hours(points, "+3615550123")
    assert own is not None and own.always and own.text == "24/7"
    other = channel_hours(points, "+3615550999")
    assert other is not None and not other.always and other.text == "Mo-Fr 09:00-17:00"
    assert channel_hours([], "+3615550123") is None


def obs(when: datetime, outcome: str, *, kind: str = "phone", value: str = "+3615550123", key: str = "kovacs",
        source: str = "line-probe", wave: int | None = 1) -> Observation:
    return Observation(key, kind, value, when, outcome, source, wave=wave)  # type: ignore[arg-type]


def test_the_grid_puts_each_check_in_its_local_hour_of_week() -> None:
    found = [obs(at(0, 9, 5), "up"), obs(at(0, 9, 50), "no-answer"), obs(at(2, 20), "down"),
             obs(at(6, 3), "unknown")]
    (grid,) = build_grids(found, {}, {("kovacs", "phone", "+3615550123"): office()})
    assert grid.zone == "Europe/Budapest"
    assert grid.cells[(0, 9)] == {"up": 1, "down": 0, "no-answer": 1, "unknown": 0}
    assert grid.cell_state(0, 9) == "mixed" and grid.cell_state(2, 20) == "down"
    assert grid.cell_state(6, 3) == "unknown" and grid.cell_state(1, 9) == "none"
    assert grid.checks == 4 and grid.conclusive == 3
    # Wednesday 20:00 is outside Mo-Fr 09-17: checked there, never answered
    assert grid.outside["down"] == 1 and grid.reachable_outside_hours is False
    # the same hour seen from UTC lands an hour earlier
    (utc,) = build_grids([obs(at(0, 9, 5).astimezone(UTC), "up")], {}, {})
    assert list(utc.cells) == [(0, 8)]


def test_a_24_7_claim_holds_only_when_every_conclusive_check_answered() -> None:
    key = ("kovacs", "phone", "+3615550123")
    (held,) = build_grids([obs(at(0, 3), "up"), obs(at(5, 23), "up"), obs(at(6, 4), "unknown")], {}, {key: always()})
    assert (held.claims_24_7, held.claim, held.totals["up"], held.conclusive) == (True, "held", 2, 2)
    (failed,) = build_grids([obs(at(0, 3), "up"), obs(at(6, 4), "no-answer")], {}, {key: always()})
    assert failed.claim == "failed"
    (untested,) = build_grids([obs(at(0, 3), "unknown")], {}, {key: always()})
    assert untested.claim == "untested"
    (plain,) = build_grids([obs(at(0, 3), "up")], {}, {key: office()})
    assert plain.claim == "" and plain.reachable_outside_hours is True


def test_a_chat_whose_provider_tells_the_operator_state_is_read_by_it() -> None:
    chat = {"kind": "chat", "value": "chatwoot"}
    found = [obs(at(0, 10), "up", source="link", **chat), obs(at(0, 10), "no-answer", source="operator-status", **chat),
             obs(at(1, 10), "down", source="link", **chat), obs(at(0, 10), "up", source="link", value="tidio",
                                                                  kind="chat")]
    kept = merge_chat(found)
    assert [(o.value, o.source, o.outcome) for o in kept] == [
        ("chatwoot", "operator-status", "no-answer"), ("chatwoot", "link", "down"), ("tidio", "link", "up")]


def test_the_line_ledger_gives_every_finished_call_in_the_numbers_local_time() -> None:
    ledger = {"version": 1, "calls": {
        "+3615550123": {
            "any/2026-12-07": {"at": "2026-12-07T12:52:18+00:00", "local": "2026-12-07T13:52:18+01:00",
                               "status": "done", "verdict": "active", "reason": "rings"},
            "evening/2026-12-08": {"at": "2026-12-08T18:10:00+00:00", "local": "2026-12-08T19:10:00+01:00",
                                   "status": "done", "verdict": "unknown", "reason": "no-answer"},
            "weekend/2026-12-12": {"at": "2026-12-12T10:00:00+00:00", "local": "2026-12-12T11:00:00+01:00",
                                   "status": "in-progress"}},
        "+448000480789": {"any/2026-12-07": {"at": "2026-12-07T12:00:00+00:00",
                                             "local": "2026-12-07T12:00:00+00:00", "status": "done",
                                             "verdict": "active", "reason": "rings"}},
        "+15550000000": {"any/2026-12-07": {"at": "x", "local": "y", "status": "done"}},
    }}
    starts = [(1, datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp()),
              (2, datetime(2026, 12, 8, 12, tzinfo=UTC).timestamp())]
    found = line_observations(ledger, {"+3615550123": ["kovacs", "kovacs-2"], "+448000480789": ["northgate"]},
                              starts, {"northgate": ZoneInfo("Europe/London")})
    kovacs = [(o.company_key, o.cell, o.outcome, o.wave) for o in found if o.value == "+3615550123"]
    assert kovacs == [("kovacs", (0, 13), "up", 1), ("kovacs-2", (0, 13), "up", 1),
                      ("kovacs", (1, 19), "no-answer", 2), ("kovacs-2", (1, 19), "no-answer", 2)]
    (uk,) = [o for o in found if o.value == "+448000480789"]
    assert str(uk.at.tzinfo) == "Europe/London"  # not the first zone the plan names (Guernsey)
    assert line_observations({}, {}) == [] and line_observations({"calls": None}, {}) == []


def test_a_company_is_read_in_its_numbers_zone_else_its_countrys() -> None:
    assert company_zone("HU", ["+3615550123"]).key == "Europe/Budapest"
    assert company_zone("GB", ["+448000480789"]).key == "Europe/London"
    assert company_zone("DE", []).key == "Europe/Berlin"
    assert company_zone(None, ["not a number"]).key == "UTC"


def test_a_check_belongs_to_the_wave_running_when_it_was_made() -> None:
    starts = [(1, 100.0), (2, 200.0), (3, 300.0)]
    assert [assign_wave(t, starts) for t in (50.0, 100.0, 199.0, 200.0, 999.0)] == [1, 1, 1, 2, 3]
    assert assign_wave(5.0, []) is None


COMPANIES = {"a": CompanyInfo("Alfa <GmbH>", "banking", "DE"), "b": CompanyInfo("Beta", "retail", "DE"),
             "c": CompanyInfo("Cé", "banking", "HU")}


def figure(figures: list, wave: int | None, scope: str, group: str, metric: str) -> tuple[int, int, float | None]:
    (f,) = [f for f in figures if (f.wave, f.scope, f.group, f.metric) == (wave, scope, group, metric)]
    return f.numerator, f.denominator, f.value


def test_panel_figures_per_wave_industry_and_country_never_count_unknown() -> None:
    points = [
        {"wave": 1, "company_key": "a", "kind": "phone", "verdict": "inactive"},
        {"wave": 1, "company_key": "b", "kind": "phone", "verdict": "active"},
        {"wave": 1, "company_key": "c", "kind": "phone", "verdict": "unknown"},
        {"wave": 1, "company_key": "c", "kind": "phone", "verdict": None},  # not checked: not counted
        {"wave": 1, "company_key": "a", "kind": "email", "verdict": "inactive"},
        {"wave": 2, "company_key": "a", "kind": "phone", "verdict": "active"},
        {"wave": 3, "company_key": "a", "kind": "phone", "verdict": "inactive"},  # an interrupted wave
    ]
    chat = {"kind": "chat", "value": "chatwoot", "source": "operator-status"}
    found = [
        obs(at(0, 10), "no-answer", key="a", wave=1, **chat), obs(at(1, 10), "up", key="a", wave=1, **chat),
        obs(at(2, 10), "unknown", key="a", wave=1, **chat), obs(at(0, 10), "no-answer", key="a", wave=2, **chat),
        obs(at(0, 20), "up", key="b", value="+4930", wave=1),  # outside office hours, answered
        obs(at(0, 21), "no-answer", key="c", value="+3611", wave=1),  # outside, nobody
        obs(at(0, 3), "up", key="c", value="+3622", wave=1), obs(at(0, 4), "no-answer", key="c", value="+3622",
                                                                   wave=2),
    ]
    hours = {("b", "phone", "+4930"): office(), ("c", "phone", "+3611"): office(), ("c", "phone", "+3622"): always()}
    sent = datetime(2026, 12, 7, 13, tzinfo=UTC)
    inquiries = [Inquiry("a", sent, "human-reply", sent + timedelta(hours=2)),
                 Inquiry("b", sent, "human-reply", sent + timedelta(hours=6)),
                 Inquiry("c", sent, "no-reply"), Inquiry("c", sent, "pending")]
    waves = [(1, datetime(2026, 12, 7, 12, tzinfo=UTC).timestamp()), (2, datetime(2026, 12, 8, tzinfo=UTC).timestamp()),
             (3, datetime(2026, 12, 9, tzinfo=UTC).timestamp())]
    figures = panel_figures(waves, points, found, hours, COMPANIES, inquiries, finished=lambda n: n in (1, 2))
    assert figure(figures, 1, "panel", "", "numbers-inactive") == (1, 3, pytest.approx(1 / 3))
    assert figure(figures, 1, "industry", "banking", "numbers-inactive") == (1, 2, 0.5)
    assert figure(figures, 1, "country", "HU", "numbers-inactive") == (0, 1, 0.0)
    assert figure(figures, 2, "panel", "", "numbers-inactive") == (0, 1, 0.0)
    assert not [f for f in figures if f.wave == 3]
    assert figure(figures, 1, "panel", "", "chat-checks-no-operator") == (1, 2, 0.5)
    assert figure(figures, 2, "panel", "", "chat-checks-no-operator") == (1, 1, 1.0)
    assert figure(figures, 1, "panel", "", "lines-reachable-outside-hours") == (1, 2, 0.5)
    assert figure(figures, 1, "industry", "retail", "lines-reachable-outside-hours") == (1, 1, 1.0)
    assert figure(figures, 1, "panel", "", "claims-24-7-held") == (1, 1, 1.0)
    assert figure(figures, 2, "panel", "", "claims-24-7-held") == (0, 1, 0.0)
    assert figure(figures, 1, "panel", "", "email-replied") == (2, 3, pytest.approx(2 / 3))
    assert figure(figures, 1, "panel", "", "email-reply-hours") == (2, 2, 4.0)
    assert figure(figures, 1, "country", "DE", "email-reply-hours") == (2, 2, 4.0)
    assert figure(figures, None, "company", "Alfa <GmbH>", "chat-checks-no-operator") == (2, 3, pytest.approx(2 / 3))
    # panel first, then industries, then countries, wave by wave; companies last
    scopes = [f.scope for f in figures if f.wave == 1]
    assert scopes == sorted(scopes, key=("panel", "industry", "country").index)
    assert figures[-1].scope == "company"


def test_the_company_share_of_chat_checks_offline_counts_only_told_states() -> None:
    chat = {"kind": "chat", "value": "chatwoot", "source": "operator-status"}
    found = [obs(at(0, 10), "no-answer", key="a", **chat), obs(at(0, 11), "unknown", key="a", **chat),
             obs(at(0, 12), "up", key="a", **chat), obs(at(0, 12), "up", key="b", source="link", kind="chat",
                                                        value="tidio")]
    (only,) = company_figures(found, COMPANIES)
    assert (only.group, only.numerator, only.denominator) == ("Alfa <GmbH>", 1, 2)


def test_only_a_line_or_a_chat_can_hold_a_24_7_claim() -> None:
    found = [obs(at(0, 3), "up", kind="form", value="https://acme.example/send", source="link"),
             obs(at(0, 3), "up", kind="chat", value="tidio", source="link")]
    hours = {("kovacs", "form", "https://acme.example/send"): always(), ("kovacs", "chat", "tidio"): always()}
    form, chat = build_grids(found, {}, hours)
    assert (form.claims_24_7, form.claim) == (False, "")
    assert (chat.claims_24_7, chat.claim) == (True, "held")
