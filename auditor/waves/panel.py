"""Panel figures per wave and per industry and country: the numbers published studies report.

Pure: per-wave history rows, availability observations, published hours, the
companies' industry and country, and the mystery-shopper inquiries in; one
:class:`Figure` per (wave, scope, group, metric) out. Every share keeps its
numerator and denominator, so a reader sees how few checks a share may rest on,
and ``unknown`` never enters a numerator (only conclusive checks count).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from auditor.waves.availability import Hours, Observation, assign_wave, build_grids

# metric -> what it counts (the report and the README show these)
METRICS: Mapping[str, str] = {
    "numbers-inactive": "published phone numbers judged inactive, of those with a verdict",
    "lines-reachable-outside-hours": "lines that answered at least once outside their published hours, "
                                     "of those called conclusively outside them",
    "claims-24-7-held": "channels claiming 24/7 that answered in every conclusive check, of those checked",
    "chat-checks-no-operator": "chat checks in which the provider said nobody was online, "
                               "of those where it said either way",
    "email-replied": "mystery-shopper inquiries a person replied to, of those sent and settled "
                     "(replied, bounced, auto-acknowledged only, or past the cutoff)",
    "email-reply-hours": "median hours from an inquiry to its first human reply (value), over the replies",
}
SCOPES = ("panel", "industry", "country")


@dataclass(frozen=True)
class CompanyInfo:
    name: str
    industry: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Figure:
    """One figure: a share (``value`` = numerator / denominator) or, for ``email-reply-hours``, a median."""

    wave: int | None  # None: across every wave
    scope: str  # panel | industry | country | company
    group: str  # "" for the panel; else the industry, the country or the company's name
    metric: str
    numerator: int
    denominator: int
    value: float | None

    @property
    def share(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class Inquiry:
    company_key: str
    sent_at: datetime
    status: str
    first_human_at: datetime | None = None


class _Tally:
    """Numerators and denominators per (scope, group, metric), plus the reply hours behind a median."""

    def __init__(self, companies: Mapping[str, CompanyInfo]) -> None:
        self.companies = companies
        self.counts: dict[tuple[str, str, str], list[int]] = {}
        self.hours: dict[tuple[str, str], list[float]] = {}

    def groups(self, company_key: str) -> list[tuple[str, str]]:
        info = self.companies.get(company_key)
        out = [("panel", "")]
        if info is not None and info.industry:
            out.append(("industry", info.industry))
        if info is not None and info.country:
            out.append(("country", info.country))
        return out

    def count(self, company_key: str, metric: str, hit: bool) -> None:
        for scope, group in self.groups(company_key):
            cell = self.counts.setdefault((scope, group, metric), [0, 0])
            cell[0] += int(hit)
            cell[1] += 1

    def reply(self, company_key: str, hours: float) -> None:
        for scope, group in self.groups(company_key):
            self.hours.setdefault((scope, group), []).append(hours)

    def figures(self, wave: int | None) -> list[Figure]:
        out = [Figure(wave, scope, group, metric, n, d, n / d if d else None)
               for (scope, group, metric), (n, d) in self.counts.items()]
        out += [Figure(wave, scope, group, "email-reply-hours", len(h), len(h), round(statistics.median(h), 2))
                for (scope, group), h in self.hours.items()]
        return out


def _order(figures: list[Figure]) -> list[Figure]:
    metric_order = {m: i for i, m in enumerate(METRICS)}
    scope_order = {s: i for i, s in enumerate((*SCOPES, "company"))}
    return sorted(figures, key=lambda f: (f.wave if f.wave is not None else 1 << 30, scope_order[f.scope],
                                          f.group.casefold(), metric_order.get(f.metric, 99)))


def panel_figures(
    waves: Sequence[tuple[int, float]],
    points: Iterable[Mapping[str, object]],
    observations: Sequence[Observation],
    hours: Mapping[tuple[str, str, str], Hours | None],
    companies: Mapping[str, CompanyInfo],
    inquiries: Iterable[Inquiry] = (),
    finished: Callable[[int], bool] = lambda _n: True,
) -> list[Figure]:
    """Every figure of every finished wave by panel, industry and country, then per company across waves.

    ``waves``: (number, started) of every wave in order (an interrupted wave
    still owns the checks made while it ran); ``points``: history rows (wave,
    company_key, kind, verdict); ``observations`` carry their wave.
    """
    tallies: dict[int, _Tally] = {}

    def tally(wave: int | None) -> _Tally | None:
        if wave is None or not finished(wave) or wave not in {n for n, _ in waves}:
            return None
        return tallies.setdefault(wave, _Tally(companies))

    for p in points:
        if p.get("kind") == "phone" and p.get("verdict"):
            t = tally(int(str(p["wave"])))
            if t is not None:
                t.count(str(p["company_key"]), "numbers-inactive", p["verdict"] == "inactive")
    by_wave: dict[int, list[Observation]] = {}
    for obs in observations:
        if obs.wave is not None:
            by_wave.setdefault(obs.wave, []).append(obs)
    for wave, found in by_wave.items():
        t = tally(wave)
        if t is None:
            continue
        for grid in build_grids(found, {}, hours):
            if grid.kind == "phone" and (reached := grid.reachable_outside_hours) is not None:
                t.count(grid.company_key, "lines-reachable-outside-hours", reached)
            if grid.claim in ("held", "failed"):
                t.count(grid.company_key, "claims-24-7-held", grid.claim == "held")
        for obs in found:
            if obs.source == "operator-status" and obs.outcome in ("up", "no-answer"):
                t.count(obs.company_key, "chat-checks-no-operator", obs.outcome == "no-answer")
    for inq in inquiries:
        t = tally(assign_wave(inq.sent_at.timestamp(), waves))
        if t is None or inq.status == "pending":
            continue
        human = inq.status == "human-reply"
        t.count(inq.company_key, "email-replied", human)
        if human and inq.first_human_at is not None:
            t.reply(inq.company_key, max((inq.first_human_at - inq.sent_at).total_seconds(), 0.0) / 3600)

    out: list[Figure] = []
    for wave in sorted(tallies):
        out.extend(tallies[wave].figures(wave))
    out.extend(company_figures(observations, companies))
    return _order(out)


def company_figures(observations: Iterable[Observation], companies: Mapping[str, CompanyInfo]) -> list[Figure]:
    """Per company across every wave: the share of its chat checks that found no operator online
    (what published studies measured by hand: chat offline in 27-42 % of daytime checks)."""
    counts: dict[str, list[int]] = {}
    for obs in observations:
        if obs.source == "operator-status" and obs.outcome in ("up", "no-answer"):
            cell = counts.setdefault(obs.company_key, [0, 0])
            cell[0] += int(obs.outcome == "no-answer")
            cell[1] += 1
    return [Figure(None, "company", companies[key].name if key in companies else key, "chat-checks-no-operator",
                   n, d, n / d if d else None) for key, (n, d) in counts.items()]
