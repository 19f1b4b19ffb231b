"""A whole score card, line by line: every rule, its points, tag, kind, value and message.

One company with a bit of everything (toll-free, premium-rate, shared-cost, dead and
ignored numbers, a verified and a greylisted mailbox, a dead and a live chat, weekday
hours, a contact page one click deep). The expected card is written out by hand from the
weights in auditor/data: a changed line, point or message is a changed publication.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from auditor.models import Company, CompanyResult, ContactPoint, PageRecord, Verdict
from auditor.score import score_company

HOME = "https://acme.example/"
CONTACT = "https://acme.example/kapcsolat"
PAGES = (PageRecord(HOME, 200, None, "", 0, 10.0), PageRecord(CONTACT, 200, None, "", 1, 1.1))


def cp(kind: str, value: str, *, label: str | None = None, method: str = "text",
       details: Mapping[str, Any] | None = None) -> ContactPoint:
    return ContactPoint(kind, value, value, label, method, CONTACT, "", 0.9, dict(details or {}))


def verdict(kind: str, value: str, state: str, reason: str, flags: Iterable[str] = ()) -> Verdict:
    return Verdict(kind, value, state, reason, "", (), tuple(flags))


CONTACTS = (
    cp("phone", "+3680123456"),  # toll-free by its verdict
    cp("phone", "+3690123456"),  # premium-rate by its verdict
    cp("phone", "+3640123456", details={"number_type": "SHARED_COST"}),  # by harvest, unchecked
    cp("phone", "+3612345678"),  # inactive
    cp("phone", "+3611111111", label="fax"),  # ignored label
    cp("email", "info@acme.example"),  # active
    cp("email", "sales@acme.example"),  # greylisted
    cp("chat", "zopim", method="widget-script", details={"dead-provider": True}),
    cp("chat", "tidio", method="widget-script"),
    cp("hours", "H-P 8-16", details={"weekend": False}),
)
VERDICTS = (
    verdict("phone", "+3680123456", "unknown", "not-dialled", ("toll-free",)),
    verdict("phone", "+3690123456", "unknown", "premium-rate", ("cost-to-caller",)),
    verdict("phone", "+3612345678", "inactive", "invalid-number"),
    verdict("email", "info@acme.example", "active", "mailbox-exists"),
    verdict("email", "sales@acme.example", "unknown", "greylisted"),
)
A = "availability"
NOT_MEASURED = (
    "Responsiveness was not measured (no inquiries, line probes or chat tests were run); "
    "the total is the availability score alone."
)
EXPECTED_LINES = [
    (A, "ignored-label", None, "ignored-label", "phone", "+3611111111",
     "Labelled fax: not a way to reach anyone, not scored."),
    (A, "unknown", None, "not-dialled", "phone", "+3680123456",
     "The number is valid; whether the line is in service is not known without calling it."),
    (A, "unknown", None, "premium-rate", "phone", "+3690123456",
     "A premium-rate number: calling costs the customer extra."),
    (A, "premium-rate", -10.0, "premium-rate", "phone", "+3690123456",
     "A premium-rate number: calling costs the customer extra."),
    (A, "not-checked", None, "not-checked", "phone", "+3640123456", "This contact point was not checked."),
    (A, "shared-cost", -4.0, "shared-cost", "phone", "+3640123456",
     "A shared-cost number: the caller pays part of the cost."),
    (A, "inactive", -8.0, "invalid-number", "phone", "+3612345678",
     "Phone: a published contact point does not work. The number is not valid in its numbering plan."),
    (A, "offered", 18.0, "offered", "phone", None, "Phone is offered (3 published contact point(s))."),
    (A, "unknown", None, "greylisted", "email", "sales@acme.example",
     "The mail server asked to try again later (greylisting or rate limit)."),
    (A, "offered", 14.0, "offered", "email", None, "Email is offered (2 published contact point(s))."),
    (A, "verified", 6.0, "verified", "email", "info@acme.example",
     "Email: at least one contact point was verified active."),
    (A, "dead-provider", -10.0, "dead-provider", "chat", "zopim", "The chat widget's provider has shut it down."),
    (A, "not-checked", None, "not-checked", "chat", "tidio", "This contact point was not checked."),
    (A, "offered", 8.0, "offered", "chat", None, "Live chat is offered (1 published contact point(s))."),
    (A, "toll-free", 6.0, "toll-free", "phone", "+3680123456", "A toll-free number is published."),
    (A, "hours-published", 4.0, "hours-published", "hours", "H-P 8-16",
     "Service hours are published (weekdays only)."),
    (A, "depth", 8.0, "depth", None, CONTACT, "Contact information is 1 click(s) from the home page."),
    ("responsiveness", "not-measured", None, "not-measured", None, None, NOT_MEASURED),
]


def card() -> dict[str, Any]:
    result = CompanyResult(Company(2, "Acme", HOME, "HU", "retail"), PAGES, CONTACTS, (), (), "done")
    return score_company(result, {(v.kind, v.value): v for v in VERDICTS}).to_dict()


def test_every_line_of_the_card() -> None:
    got = [(x["part"], x["rule"], x["points"], x["tag"], x["kind"], x["value"], x["message"])
           for x in card()["lines"]]
    assert got == EXPECTED_LINES


def test_line_status_follows_points() -> None:
    statuses = [(x["rule"], x["status"]) for x in card()["lines"]]
    assert ("unknown", "unknown") in statuses
    assert ("premium-rate", "loss") in statuses and ("offered", "gain") in statuses
    assert ("not-checked", "info") in statuses and ("ignored-label", "info") in statuses


def test_card_totals_and_counts() -> None:
    d = card()
    del d["lines"]
    assert d == {
        "key": "2:https://acme.example/", "row": 2, "name": "Acme", "website": HOME,
        "country": "HU", "industry": "retail", "availability": 32.0, "responsiveness": None,
        "total": 32.0, "availability_points": 32.0, "availability_max": 100.0,
        "channels": ["phone", "email", "chat"], "active_channels": ["email"], "verdicts": 5,
        "unknown": 3, "inactive": 1, "active": 1, "unknown_share": 0.6, "benchmark": "retail",
        "notes": [NOT_MEASURED],
    }
