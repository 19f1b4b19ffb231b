"""Responsiveness at its edges: which probe outcome is published, step limits, timing and durations.

The company has one email address and, unless a test adds pages, only its home page, so
no technical part joins in and a single measured channel carries the whole weight.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from auditor.data import load
from auditor.models import Check, Company, CompanyResult, ContactPoint, PageRecord, Verdict
from auditor.score import ScoreCard, Weights, _duration, _ms, score_company, weights_from_dict

HOME = "https://acme.example/"
CONTACT = "https://acme.example/kapcsolat"
EMAIL = ContactPoint("email", "info@acme.example", "info@acme.example", None, "text", HOME, "", 0.9, {})
R = "responsiveness"


def card(probes: dict[str, Any] | None, pages: tuple[PageRecord, ...] = (PageRecord(HOME, 200, None, "", 0, 10.0),),
         verdicts: dict[tuple[str, str], Verdict] | None = None, weights: Weights | None = None) -> ScoreCard:
    result = CompanyResult(Company(2, "Acme", HOME, "HU", "retail"), pages, (EMAIL,), (), (), "done")
    return score_company(result, verdicts or {}, weights, probes)


def resp(c: ScoreCard) -> list[tuple[Any, ...]]:
    return [(x.rule, x.points, x.tag, x.kind, x.value, x.message) for x in c.lines if x.part == R]


# --------------------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("item", "rule", "points", "message"),
    [
        ({"outcome": "auto-ack", "address": "sales@acme.example"}, "email-auto-ack", 10.0,
         "Only an automatic acknowledgement arrived. Scores 10/100 × weight 1.00."),
        ({"outcome": "Bounce ", "address": "sales@acme.example"}, "email-bounced", 0.0,
         "The inquiry bounced. Scores 0/100 × weight 1.00."),
        ({"outcome": "none", "address": "sales@acme.example"}, "email-no-reply", 0.0,
         "No reply arrived by the cutoff. Scores 0/100 × weight 1.00."),
    ],
)
def test_each_email_outcome_publishes_its_own_line(item: dict[str, Any], rule: str, points: float,
                                                   message: str) -> None:
    c = card({"email": item})
    assert resp(c) == [(rule, points, rule, "email", "sales@acme.example", message)]
    assert c.responsiveness == points


def test_an_inquiry_without_an_outcome_or_a_time_is_not_a_measurement() -> None:
    for items in ([{}], [{"outcome": "human-reply"}], [{"outcome": "human-reply", "reply_hours": -1}],
                  [{"outcome": "human-reply", "reply_hours": float("nan")}]):
        assert card({"email": items}).responsiveness is None, items


def test_unusable_inquiries_do_not_hide_the_ones_after_them() -> None:
    items = [{"outcome": "lost"}, {"outcome": "human-reply"}, {"outcome": "auto-ack", "to": "a@acme.example"}]
    assert resp(card({"email": items}))[0][:5] == ("email-auto-ack", 10.0, "email-auto-ack", "email", "a@acme.example")


@pytest.mark.parametrize(
    ("item", "score"),
    [
        ({"reply_hours": 0}, 100.0),  # an immediate reply is the best one
        ({"reply_hours": 1}, 100.0),  # retail's benchmark is 1-3 h: its bounds are inside
        ({"reply_seconds": 3601}, 80.0),  # one second past the lower bound
        ({"reply_minutes": 180}, 80.0),
        ({"reply_hours": 3.01}, 50.0),
        ({"reply_hours": 24}, 50.0),  # a step's limit belongs to the step
        ({"reply_hours": 193}, 5.0),  # after the last step
    ],
)
def test_reply_time_against_the_benchmark(item: dict[str, Any], score: float) -> None:
    assert card({"email": {"outcome": "human-reply", **item}}).responsiveness == score


def test_of_equally_scored_inquiries_the_first_is_published() -> None:
    c = card({"email": [{"outcome": "bounced", "to": "a@acme.example"}, {"outcome": "no-reply", "to": "b@acme.example"}]})
    assert resp(c)[0][:5] == ("email-bounced", 0.0, "email-bounced", "email", "a@acme.example")


# --------------------------------------------------------------------------- phone and chat


@pytest.mark.parametrize(
    ("items", "score", "detail"),
    [
        ([{"outcome": "answered", "answer_seconds": 30}], 100.0, "answered in 30 s"),
        ([{"outcome": "answered", "seconds": 400}], 25.0, "answered in 400 s"),  # after the last step
        ([{"outcome": "ringing"}, {"outcome": "answered", "wait_seconds": 100}], 75.0, "answered in 100 s"),
        ([{"outcome": "answered"}, {"outcome": "No-Answer"}], 0.0, "no answer"),
        ([{"outcome": "failed"}], 0.0, "not in service"),
    ],
)
def test_line_probes(items: list[dict[str, Any]], score: float, detail: str) -> None:
    c = card({"phone": items})
    assert resp(c) == [("phone-probe", score, "phone-probe", "phone", None,
                        f"Line probes: {detail}. Scores {score:.0f}/100 × weight 1.00.")]


def test_a_chat_test_is_scored_by_the_chat_steps_not_the_phone_ones() -> None:
    c = card({"chat": {"outcome": "answered", "answer_seconds": 100}})
    assert resp(c) == [("chat-probe", 60.0, "chat-probe", "chat", None,
                        "Chat tests: answered in 100 s. Scores 60/100 × weight 1.00.")]


# --------------------------------------------------------------------------- technical timing


def contact(ms: float, score: float = 0.6) -> tuple[PageRecord, ...]:
    return (PageRecord(HOME, 200, None, "", 0, 10.0, 100.0), PageRecord(CONTACT, 200, None, "", 1, score, ms))


def rcpt(ms: float, name: str = "smtp-rcpt", code: int | None = 250) -> Verdict:
    check = Check(name, "active", "x", evidence={} if code is None else {"code": code}, duration_ms=ms)
    return Verdict("email", EMAIL.value, "active", "mailbox-exists", "", (check,), ())


def technical(c: ScoreCard) -> tuple[Any, ...]:
    (line,) = [x for x in resp(c) if x[0] == "technical"]
    return line


def test_timing_of_a_contact_page_at_the_minimum_link_score_without_smtp() -> None:
    c = card({"email": {"outcome": "bounced"}}, contact(3500.0))
    assert technical(c) == ("technical", 1.82, "technical", None, None,  # weight 0.10 / (0.45 + 0.10)
                            "Contact pages load in 3.5 s (median). Scores 10/100 × weight 0.18.")


def test_only_smtp_rcpt_checks_with_a_reply_code_time_the_mail_server() -> None:
    verdicts = {("email", EMAIL.value): Verdict("email", EMAIL.value, "active", "x", "", (
        rcpt(9000.0, name="smtp-connect").checks[0], rcpt(9000.0, code=None).checks[0], rcpt(6000.0).checks[0],
    ), ())}
    c = card({"email": {"outcome": "bounced"}}, contact(400.0), verdicts)
    assert technical(c)[5] == ("Contact pages load in 400 ms (median), mail servers answer in 6.0 s (median). "
                               "Scores 60/100 × weight 0.18.")  # (100 + 20) / 2


def test_timing_alone_counts_when_the_weights_say_so() -> None:
    data = copy.deepcopy(load("scoring.toml"))
    data["responsiveness"]["technical_counts_alone"] = True
    w = weights_from_dict(data)
    c = card(None, contact(400.0), weights=w)
    assert resp(c) == [("technical", 100.0, "technical", None, None,
                        "Contact pages load in 400 ms (median). Scores 100/100 × weight 1.00.")]
    assert c.responsiveness == 100.0


# --------------------------------------------------------------------------- how times read


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (0.5, "30 min"), (59 / 60, "59 min"), (1.0, "1 h"), (1.5, "1 h 30 min"), (47.99, "47 h 59 min"),
        (48.0, "2 d"), (48.5, "2 d"), (50.0, "2 d 2 h"), (73.0, "3 d 1 h"),
    ],
)
def test_duration(hours: float, text: str) -> None:
    assert _duration(hours) == text


@pytest.mark.parametrize(("ms", "text"), [(999.4, "999 ms"), (1000.0, "1.0 s"), (100_000.0, "100.0 s")])
def test_milliseconds(ms: float, text: str) -> None:
    assert _ms(ms) == text
