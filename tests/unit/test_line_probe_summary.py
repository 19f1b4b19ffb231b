"""The console line that sums up an opt-in line probe (every call stays in audit.log)."""

from __future__ import annotations

from auditor.pipeline import line_probe_summary


def test_line_probe_summary_is_one_readable_line() -> None:
    calls = [{"number": "+3615550123", "verdict": v, "reason": r} for v, r in
             [("active", "rings"), ("active", "busy"), ("active", "rings"), ("inactive", "number-not-in-service")]]
    assert line_probe_summary(calls) == (
        "Line probe: 4 call(s) placed: active 3 (rings 2, busy 1); inactive 1 (number-not-in-service 1)"
    )
    assert line_probe_summary([]) == "Line probe: 0 call(s) placed"
