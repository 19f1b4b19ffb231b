"""Availability at its edges: the lines a card publishes when a channel, a page or a schedule is borderline.

Each test names the published line (part, rule, points, tag, kind, value, message) it
expects, written out from the packaged weights and messages in auditor/data/scoring.toml.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from auditor.models import Check, Company, CompanyResult, ContactPoint, Failure, PageRecord, Verdict
from auditor.score import ScoreCard, score_company

HOME = "https://acme.example/"
CONTACT = "https://acme.example/kapcsolat"
DEEP = "https://acme.example/a/b/c"
A = "availability"
NOT_MEASURED = (
    "Responsiveness was not measured (no inquiries, line probes or chat tests were run); "
    "the total is the availability score alone."
)


def cp(kind: str, value: str, *, label: str | None = None, method: str = "text", page: str = CONTACT,
       details: Mapping[str, Any] | None = None) -> ContactPoint:
    return ContactPoint(kind, value, value, label, method, page, "", 0.9, dict(details or {}))


def verdict(kind: str, value: str, state: str, reason: str = "x", flags: Iterable[str] = (),
            checks: Iterable[Check] = ()) -> Verdict:
    return Verdict(kind, value, state, reason, "", tuple(checks), tuple(flags))


def page(url: str, depth: int, score: float = 0.0, status: int | None = 200,
         error: str | None = None) -> PageRecord:
    return PageRecord(url, status, error, "", depth, score)


HOME_ONLY = (page(HOME, 0, 10.0),)
WITH_CONTACT = (page(HOME, 0, 10.0), page(CONTACT, 1, 1.1))


def score(*contacts: ContactPoint, verdicts: Iterable[Verdict] = (),
          pages: tuple[PageRecord, ...] = WITH_CONTACT) -> ScoreCard:
    result = CompanyResult(Company(2, "Acme", HOME, "HU", "retail"), pages, contacts, (), (), "done")
    return score_company(result, {(v.kind, v.value): v for v in verdicts})


def lines(card: ScoreCard, *rules: str) -> list[tuple[Any, ...]]:
    return [(x.part, x.rule, x.points, x.tag, x.kind, x.value, x.message)
            for x in card.lines if not rules or x.rule in rules]


# --------------------------------------------------------------------------- empty sites


def test_a_site_with_nothing_gets_exactly_the_lines_that_say_so() -> None:
    card = score(pages=HOME_ONLY)
    assert lines(card) == [
        (A, "no-hours", None, "no-hours", "hours", None, "No service hours were found."),
        (A, "no-contact-page", None, "no-contact-page", None, None,
         "No contact page or contact point was found."),
        ("responsiveness", "not-measured", None, "not-measured", None, None, NOT_MEASURED),
    ]  # zero points is no loss: no "cannot fall below 0" line
    assert (card.availability, card.availability_points, card.total) == (0.0, 0.0, 0.0)


def test_a_site_that_could_not_be_audited_is_not_scored() -> None:
    result = CompanyResult(
        Company(7, "Gone", HOME, "DE", "bank"), (), (),
        (Failure("dns-error", "no such host"), Failure("blocked", "403"), Failure("dns-error", "again")),
        (), "failed",
    )
    message = ("The website could not be audited (blocked, dns-error); nothing was measured, "
               "so the company is not scored.")
    assert score_company(result, {}).to_dict() == {
        "key": f"7:{HOME}", "row": 7, "name": "Gone", "website": HOME, "country": "DE",
        "industry": "bank", "availability": None, "responsiveness": None, "total": None,
        "availability_points": 0.0, "availability_max": 100.0, "channels": [], "active_channels": [],
        "verdicts": 0, "unknown": 0, "inactive": 0, "active": 0, "unknown_share": None,
        "benchmark": "banking", "notes": [message],
        "lines": [{"part": A, "rule": "not-audited", "points": None, "tag": "not-audited",
                   "message": message, "kind": None, "value": None, "status": "info"}],
    }


def test_a_verdict_state_the_scorer_does_not_know_counts_as_unknown() -> None:
    email = cp("email", "info@acme.example")
    card = score(email, verdicts=[verdict("email", email.value, "skipped", "not-run")])
    assert (card.verdict_count, card.unknown_count, card.inactive_count, card.active_count) == (1, 1, 0, 0)


# --------------------------------------------------------------------------- channels


def test_a_channel_whose_every_point_is_inactive_earns_nothing_and_says_so() -> None:
    email = cp("email", "info@acme.example")
    card = score(email, verdicts=[verdict("email", email.value, "inactive", "no-such-mailbox")])
    assert lines(card, "offered", "offered-all-inactive") == [
        (A, "offered-all-inactive", None, "offered-all-inactive", "email", None,
         "Email: every published contact point was found inactive, so the channel earns nothing."),
    ]
    assert card.channels == ()


def test_only_an_ignored_label_is_skipped_and_other_kinds_do_not_stop_the_scan() -> None:
    card = score(cp("hours", "H-P 8-16"), cp("phone", "+3612345678", label="sales"))
    assert lines(card, "offered", "ignored-label") == [
        (A, "offered", 18.0, "offered", "phone", None, "Phone is offered (1 published contact point(s))."),
    ]


@pytest.mark.parametrize(
    ("details", "v"),
    [
        ({"dead": True}, None),
        ({}, verdict("chat", "zopim", "inactive", "dead-provider")),  # the reason alone
        ({}, verdict("chat", "zopim", "unknown", "timeout", flags=["dead-provider"])),  # the flag alone
    ],
)
def test_a_dead_chat_provider_is_recognised_by_any_of_its_marks(details: dict[str, Any], v: Verdict | None) -> None:
    card = score(cp("chat", "zopim", method="widget-script", details=details), verdicts=[v] if v else [])
    assert lines(card, "dead-provider") == [
        (A, "dead-provider", -10.0, "dead-provider", "chat", "zopim", "The chat widget's provider has shut it down."),
    ]


@pytest.mark.parametrize(
    ("types", "rule", "points", "message"),
    [
        (["shared-cost"], "shared-cost", -4.0, "A shared-cost number: the caller pays part of the cost."),
        (["mobile"], "premium-rate", -10.0, "A premium-rate number: calling costs the customer extra."),
        ([], "premium-rate", -10.0, "A premium-rate number: calling costs the customer extra."),
    ],
)
def test_a_cost_to_caller_flag_is_shared_cost_only_when_a_check_says_so(
        types: list[str], rule: str, points: float, message: str) -> None:
    phone = cp("phone", "+3690123456")
    checks = [Check("phone-plan", "active", "valid-number", evidence={"type": t}) for t in types]
    v = verdict("phone", phone.value, "active", "valid-number", ["cost-to-caller"], checks)
    card = score(phone, verdicts=[v])
    assert lines(card, "premium-rate", "shared-cost") == [(A, rule, points, rule, "phone", phone.value, message)]


@pytest.mark.parametrize("details", [{}, {"number_type": "MOBILE"}])
def test_an_unchecked_number_without_a_cost_type_has_no_cost_line(details: dict[str, Any]) -> None:
    card = score(cp("phone", "+3620123456", details=details))
    assert lines(card, "premium-rate", "shared-cost", "toll-free") == []


@pytest.mark.parametrize(
    ("method", "details"), [("json-ld", {}), ("text", {"methods": ["text", "microdata"]})],
)
def test_structured_contact_data_earns_its_line(method: str, details: dict[str, Any]) -> None:
    card = score(cp("email", "info@acme.example"), cp("phone", "+3612345678", method=method, details=details))
    assert lines(card, "structured-data") == [
        (A, "structured-data", 6.0, "structured-data", "phone", "+3612345678",
         "Contact data is published as schema.org structured data."),
    ]


# --------------------------------------------------------------------------- depth


def depth_line(card: ScoreCard) -> tuple[Any, ...]:
    (line,) = lines(card, "depth", "depth-home", "no-contact-page")
    return line


def test_contact_information_on_the_home_page() -> None:
    card = score(cp("email", "info@acme.example", page=HOME))
    assert depth_line(card) == (A, "depth-home", 8.0, "depth", None, HOME, "Contact information is on the home page.")


def test_a_page_fetched_twice_counts_at_its_shallowest_depth() -> None:
    pages = (page(HOME, 0, 10.0), page(DEEP, 1), page(DEEP, 3))
    card = score(cp("email", "info@acme.example", page=DEEP), pages=pages)
    assert depth_line(card) == (A, "depth", 8.0, "depth", None, DEEP, "Contact information is 1 click(s) from the home page.")


def test_a_contact_page_one_click_deep_counts_from_the_minimum_link_score() -> None:
    pages = (page(HOME, 0, 10.0), page(CONTACT, 1, 0.6), page(DEEP, 3))
    card = score(cp("email", "info@acme.example", page=DEEP), pages=pages)
    assert depth_line(card)[2:6] == (8.0, "depth", None, CONTACT)
    pages = (page(HOME, 0, 10.0), page(CONTACT, 1, 0.59), page(DEEP, 3))  # below: the deep page counts
    card = score(cp("email", "info@acme.example", page=DEEP), pages=pages)
    assert depth_line(card)[2:6] == (2.0, "depth", None, DEEP)


def test_hours_on_the_home_page_are_not_contact_information() -> None:
    pages = (page(HOME, 0, 10.0), page(DEEP, 2, 1.0))
    card = score(cp("hours", "H-P 8-16", page=HOME), pages=pages)
    assert depth_line(card)[1:6] == ("depth", 5.0, "depth", None, DEEP)


@pytest.mark.parametrize(
    "bad", [page(CONTACT, 1, 1.0, 200, "timeout"), page(CONTACT, 1, 1.0, 300), page(CONTACT, 1, 1.0, None)],
)
def test_only_a_page_fetched_without_error_and_with_a_2xx_status_is_a_contact_page(bad: PageRecord) -> None:
    card = score(pages=(page(HOME, 0, 10.0), bad, page(DEEP, 2, 1.0)))
    assert depth_line(card)[1:6] == ("depth", 5.0, "depth", None, DEEP)


# --------------------------------------------------------------------------- hours


def hours_line(*contacts: ContactPoint) -> tuple[Any, ...]:
    (line,) = lines(score(*contacts), "hours-always-open", "hours-weekend", "hours-published", "no-hours")
    return line


WEEKDAYS = {"spans": [{"days": ["Mo", "Tu", "We", "Th", "Fr"], "open": "08:00", "close": "16:00"}]}
SATURDAY = {"spans": [{"days": ["Mo", "Sa"], "open": "08:00", "close": "12:00"}]}


def test_round_the_clock_by_its_flag_after_a_weekend_schedule() -> None:
    line = hours_line(cp("hours", "Mo-Sa 8-12", details=SATURDAY),
                      cp("hours", "Mo-Su 00:00-24:00", details={"always_open": True}))
    assert line == (A, "hours-always-open", 8.0, "hours-always-open", "hours", "Mo-Su 00:00-24:00",
                    "Service is open 24/7.")


def test_round_the_clock_by_its_text_alone() -> None:
    assert hours_line(cp("hours", " 24/7 "))[1:3] == ("hours-always-open", 8.0)


def test_a_weekend_schedule_beats_an_earlier_weekday_one() -> None:
    line = hours_line(cp("hours", "H-P 8-16", details=WEEKDAYS), cp("hours", "Mo-Sa 8-12", details=SATURDAY))
    assert line == (A, "hours-weekend", 6.0, "hours-weekend", "hours", "Mo-Sa 8-12",
                    "Service hours include the weekend.")


def test_of_two_equal_schedules_the_first_is_published() -> None:
    line = hours_line(cp("hours", "H-P 8-16", details=WEEKDAYS), cp("hours", "H-P 9-17", details=WEEKDAYS))
    assert line[1:6] == ("hours-published", 4.0, "hours-published", "hours", "H-P 8-16")


def test_a_span_without_days_is_a_weekday_schedule() -> None:
    line = hours_line(cp("hours", "8-16", details={"spans": [{"open": "08:00", "close": "16:00"}]}))
    assert line[1:3] == ("hours-published", 4.0)
