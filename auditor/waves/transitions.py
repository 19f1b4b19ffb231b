"""Transitions between consecutive waves: pure, history rows in, changes out.

Computed on read from the stored per-wave rows rather than stored themselves:
the wave rows are the facts and never change, so the transitions cannot drift
from them, and a new kind of change (or a fix to one) applies to every past
wave without a migration. The cost is one pass over two waves' rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Change = Literal["appeared", "gone", "verdict-changed", "site-down", "site-back"]
PointKey = tuple[str, str, str]  # company_key, kind, value


@dataclass(frozen=True)
class Transition:
    """One change between wave ``wave_from`` and ``wave_to``, with both waves' evidence."""

    wave_from: int
    wave_to: int
    company_key: str
    company: str
    change: Change
    kind: str = ""
    value: str = ""
    verdict_from: str | None = None
    verdict_to: str | None = None
    reason_from: str | None = None
    reason_to: str | None = None
    page_from: str | None = None
    page_to: str | None = None


Points = dict[PointKey, Mapping[str, Any]]
WaveRows = tuple[int, Iterable[Mapping[str, Any]], Iterable[Mapping[str, Any]]]  # wave, its points, its companies


def _by_company(rows: Iterable[Mapping[str, Any]]) -> dict[str, Points]:
    """One wave's history rows by company: each company's changes read only its own rows."""
    out: dict[str, Points] = {}
    for r in rows:
        out.setdefault(r["company_key"], {})[(r["company_key"], r["kind"], r["value"])] = r
    return out


def transitions(points: Iterable[Mapping[str, Any]], companies: Iterable[Mapping[str, Any]]) -> list[Transition]:
    """Every change between consecutive waves.

    ``points``: history rows (wave, company_key, kind, value, verdict, reason,
    page_url); ``companies``: per-wave company rows (wave, company_key, name,
    status, where ``failed`` means the site did not answer). A company whose
    site went down yields one ``site-down`` and no ``gone`` for its points
    (they were not lost, the site was); it is ``site-back`` when it answers
    again, and its points are then compared with the last wave it answered in.
    """
    by_wave: dict[int, tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]] = {}
    for c in companies:
        by_wave.setdefault(int(c["wave"]), ([], []))[1].append(c)
    for r in points:
        if int(r["wave"]) in by_wave:
            by_wave[int(r["wave"])][0].append(r)
    return list(wave_transitions((n, *by_wave[n]) for n in sorted(by_wave)))


def wave_transitions(waves: Iterable[WaveRows]) -> Iterator[Transition]:
    """``transitions`` over waves given one at a time, oldest first (``store.waves.wave_by_wave`` reads them so).

    Holds two waves' rows and, for each company, the points of the last wave
    its site answered in: memory stays that of one wave however many there are.
    """
    before: int | None = None
    status: dict[str, Mapping[str, Any]] = {}
    points: dict[str, Points] = {}
    last_up: dict[str, Points] = {}  # the points of the last wave in which each company's site answered
    for after, wave_points, wave_companies in waves:
        now_status = {c["company_key"]: c for c in wave_companies}
        now_points = _by_company(wave_points)
        if before is not None:
            for key, company in status.items():
                if company["status"] != "failed":
                    last_up[key] = points.get(key, {})
            yield from _wave_changes(before, after, status, now_status, last_up, now_points)
        before, status, points = after, now_status, now_points


def _wave_changes(before: int, after: int, status: Mapping[str, Mapping[str, Any]],
                  now_status: Mapping[str, Mapping[str, Any]], last_up: Mapping[str, Points],
                  now_points: Mapping[str, Points]) -> Iterator[Transition]:
    for key, company in sorted(now_status.items()):
        was = status.get(key)
        if was is None:
            continue
        name = str(company["name"])
        down_then, down_now = was["status"] == "failed", company["status"] == "failed"
        if down_now and not down_then:
            yield Transition(before, after, key, name, "site-down")
        elif down_then and not down_now:
            yield Transition(before, after, key, name, "site-back")
        if down_now or key not in last_up:
            continue
        # Back after an outage: compared with what the site showed when it last answered.
        yield from _point_changes(before, after, key, name, last_up[key], now_points.get(key, {}))


def _point_changes(before: int, after: int, key: str, name: str, mine_old: Points,
                   mine_new: Points) -> list[Transition]:
    out: list[Transition] = []
    for k in sorted(mine_old.keys() | mine_new.keys()):
        a, b = mine_old.get(k), mine_new.get(k)
        if a is None and b is not None:
            out.append(Transition(before, after, key, name, "appeared", k[1], k[2], None, b["verdict"], None,
                                  b["reason"], None, b["page_url"]))
        elif b is None and a is not None:
            out.append(Transition(before, after, key, name, "gone", k[1], k[2], a["verdict"], None,
                                  a["reason"], None, a["page_url"], None))
        elif a is not None and b is not None and a["verdict"] != b["verdict"]:
            out.append(Transition(before, after, key, name, "verdict-changed", k[1], k[2], a["verdict"],
                                  b["verdict"], a["reason"], b["reason"], a["page_url"], b["page_url"]))
    return out
