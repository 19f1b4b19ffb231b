"""A check against a baseline: what got worse, from the same transition rules the waves use (pure)."""

from __future__ import annotations

from auditor import reasons
from auditor.alerts.baseline import Baseline, compare, new_failures, parse_ref, rule_alerts
from auditor.waves.availability import ChannelGrid, Hours, Observation, build_grids


def point(kind: str, value: str, verdict: str | None, reason: str | None = None) -> dict[str, object]:
    return {"company_key": "7:https://alfa.example/", "kind": kind, "value": value, "verdict": verdict,
            "reason": reason, "page_url": "https://alfa.example/kontakt"}


BASE = Baseline("base", {"company_key": "7:https://alfa.example/", "name": "Alfa", "status": "done"}, [
    point("phone", "+4930100", "active", "rings"),
    point("phone", "+4930101", "active", "rings"),
    point("email", "info@alfa.example", "active", "mailbox-exists"),
    point("chat", "crisp", "inactive", "dead-provider"),
])


def test_what_got_worse_is_a_new_failure_and_what_got_better_is_not() -> None:
    now = [point("phone", "+4930100", "inactive", "number-not-in-service"),  # died
           # +4930101 went
           point("email", "info@alfa.example", "unknown", "greylisted"),  # unknown is not a failure
           point("chat", "crisp", "active", "widget-loads"),  # came back
           point("form", "https://alfa.example/f", "inactive", "http-4xx"),  # new, and already dead
           point("messaging", "https://t.me/alfa", "active", "account-found")]  # new and fine
    changes = compare(BASE, {"company_key": "1:https://alfa.example/", "name": "Alfa", "status": "done"}, now)
    assert sorted(k for k, _t in changes) == ["contact-back", "contact-died", "contact-gone", "contact-new",
                                              "contact-new", "verdict-changed"]
    assert sorted((k, t.value) for k, t in new_failures(changes)) == [
        ("contact-died", "+4930100"), ("contact-gone", "+4930101"), ("contact-new", "https://alfa.example/f")]


def test_a_site_that_stopped_answering_is_one_failure_not_one_per_contact_point() -> None:
    changes = compare(BASE, {"company_key": "1:https://alfa.example/", "name": "Alfa", "status": "failed"}, [])
    assert [(k, t.change) for k, t in new_failures(changes)] == [("site-down", "site-down")]


def test_baseline_references() -> None:
    from pathlib import Path

    assert parse_ref("audits/2026-11@3") == (Path("audits/2026-11"), 3)
    assert parse_ref("audits/2026-11") == (Path("audits/2026-11"), None)
    assert parse_ref("odd@name") == (Path("odd@name"), None)


def _grid(outcomes: list[str], always: bool = True) -> list[ChannelGrid]:
    """A real channel grid of the check's own calls to its 24/7 hotline."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    key = ("1:https://alfa.example/", "phone", "+4930100")
    found = [Observation(*key, datetime(2026, 12, 7, 3 + i, tzinfo=ZoneInfo("Europe/Berlin")), o, "line-probe")
             for i, o in enumerate(outcomes)]  # type: ignore[arg-type]
    hours = Hours("24/7", {}, True) if always else Hours("Mo-Fr 9-17", {d: ((540, 1020),) for d in range(5)})
    return build_grids(found, {}, {key: hours})


NOW = {"company_key": "1:https://alfa.example/", "name": "Alfa", "status": "done"}
KINDS = (reasons.SCORE_DROP, reasons.CLAIM_24_7_FAILED)


def test_a_check_gets_the_waves_score_drop_and_claim_alerts() -> None:
    dead = [point("phone", "+4930100", "inactive", "number-not-in-service"),
            point("phone", "+4930101", "inactive", "number-not-in-service"),
            point("email", "info@alfa.example", "inactive", "mailbox-unknown")]
    alerts = rule_alerts(BASE, NOW, dead, _grid(["up", "down"]), KINDS, 10.0)
    by = {a.alert: a for a in alerts}
    assert set(by) == set(KINDS)
    drop = by[reasons.SCORE_DROP]
    assert (drop.wave_from, drop.wave_to, drop.company) == (1, 2, "Alfa")
    assert drop.evidence["score_from"] - drop.evidence["score_to"] >= 10
    claim = by[reasons.CLAIM_24_7_FAILED]
    assert (claim.kind, claim.value, claim.company) == ("phone", "+4930100", "Alfa")
    assert claim.evidence["answered"] == 1 and claim.evidence["conclusive"] == 2


def test_no_rule_alert_when_nothing_dropped_the_claim_held_or_the_kind_is_not_wanted() -> None:
    assert rule_alerts(BASE, NOW, BASE.points, _grid(["up", "up"]), KINDS, 10.0) == []
    assert rule_alerts(BASE, NOW, BASE.points, _grid(["down"], always=False), KINDS, 10.0) == []
    dead = [point("phone", "+4930100", "inactive", "number-not-in-service")]
    assert rule_alerts(BASE, NOW, dead, _grid(["down"]), ("contact-died",), 10.0) == []
    assert [a.alert for a in rule_alerts(BASE, NOW, dead, _grid(["down"]), KINDS, 1000.0)] == [
        reasons.CLAIM_24_7_FAILED]
