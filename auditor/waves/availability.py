"""Availability by hour of week: every check of a channel across waves, beside the hours it publishes.

Pure: observations and published hours in, one 7x24 grid per company and channel
out. An observation is one check at one moment in the channel's own time zone:
a line-probe call (rings / not in service / no answer), a chat provider's
operator status (online / offline) or a link check (up / down). Outcomes are
folded into four words so that a grid reads the same for every channel:

* ``up``: the line rang, was busy or answered; an operator was online; the link works;
* ``down``: the number is not in service; the link is gone;
* ``no-answer``: the line exists but nobody answered; nobody was online in the chat;
* ``unknown``: the check could not tell (never counted as down or as no answer).

A channel whose page claims 24/7 (an hours point with ``always_open``) shows in
how many of its conclusive checks it answered, and whether the claim held
(every conclusive check answered), failed, or was never tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

from auditor import reasons
from auditor.extract.hours import DAY_INDEX, DAYS
from auditor.probes.sip.probe import LIVE_REASONS, number_zone

Outcome = Literal["up", "down", "no-answer", "unknown"]
OUTCOMES: tuple[Outcome, ...] = ("up", "down", "no-answer", "unknown")
CONCLUSIVE: tuple[Outcome, ...] = ("up", "down", "no-answer")  # what a check that could tell found
UTC_ZONE = ZoneInfo("UTC")  # where a check is read when neither its number nor its country names a zone
CLAIM_KINDS = ("phone", "chat")  # channels where somebody answers, so a 24/7 claim can hold or fail
DAYS_SHORT = DAYS  # weekday names as the hours extractor writes them, Monday first
Claim = Literal["held", "failed", "untested", ""]

_LINE_UP = LIVE_REASONS | {reasons.BUSY}
# 480/408: the line was reached and nobody answered. No reply at all from the trunk (sip-timeout) says
# nothing about the line: unknown, like every other check that could not tell.
_LINE_NO_ANSWER = frozenset({reasons.NO_ANSWER})


def line_outcome(verdict: str | None, reason: str | None) -> Outcome:
    """A line-probe call as an outcome (RFC 3398 reading: busy proves the line exists)."""
    if reason in _LINE_UP:
        return "up"
    if verdict == "inactive":
        return "down"
    if reason in _LINE_NO_ANSWER:
        return "no-answer"
    return "unknown"


def operator_outcome(state: str | None) -> Outcome:
    """A chat provider's public operator state as an outcome."""
    return {"online": "up", "offline": "no-answer"}.get(state or "", "unknown")  # type: ignore[return-value]


def link_outcome(verdict: str | None) -> Outcome:
    """A widget, messaging or form check as an outcome."""
    return {"active": "up", "inactive": "down"}.get(verdict or "", "unknown")  # type: ignore[return-value]


@dataclass(frozen=True)
class Observation:
    """One check of one channel: when (aware, in the channel's zone), what it found, from which check."""

    company_key: str
    kind: str
    value: str
    at: datetime
    outcome: Outcome
    source: str  # line-probe | operator-status | link
    reason: str = ""
    wave: int | None = None

    @property
    def cell(self) -> tuple[int, int]:
        """(weekday 0 = Monday, hour) of the check in the channel's own time."""
        return self.at.weekday(), self.at.hour


# ----------------------------------------------------------------------------- published hours


@dataclass(frozen=True)
class Hours:
    """Published hours: minute spans per weekday (0 = Monday), and the text as published."""

    text: str
    per_day: Mapping[int, tuple[tuple[int, int], ...]]
    always: bool = False

    def open_at(self, local: datetime) -> bool:
        """Whether ``local`` (the channel's own time) lies inside the published hours."""
        if self.always:
            return True
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        if any(o <= minute < c for o, c in self.per_day.get(day, ())):
            return True
        # a span past midnight ("Fr 22:00-02:00") belongs to the day it starts on
        return any(c > 24 * 60 and minute < c - 24 * 60 for _o, c in self.per_day.get((day - 1) % 7, ()))

    def open_hour(self, day: int, hour: int) -> bool:
        """Whether any part of the hour ``hour`` on ``day`` is inside the published hours."""
        if self.always:
            return True
        start, end = hour * 60, hour * 60 + 60
        if any(o < end and c > start for o, c in self.per_day.get(day, ())):
            return True
        return any(c > 24 * 60 and start < c - 24 * 60 for _o, c in self.per_day.get((day - 1) % 7, ()))


def _minutes(text: Any) -> int | None:
    try:
        h, m = str(text).split(":", 1)
        return int(h) * 60 + int(m)
    except (ValueError, TypeError):
        return None


