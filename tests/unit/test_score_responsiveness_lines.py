"""Responsiveness lines as published: the best email outcome, probe means, technical timing."""

from __future__ import annotations

from typing import Any

from auditor.models import Check, Company, CompanyResult, ContactPoint, PageRecord, Verdict
from auditor.score import ScoreCard, score_company

HOME = "https://acme.example/"
CONTACT = "https://acme.example/kapcsolat"
PAGES = (
    PageRecord(HOME, 200, None, "", 0, 10.0, 900.0),  # the home page is not a contact page
    PageRecord(CONTACT, 200, None, "", 1, 1.1, 1200.0),
    PageRecord("https://acme.example/sitemap", 200, None, "sitemap", 1, 5.0, 50.0),
)
EMAIL = ContactPoint("email", "info@acme.example", "info@acme.example", None, "text", CONTACT, "", 0.9, {})
RCPT = Check(name="smtp-rcpt", verdict="active", reason="mailbox-exists", message="",
             evidence={"code": 250}, started_at=0.0, duration_ms=400.0)
VERDICTS = {("email", EMAIL.value): Verdict("email", EMAIL.value, "active", "mailbox-exists", "", (RCPT,), ())}
PROBES: dict[str, Any] = {
    "email": [
        {"outcome": "auto-ack", "to": "info@acme.example"},
        {"outcome": "human-reply", "reply_minutes": 150, "to": "sales@acme.example"},
        {"outcome": "bounced"},
        {"outcome": "weird"},
    ],
    "phone": [{"outcome": "answered", "answer_seconds": 20}, {"outcome": "voicemail"}, {"outcome": "answered"}],
    "chat": [{"outcome": "offline"}],
}
TECH = "Contact pages load in 1.2 s (median), mail servers answer in 400 ms (median)"


def card(probes: dict[str, Any] | None) -> ScoreCard:
    result = CompanyResult(Company(2, "Acme", HOME, "HU", "retail"), PAGES, (EMAIL,), (), (), "done")
    return score_company(result, VERDICTS, responsiveness=probes)


def lines(c: ScoreCard) -> list[tuple[Any, ...]]:
    return [(x.rule, x.points, x.tag, x.kind, x.value, x.message) for x in c.lines if x.part == "responsiveness"]


def test_measured_responsiveness_lines() -> None:
    c = card(PROBES)
    assert lines(c) == [
        ("email-reply", 36.0, "email-reply", "email", "sales@acme.example",
         "First human email reply after 2 h 30 min (benchmark Retail: 1-3 h). Scores 80/100 × weight 0.45."),
        ("phone-probe", 20.12, "phone-probe", "phone", None,
         "Line probes: answered in 20 s; voicemail. Scores 58/100 × weight 0.35."),
        ("chat-probe", 0.0, "chat-probe", "chat", None, "Chat tests: offline. Scores 0/100 × weight 0.10."),
        ("technical", 8.5, "technical", None, None, f"{TECH}. Scores 85/100 × weight 0.10."),
    ]
    assert (c.responsiveness, c.availability, c.total, c.notes) == (64.6, 28.0, 39.0, ())


def test_timing_alone_is_information_not_a_score() -> None:
    c = card(None)
    assert lines(c) == [
        ("technical-info", None, "technical", None, None,
         f"{TECH}; not scored while responsiveness is not measured."),
        ("not-measured", None, "not-measured", None, None,
         "Responsiveness was not measured (no inquiries, line probes or chat tests were run); "
         "the total is the availability score alone."),
    ]
    assert (c.responsiveness, c.total) == (None, c.availability)
