"""Transitions between waves: appeared, gone, verdict changed, site down and back, with both waves' evidence."""

from __future__ import annotations

from typing import Any

from auditor.waves.transitions import Transition, transitions


def _p(wave: int, value: str, verdict: str, reason: str, kind: str = "phone", key: str = "a") -> dict[str, Any]:
    return {"wave": wave, "company_key": key, "kind": kind, "value": value, "verdict": verdict, "reason": reason,
            "page_url": f"https://{key}.test/w{wave}"}


def _c(wave: int, status: str = "done", key: str = "a") -> dict[str, Any]:
    return {"wave": wave, "company_key": key, "name": key.upper(), "status": status}


def test_appeared_gone_and_changed_points_carry_both_waves_evidence() -> None:
    points = [_p(1, "+361", "active", "valid"), _p(1, "+362", "active", "valid"),
              _p(2, "+361", "inactive", "not-in-service"), _p(2, "x@a.test", "active", "smtp-ok", "email")]
    got = transitions(points, [_c(1), _c(2)])
    assert got == [
        Transition(1, 2, "a", "A", "appeared", "email", "x@a.test", None, "active", None, "smtp-ok",
                   None, "https://a.test/w2"),
        Transition(1, 2, "a", "A", "verdict-changed", "phone", "+361", "active", "inactive", "valid",
                   "not-in-service", "https://a.test/w1", "https://a.test/w2"),
        Transition(1, 2, "a", "A", "gone", "phone", "+362", "active", None, "valid", None, "https://a.test/w1", None),
    ]


def test_a_site_that_goes_down_is_one_transition_not_a_loss_of_every_point() -> None:
    points = [_p(1, "+361", "active", "valid"), _p(3, "+361", "active", "valid"), _p(3, "+363", "active", "v")]
    got = transitions(points, [_c(1), _c(2, "failed"), _c(3)])
    # Back up: compared with wave 1 (the last that answered), so only the new number is news.
    assert [(t.wave_from, t.wave_to, t.change, t.value) for t in got] == [
        (1, 2, "site-down", ""), (2, 3, "site-back", ""), (2, 3, "appeared", "+363")]


def test_unchanged_waves_and_companies_new_to_the_list_give_nothing() -> None:
    points = [_p(1, "+361", "active", "valid"), _p(2, "+361", "active", "valid"), _p(2, "+369", "active", "v", key="b")]
    assert transitions(points, [_c(1), _c(2), _c(2, key="b")]) == []
    assert transitions([], [_c(1)]) == []
