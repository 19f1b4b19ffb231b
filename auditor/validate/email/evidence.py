"""How SMTP replies and timings become evidence: capped and valid UTF-8.

Pure helpers shared by the routing, the conversation and the verdicts, so each
written reply looks the same wherever it was recorded.
"""

from __future__ import annotations

import time
from typing import Any

from auditor.validate.smtp_reply import enhanced_code

MAX_TEXT = 400  # characters of a reply kept in evidence
MAX_TRANSCRIPT = 40  # transcript entries kept per check


def clean(text: str) -> str:
    """Capped and valid UTF-8: servers send anything, and aiosmtplib keeps bad bytes as surrogates."""
    return text[:MAX_TEXT].encode("utf-8", "replace").decode("utf-8")


def entry(send: str | None, code: int | None = None, text: str = "", error: str = "") -> dict[str, Any]:
    """One transcript line: what we sent (None for the greeting) and what came back."""
    item: dict[str, Any] = {"send": clean(send) if send is not None else None}
    if code is not None:
        item["code"] = code
        item["enhanced"] = enhanced_code(text)
        item["text"] = clean(text)
    if error:
        item["error"] = clean(error)
    return item


def now() -> tuple[float, float]:
    """(wall clock for the record, monotonic start for the duration)."""
    return time.time(), time.perf_counter()


def ms(t0: float) -> float:
    """Milliseconds since ``t0`` (a perf_counter reading), rounded for evidence."""
    return round((time.perf_counter() - t0) * 1000, 2)