def hours_of(value: str, details: Mapping[str, Any]) -> Hours | None:
    """The hours extractor's structured hours (``details.spans``, ``always_open``) as :class:`Hours`.

    A span without days ("09:00-17:00" published alone) applies to every day: the
    page names no day it excludes. A close before the open runs past midnight.
    """
    always = bool(details.get("always_open"))
    per_day: dict[int, list[tuple[int, int]]] = {}
    for span in details.get("spans") or ():
        if not isinstance(span, Mapping):
            continue
        o, c = _minutes(span.get("open")), _minutes(span.get("close"))
        if o is None or c is None:
            continue
        if c <= o:
            c += 24 * 60
        days = [DAY_INDEX[d] for d in span.get("days") or () if d in DAY_INDEX] or list(range(7))
        for d in days:
            per_day.setdefault(d, []).append((o, c))
    if not per_day and not always:
        return None
    return Hours(value, {d: tuple(sorted(s)) for d, s in per_day.items()}, always)


def channel_hours(hours_points: Sequence[tuple[str, Mapping[str, Any]]], value: str) -> Hours | None:
    """The hours that describe one channel: those attached to it, else the company's unattached ones.

    ``hours_points``: (value, details) of a company's hours contact points.
    Several schedules for the channel are merged (a page that lists weekday and
    weekend hours apart).
    """
    mine = [(v, d) for v, d in hours_points if d.get("applies_to") == value]
    chosen = mine or [(v, d) for v, d in hours_points if not d.get("applies_to")]
    parsed = [h for v, d in chosen if (h := hours_of(v, d)) is not None]
    if not parsed:
        return None
    if len(parsed) == 1:
        return parsed[0]
    per_day: dict[int, list[tuple[int, int]]] = {}
    for h in parsed:
        for d, spans in h.per_day.items():
            per_day.setdefault(d, []).extend(spans)
    return Hours("; ".join(dict.fromkeys(h.text for h in parsed)),
                 {d: tuple(sorted(set(s))) for d, s in per_day.items()}, any(h.always for h in parsed))


# ----------------------------------------------------------------------------- time zones


def _region_zone(country: str | None) -> ZoneInfo | None:
    """The zone of a country's example fixed line (phonenumbers' own data; the first of several)."""
    if not country:
        return None
    example = phonenumbers.example_number_for_type(country.upper(), phonenumbers.PhoneNumberType.FIXED_LINE)
    return number_zone(example) if example is not None else None


@lru_cache(maxsize=65536)  # one parse per number, not per call: a panel's calls repeat its numbers
def number_zones(number: str) -> tuple[str, ...]:
    """Every zone the numbering plan names for ``number`` (a UK number: Guernsey, Isle of Man, Jersey, London)."""
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return ()
    return tuple(z for z in pn_timezone.time_zones_for_number(parsed) if z and z != "Etc/Unknown")


def company_zone(country: str | None, phones: Iterable[str] = ()) -> ZoneInfo:
    """Where a company's checks are read in local time: its first published number's zone (the
    country's own when the numbering plan names several and it is one of them), else the country's,
    else UTC (a grid in UTC is still a grid; the zone is shown beside it)."""
    region = _region_zone(country)
    for number in phones:
        names = number_zones(number)
        if names:
            return region if region is not None and region.key in names else line_zone(number, None) or UTC_ZONE
    return region or UTC_ZONE


def line_zone(number: str, company: ZoneInfo | None) -> ZoneInfo | None:
    """The zone a line's calls are shown in: the company's when the number may lie in it, else the number's."""
    if company is not None and company.key in number_zones(number):
        return company
    for name in number_zones(number):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


# ----------------------------------------------------------------------------- grids


