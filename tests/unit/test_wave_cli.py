"""`auditor wave` refuses a bad schedule or alert configuration before any wave starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.cli import main
from auditor.store import open_store


@pytest.fixture
def audit(tmp_path: Path) -> Path:
    out = tmp_path / "audit"
    open_store(out).close()
    return out


@pytest.mark.parametrize(("extra", "message"), [
    (["--notify", "mailto:ops@example.com"], "[notify.email]"),
    (["--notify", "slack:#ops"], "expected webhook"),
    (["--every", "funday 09:00"], "not a day"),
    (["--every", "09:00", "--tz", "Mars/Olympus"], "unknown time zone"),
    (["--every", "09:00", "--tz", "per-number"], "no phone number"),
    (["--alerts-only"], "--alerts-only needs"),
])
def test_bad_schedule_or_alerts_are_usage_errors_before_any_wave(audit: Path, extra: list[str], message: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wave", str(audit), "--no-progress", *extra]) == 2
    assert message in capsys.readouterr().err
    store = open_store(audit)
    try:
        from auditor.store.waves import list_waves

        assert list_waves(store.engine) == []  # type: ignore[attr-defined]
    finally:
        store.close()
