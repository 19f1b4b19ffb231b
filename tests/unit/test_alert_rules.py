"""Score-drop and 24/7-claim alerts: the rules, and what a webhook and an email carry of them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.alerts import changes
from auditor.alerts.config import DEFAULT_KINDS, SCORE_DROP, notify_config
from auditor.alerts.rules import claim_failures, score_drops
from auditor.config import ConfigError
from auditor.waves.availability import ChannelGrid, Hours, Observation, Outcome


def _drops(old: float | None, new: float | None, threshold: float = 10) -> list[str]:
    return [a.company for a in score_drops({"1:a": ("Alfa", old)}, {"1:a": ("Alfa", new)}, threshold, 1, 2)]


def test_a_drop_of_n_minus_one_sends_nothing_and_n_sends_one() -> None:
    assert _drops(80, 71) == []
    assert _drops(80, 70) == ["Alfa"]
    assert _drops(80, 40, threshold=41) == [] and _drops(80, 39, threshold=41) == ["Alfa"]
    assert _drops(70, 80) == []  # a rise is no drop


def test_a_company_without_a_score_in_either_wave_has_no_drop() -> None:
    assert _drops(None, 10) == [] and _drops(80, None) == []
    assert score_drops({}, {"1:a": ("Alfa", 0.0)}, 10, 1, 2) == []  # new in the list


def test_a_drop_carries_both_scores_as_evidence() -> None:
    (alert,) = score_drops({"1:a": ("Alfa", 82.5)}, {"1:a": ("Alfa", 60.0)}, 10, 3, 4)
    assert alert.alert == "score-drop" and (alert.wave_from, alert.wave_to) == (3, 4)
    assert alert.evidence == {"score_from": 82.5, "score_to": 60.0, "drop": 22.5, "threshold": 10}


def _grid(kind: str, outcomes: list[Outcome], always: bool = True) -> ChannelGrid:
    hours = Hours("24/7", {}, always) if always else Hours("Mo-Fr 9-17", {d: ((540, 1020),) for d in range(5)})
    grid = ChannelGrid("1:a", kind, "+4930123" if kind == "phone" else "https://chat.example/x", "UTC", hours)
    for i, outcome in enumerate(outcomes):
        grid.add(Observation("1:a", kind, grid.value, datetime(2026, 12, 7, i, tzinfo=UTC), outcome, "link", "", 2))
    return grid


def test_a_failed_24_7_claim_sends_one_and_a_held_or_untested_one_nothing() -> None:
    names = {"1:a": "Alfa"}
    assert claim_failures([_grid("phone", ["up", "up", "unknown"])], names, 1, 2) == []  # held
    assert claim_failures([_grid("chat", ["unknown"])], names, 1, 2) == []  # untested
    assert claim_failures([_grid("phone", ["up", "no-answer"], always=False)], names, 1, 2) == []  # no 24/7 claim
    assert claim_failures([_grid("form", ["down"])], names, 1, 2) == []  # a form answers nobody
    (alert,) = claim_failures([_grid("chat", ["up", "no-answer", "up"])], names, 1, 2)
    assert (alert.alert, alert.company, alert.kind, alert.wave_to) == ("claim-24-7-failed", "Alfa", "chat", 2)
    assert alert.evidence["answered"] == 2 and alert.evidence["conclusive"] == 3


def test_both_kinds_are_sent_by_default_and_score_drop_is_configurable() -> None:
    assert {"score-drop", "claim-24-7-failed"} <= DEFAULT_KINDS
    cfg = notify_config({"destinations": ["webhook:https://hooks.example/x"]})
    assert cfg is not None and cfg.score_drop == SCORE_DROP == 10
    cfg = notify_config({"destinations": ["webhook:https://hooks.example/x"], "score_drop": 5})
    assert cfg is not None and cfg.score_drop == 5
    with pytest.raises(ConfigError):
        notify_config({"destinations": ["webhook:https://hooks.example/x"], "score_drop": 0})


def test_the_payload_and_the_email_carry_both_alerts() -> None:
    rules = [*score_drops({"1:a": ("Alfa", 80)}, {"1:a": ("Alfa", 55)}, 10, 1, 2),
             *claim_failures([_grid("phone", ["no-answer"])], {"1:a": "Alfa"}, 1, 2)]
    kept = changes.select_rules(rules, {"claim-24-7-failed"})
    assert [a.alert for a in kept] == ["claim-24-7-failed"]
    body = changes.payload("wave-2", "audit", [], None, rules=rules, wave=2)
    assert body["counts"] == {"score-drop": 1, "claim-24-7-failed": 1}
    drop, claim = body["alerts"]
    assert drop["evidence"]["score_from"] == 80 and drop["evidence"]["score_to"] == 55
    assert claim["kind"] == "phone" and claim["value"] == "+4930123" and claim["reason_message"]
    text = changes.text(body)
    assert "- score-drop: Alfa: score 80 -> 55 (-25, threshold 10)" in text
    assert "- claim-24-7-failed: Alfa: phone +4930123: claims 24/7; answered 0 of 1 conclusive checks" in text
