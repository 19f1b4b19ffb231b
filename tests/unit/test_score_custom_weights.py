"""Scores under a user's weights: entries left out, zero or odd weights, own messages, files refused.

The packaged weights price every channel, outcome and penalty, so what the scorer does
with a weight that is missing (it is worth nothing) only shows under weights of one's own.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from auditor.data import load
from auditor.models import Company, CompanyResult, ContactPoint, PageRecord, Verdict
from auditor.score import (
    ScoreCard,
    Weights,
    benchmark_for,
    load_weights,
    score_company,
    weights_from_dict,
)

HOME = "https://acme.example/"
CONTACT = "https://acme.example/kapcsolat"
PAGES = (PageRecord(HOME, 200, None, "", 0, 10.0), PageRecord(CONTACT, 200, None, "", 1, 1.1))
A = "availability"


def weights(*changes: Callable[[dict[str, Any]], Any]) -> Weights:
    data = copy.deepcopy(load("scoring.toml"))
    for change in changes:
        change(data)
    return weights_from_dict(data)


def cp(kind: str, value: str, method: str = "text", details: dict[str, Any] | None = None) -> ContactPoint:
    return ContactPoint(kind, value, value, None, method, CONTACT, "", 0.9, details or {})


def score(w: Weights, *contacts: ContactPoint, verdicts: Iterable[Verdict] = (),
          probes: dict[str, Any] | None = None) -> ScoreCard:
    result = CompanyResult(Company(2, "Acme", HOME, "HU", "retail"), PAGES, contacts, (), (), "done")
    return score_company(result, {(v.kind, v.value): v for v in verdicts}, w, probes)


def points(card: ScoreCard, *rules: str) -> list[tuple[str, float | None]]:
    return [(x.rule, x.points) for x in card.lines if x.rule in rules]


# --------------------------------------------------------------------------- missing weights are worth nothing


def test_a_channel_the_weights_do_not_price_earns_nothing() -> None:
    w = weights(lambda d: d["availability"]["offered"].pop("messaging"),
                lambda d: d["availability"]["verified"].pop("messaging"))
    link = cp("messaging", "https://wa.me/3612345678")
    card = score(w, link, verdicts=[Verdict("messaging", link.value, "active", "account-exists")])
    assert points(card, "offered", "verified") == [("offered", 0.0), ("verified", 0.0)]


def test_penalties_left_out_cost_nothing() -> None:
    w = weights(lambda d: d["availability"].update(penalties={}))
    contacts = (cp("phone", "+3612345678"), cp("phone", "+3690123456"),
                cp("phone", "+3640123456", details={"number_type": "SHARED_COST"}),
                cp("chat", "zopim", "widget-script", {"dead-provider": True}))
    verdicts = [Verdict("phone", "+3612345678", "inactive", "invalid-number"),
                Verdict("phone", "+3690123456", "active", "premium-rate")]
    card = score(w, *contacts, verdicts=verdicts)
    assert points(card, "inactive", "premium-rate", "shared-cost", "dead-provider") == [
        ("inactive", 0.0), ("premium-rate", 0.0), ("shared-cost", 0.0), ("dead-provider", 0.0),
    ]


def test_an_hours_level_left_out_is_worth_nothing() -> None:
    w = weights(lambda d: d["availability"]["hours"].pop("weekend"))
    card = score(w, cp("hours", "Sa 8-12", details={"spans": [{"days": ["Sa"]}]}))
    assert points(card, "hours-weekend") == [("hours-weekend", 0.0)]


def test_a_probe_outcome_left_out_scores_zero() -> None:
    w = weights(lambda d: d["responsiveness"]["phone"].pop("voicemail"))
    card = score(w, probes={"phone": [{"outcome": "voicemail"}]})
    assert points(card, "phone-probe") == [("phone-probe", 0.0)]
    assert card.responsiveness == 0.0


def test_a_responsiveness_part_left_out_of_the_weights_takes_no_share() -> None:
    w = weights(lambda d: d["responsiveness"]["weights"].pop("chat"))
    card = score(w, probes={"email": {"outcome": "auto-ack"}, "chat": {"outcome": "answered", "wait_seconds": 5}})
    assert [(x.rule, x.points, x.message) for x in card.lines if x.part == "responsiveness"] == [
        ("email-auto-ack", 10.0, "Only an automatic acknowledgement arrived. Scores 10/100 × weight 1.00."),
        ("chat-probe", 0.0, "Chat tests: answered in 5 s. Scores 100/100 × weight 0.00."),
    ]


def test_probes_whose_parts_all_weigh_zero_leave_responsiveness_unmeasured() -> None:
    w = weights(lambda d: d["responsiveness"].update(weights={"email": 0, "phone": 0, "chat": 0, "technical": 0}))
    card = score(w, probes={"email": {"outcome": "auto-ack"}})
    assert [(x.part, x.rule, x.points, x.tag, x.kind, x.value, x.message)
            for x in card.lines if x.part == "responsiveness"] == [
        ("responsiveness", "not-measured", None, "not-measured", None, None,
         "Responsiveness was not measured (no inquiries, line probes or chat tests were run); "
         "the total is the availability score alone."),
    ]
    assert (card.responsiveness, card.total) == (None, card.availability)


def test_a_total_without_a_responsiveness_weight_is_the_availability() -> None:
    w = weights(lambda d: d.update(total={"availability": 1}))
    card = score(w, probes={"email": {"outcome": "auto-ack"}})
    assert card.responsiveness == 10.0
    assert card.total == card.availability


def test_no_total_when_only_a_zero_weighted_part_was_measured() -> None:
    w = weights(lambda d: d.update(total={"availability": 0, "responsiveness": 1}))
    card = score(w)
    assert (card.responsiveness, card.total) == (None, None)


# --------------------------------------------------------------------------- odd numbers


def only_structured(d: dict[str, Any], structured: float, toll_free: float = 0.0) -> None:
    av = d["availability"]
    for table in ("offered", "verified", "hours"):
        av[table] = dict.fromkeys(av[table], 0)
    av["phone"]["toll_free"] = toll_free
    av["depth"]["points"] = [0]
    av["structured"]["points"] = structured


def test_points_below_one_are_kept_not_clamped() -> None:
    w = weights(lambda d: only_structured(d, 0.5))
    card = score(w, cp("email", "info@acme.example", "json-ld"))
    assert (card.availability_points, card.availability) == (0.5, 100.0)
    assert points(card, "clamped-floor") == []


def test_availability_is_rounded_to_a_tenth_and_its_points_to_a_hundredth() -> None:
    w = weights(lambda d: only_structured(d, 0.3333, toll_free=0.6667))
    card = score(w, cp("email", "info@acme.example", "json-ld"))
    assert (card.availability_points, card.availability, card.availability_max) == (0.33, 33.3, 1.0)


def test_responsiveness_is_at_most_100_whatever_the_weights() -> None:
    w = weights(lambda d: d["responsiveness"]["email"].update(auto_ack_only=150))
    assert score(w, probes={"email": {"outcome": "auto-ack"}}).responsiveness == 100.0


# --------------------------------------------------------------------------- own messages


def test_own_messages_fill_the_fields_they_name_and_leave_unknown_ones_empty(tmp_path: Path) -> None:
    path = tmp_path / "weights.toml"
    path.write_text('[messages]\ntoll-free = "{channel}|{kind}|{value}|{nothing}"\n'
                    'depth = "{depth} {url} [{channel}]"\n', "utf-8")
    w = load_weights(path)
    assert w.source == str(path)
    card = score(w, cp("phone", "+3680123456"), verdicts=[Verdict("phone", "+3680123456", "active", "toll-free")])
    messages = {x.rule: x.message for x in card.lines}
    assert messages["toll-free"] == "Phone|phone|+3680123456|"
    assert messages["depth"] == f"1 {CONTACT} []"
    assert w.message("a-rule-without-a-message") == "a-rule-without-a-message"


# --------------------------------------------------------------------------- files and documents refused or read


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "weights.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[availability.offered]\nsms = 3\n", "unknown scoring setting 'availability.offered.sms'"),
        ("[availability]\nchannels = {phone = 1}\n", "scoring setting 'availability.channels' must be a value, not a table"),
        ("[availability]\nhours = 4\n", "scoring setting 'availability.hours' must be a table"),
        ("total = 1\n", "scoring setting 'total' must be a table"),
    ],
)
def test_a_file_with_an_unknown_or_misshapen_setting_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        load_weights(write(tmp_path, text))
    assert str(info.value) == message


def test_a_file_adds_a_benchmark_and_changes_another(tmp_path: Path) -> None:
    w = load_weights(write(tmp_path, '[benchmarks.b2b]\nhours = [4, 8]\nmatch = ["b2b"]\n'
                                     '[benchmarks.retail]\nhours = [2, 5]\n'))
    assert (benchmark_for("B2B", w).low, benchmark_for("retail", w).high) == (4.0, 5.0)


def packaged() -> dict[str, Any]:
    return copy.deepcopy(load("scoring.toml"))


def test_the_default_benchmark_is_tried_last_wherever_it_is_written() -> None:
    data = packaged()
    default = data["benchmarks"].pop("default")
    data["benchmarks"] = {"default": {**default, "match": ["shop"]}, **data["benchmarks"]}
    w = weights_from_dict(data)
    assert w.benchmarks[-1].key == "default"
    assert benchmark_for("shop", w).key == "retail"


def test_no_points_to_earn_is_refused_but_one_point_is_enough() -> None:
    data = packaged()
    only_structured(data, 0)
    with pytest.raises(ValueError) as info:
        weights_from_dict(data)
    assert str(info.value) == "availability has no points to earn"
    data["availability"]["structured"]["points"] = 1
    assert weights_from_dict(data).availability_max == 1.0


def test_optional_settings_default_when_left_out() -> None:
    data = packaged()
    del data["availability"]["ignored_labels"], data["messages"], data["responsiveness"]["technical_counts_alone"]
    w = weights_from_dict(data)
    assert (w.ignored_labels, dict(w.messages), w.technical_counts_alone) == ((), {}, False)
    assert w.message("offered", channel="Phone") == "offered"
    assert w.raw is data  # the document the weights were read from, as given


def test_the_technical_part_may_count_alone() -> None:
    data = packaged()
    data["responsiveness"]["technical_counts_alone"] = True
    assert weights_from_dict(data).technical_counts_alone is True


def test_steps_are_read_as_number_pairs() -> None:
    data = packaged()
    data["responsiveness"]["email"]["later"] = [["24", 50]]
    data["responsiveness"]["phone"]["answered"] = [[30, "100"]]
    data["responsiveness"]["chat"]["answered"] = [["60", "100"]]
    data["responsiveness"]["technical"].update(page_ms=[["500", 100]], smtp_ms=[["1000", 100]])
    w = weights_from_dict(data)
    assert w.email["later"] == ((24.0, 50.0),)
    assert (w.phone["answered"], w.chat["answered"]) == (((30.0, 100.0),), ((60.0, 100.0),))
    assert (w.technical["page_ms"], w.technical["smtp_ms"]) == (((500.0, 100.0),), ((1000.0, 100.0),))
    # and they score as numbers: 20 s is within the first phone step
    card = score(w, probes={"phone": {"outcome": "answered", "answer_seconds": 20}})
    assert card.responsiveness == 100.0

