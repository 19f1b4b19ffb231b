"""A check against a baseline: what got worse, from the same transition rules the waves use (pure)."""

from __future__ import annotations

from auditor.alerts.baseline import Baseline, compare, new_failures, parse_ref


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
