"""Alerts that are not one contact point's transition: a score that dropped, a 24/7 claim that failed.

Pure: each wave's per-company totals, or the latest wave's 24/7 channels, in;
:class:`WaveAlert` out. The payload carries them beside the transitions'
alerts (see :func:`auditor.alerts.changes.payload`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from auditor import reasons


@dataclass(frozen=True)
class WaveAlert:
    """One alert about a company (and maybe one of its channels) between two waves, with its evidence."""

    alert: str  # score-drop | claim-24-7-failed
    wave_from: int | None
    wave_to: int
    company_key: str
    company: str
    summary: str  # one line for the email, naming the figures
    kind: str = ""
    value: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)


def score_drops(before: Mapping[str, tuple[str, float | None]], after: Mapping[str, tuple[str, float | None]],
                threshold: float, wave_from: int, wave_to: int) -> list[WaveAlert]:
    """Companies whose total fell by at least ``threshold`` points from ``before`` to ``after``.

    ``before``/``after``: company key -> (name, total score or None). A company not
    scored in either wave (its site down, not audited) has no drop: ``site-down`` says that.
    """
    out = []
    for key, (name, total) in after.items():
        old = before.get(key, (name, None))[1]
        if old is None or total is None or old - total < threshold:
            continue
        drop = round(old - total, 1)
        out.append(WaveAlert(reasons.SCORE_DROP, wave_from, wave_to, key, name,
                             f"score {old:g} -> {total:g} (-{drop:g}, threshold {threshold:g})",
                             evidence={"score_from": old, "score_to": total, "drop": drop, "threshold": threshold}))
    return out


class ClaimChannel(Protocol):
    """What a claim rule reads of a channel's availability grid (one wave's checks)."""

    company_key: str
    kind: str
    value: str
    totals: dict[str, int]

    @property
    def claims_24_7(self) -> bool: ...

    @property
    def claim(self) -> str: ...

    @property
    def conclusive(self) -> int: ...


def claim_failures(channels: Iterable[ClaimChannel], names: Mapping[str, str], wave_from: int | None,
                   wave_to: int) -> list[WaveAlert]:
    """Lines and chats whose page claims 24/7 and whose checks in wave ``wave_to`` did not all answer."""
    out = []
    for g in channels:
        if not g.claims_24_7 or g.claim != "failed":
            continue
        answered = g.totals.get("up", 0)
        out.append(WaveAlert(reasons.CLAIM_24_7_FAILED, wave_from, wave_to, g.company_key,
                             names.get(g.company_key, g.company_key),
                             f"claims 24/7; answered {answered} of {g.conclusive} conclusive checks",
                             kind=g.kind, value=g.value,
                             evidence={"answered": answered, "conclusive": g.conclusive,
                                       "outcomes": dict(g.totals)}))
    return out
