"""Transitions between consecutive waves: pure, history rows in, changes out.

Computed on read from the stored per-wave rows rather than stored themselves:
the wave rows are the facts and never change, so the transitions cannot drift
from them, and a new kind of change (or a fix to one) applies to every past
wave without a migration. The cost is one pass over two waves' rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


def _points(rows: Iterable[Mapping[str, Any]]) -> dict[tuple[int, str], Points]:
    """History rows by (wave, company): each company's changes read only its own rows."""
    out: dict[tuple[int, str], Points] = {}
    for r in rows:
        out.setdefault((int(r["wave"]), r["company_key"]), {})[(r["company_key"], r["kind"], r["value"])] = r
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
    by_wave = _points(points)
    status: dict[int, dict[str, Mapping[str, Any]]] = {}
    for c in companies:
        status.setdefault(int(c["wave"]), {})[c["company_key"]] = c
    numbers = sorted(status)
    out: list[Transition] = []
    last_up: dict[str, int] = {}  # the last wave in which each company's site answered
    for before, after in zip(numbers, numbers[1:], strict=False):
        for key, company in sorted(status[before].items()):
            if company["status"] != "failed":
                last_up[key] = before
        for key, company in sorted(status[after].items()):
            was = status[before].get(key)
            if was is None:
                continue
            name = str(company["name"])
            down_then, down_now = was["status"] == "failed", company["status"] == "failed"
            if down_now and not down_then:
                out.append(Transition(before, after, key, name, "site-down"))
            elif down_then and not down_now:
                out.append(Transition(before, after, key, name, "site-back"))
            if down_now or (down_then and key not in last_up):
                continue
            # Back after an outage: compared with what the site showed when it last answered.
            base = last_up[key] if down_then else before
            out.extend(_point_changes(before, after, key, name, by_wave.get((base, key), {}),
                                      by_wave.get((after, key), {})))
    return out


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