@dataclass
class ChannelGrid:
    """One channel of one company: a 7x24 grid of outcome counts and what its published hours say."""

    company_key: str
    kind: str
    value: str
    zone: str
    hours: Hours | None = None
    cells: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    outside: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    waves: set[int] = field(default_factory=set)
    operator: dict[str, int] = field(default_factory=lambda: {"up": 0, "no-answer": 0})  # what the provider told

    def add(self, obs: Observation) -> None:
        cell = self.cells.setdefault(obs.cell, dict.fromkeys(OUTCOMES, 0))
        cell[obs.outcome] += 1
        self.totals[obs.outcome] += 1
        if self.hours is not None and not self.hours.always and not self.hours.open_at(obs.at):
            self.outside[obs.outcome] += 1
        if obs.wave is not None:
            self.waves.add(obs.wave)
        if obs.source == "operator-status" and obs.outcome in self.operator:
            self.operator[obs.outcome] += 1

    @property
    def checks(self) -> int:
        return sum(self.totals.values())

    @property
    def conclusive(self) -> int:
        return sum(self.totals[o] for o in CONCLUSIVE)

    @property
    def claims_24_7(self) -> bool:
        """A line or chat said to answer around the clock (a form or link does not answer anyone)."""
        return self.kind in CLAIM_KINDS and self.hours is not None and self.hours.always

    @property
    def claim(self) -> Claim:
        """held: every conclusive check answered; failed: one did not; untested: none was conclusive."""
        if not self.claims_24_7:
            return ""
        if not self.conclusive:
            return "untested"
        return "held" if self.totals["up"] == self.conclusive else "failed"

    @property
    def offline_share(self) -> float | None:
        """A chat's share of operator checks that found nobody online (None: the provider never told)."""
        told = sum(self.operator.values())
        return self.operator["no-answer"] / told if told else None

    @property
    def reachable_outside_hours(self) -> bool | None:
        """Answered at least once outside the published hours; None when never checked there (or no hours)."""
        if not sum(self.outside[o] for o in CONCLUSIVE):
            return None
        return self.outside["up"] > 0

    def cell_state(self, day: int, hour: int) -> str:
        """What one cell shows: none, up, down, no-answer, unknown, or mixed (several conclusive outcomes)."""
        cell = self.cells.get((day, hour))
        if not cell or not sum(cell.values()):
            return "none"
        seen = [o for o in CONCLUSIVE if cell[o]]
        if len(seen) > 1:
            return "mixed"
        return seen[0] if seen else "unknown"


def build_grids(
    observations: Iterable[Observation], zones: Mapping[tuple[str, str, str], str],
    hours: Mapping[tuple[str, str, str], Hours | None],
) -> list[ChannelGrid]:
    """One grid per (company, kind, value) that was checked, in the order first seen.

    ``zones`` and ``hours`` are keyed by (company_key, kind, value); a channel
    missing from ``zones`` is shown in the zone of its observations.
    """
    grids: dict[tuple[str, str, str], ChannelGrid] = {}
    for obs in observations:
        key = (obs.company_key, obs.kind, obs.value)
        grid = grids.get(key)
        if grid is None:
            zone = zones.get(key) or str(obs.at.tzinfo or UTC)
            grid = grids[key] = ChannelGrid(obs.company_key, obs.kind, obs.value, zone, hours.get(key))
        grid.add(obs)
    return list(grids.values())


# ----------------------------------------------------------------------------- observations


def assign_wave(epoch: float, starts: Sequence[tuple[int, float]]) -> int | None:
    """The wave a check made at ``epoch`` belongs to: the last wave started at or before it.

    ``starts``: (number, started) in wave order. A check before every wave's start
    belongs to the first (an audit's first run becomes wave 1 when a second wave begins).
    """
    if not starts:
        return None
    chosen = starts[0][0]
    for number, started in starts:
        if started <= epoch:
            chosen = number
    return chosen


def line_observations(
    ledger: Mapping[str, Any], owners: Mapping[str, Sequence[str]], starts: Sequence[tuple[int, float]] = (),
    zones: Mapping[str, ZoneInfo] | None = None,
) -> list[Observation]:
    """Every finished call of the line probe's ledger, once per company that publishes the number.

    ``owners`` maps E.164 numbers to company keys; ``zones`` company keys to
    their zone (see :func:`line_zone`). The ledger's ``local`` time carries the
    offset the probe read its windows in.
    """
    out: list[Observation] = []
    calls = ledger.get("calls") if isinstance(ledger, Mapping) else None
    for number, entries in (calls or {}).items():
        if not isinstance(entries, Mapping) or number not in owners:
            continue
        for entry in entries.values():
            if not isinstance(entry, Mapping) or entry.get("status") != "done":
                continue  # "in-progress": the run died during the call; it says nothing
            try:
                local = datetime.fromisoformat(str(entry["local"]))
                at = datetime.fromisoformat(str(entry["at"]))
            except (KeyError, ValueError):
                continue
            if local.tzinfo is None:
                continue
            outcome = line_outcome(entry.get("verdict"), entry.get("reason"))
            wave = assign_wave(at.timestamp(), starts) if starts else None
            for company in owners[number]:
                zone = line_zone(number, (zones or {}).get(company))
                shown = local.astimezone(zone) if zone is not None else local  # a named zone, not a bare offset
                out.append(Observation(company, "phone", number, shown, outcome, "line-probe",
                                       str(entry.get("reason") or ""), wave))
    return out


def merge_chat(observations: Sequence[Observation]) -> list[Observation]:
    """A chat whose provider tells the operator state is read by it: its link checks that found the
    widget up are left out (a widget that loads says nothing about anyone being there); link checks
    that found it down or could not tell stay. Other channels are unchanged."""
    told = {(o.company_key, o.value) for o in observations if o.source == "operator-status"}
    return [o for o in observations
            if not (o.kind == "chat" and o.source == "link" and o.outcome == "up" and (o.company_key, o.value) in told)]
