"""Schedules for ``auditor wave DIR --every SPEC``: a SPEC read into APScheduler triggers.

Parsing is pure (text and a time zone in, a trigger out), so the fire times a
SPEC means can be tested exactly, daylight-saving changes included, without
waiting for them. The grammar (``SPEC`` is one or more rules separated by ``;``):

    RULE     := [DAYS] TIMES          at these local times on these days (every day without DAYS)
              | ["every"] DURATION    every N seconds/minutes/hours/days, counted from the start
              | CRON                  five cron fields: minute hour day-of-month month day-of-week
    DAYS     := DAYSET {"," DAYSET}
    DAYSET   := DAY ["-" DAY] | "daily" | "weekdays" | "weekends"
    DAY      := mon | tue | wed | thu | fri | sat | sun   (full names too, any case)
    TIMES    := TIME {"," TIME}        TIME := HH:MM[:SS], 24-hour clock
    DURATION := N("s" | "m" | "h" | "d")

For example ``mon-fri 09:00,13:00,19:00; sat 11:00; sun 03:00`` or
``0 9 * * 1-5``. A day range may wrap (``fri-mon``). Cron fields keep cron's
meaning: day-of-week 0 and 7 are Sunday (APScheduler's own numbering starts at
Monday, so the field is translated to names), and when both day-of-month and
day-of-week are restricted either one matching fires, as in cron. ``every``
rules stand alone (an interval has no wall-clock anchor to combine with).

Daylight saving: a time that happens twice on the autumn day runs once, at its
first occurrence; a time that does not exist on the spring day (02:30 in
central Europe) runs once, an hour later by the clock (03:30), as APScheduler's
cron trigger computes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from auditor.config import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = {"monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu", "friday": "fri",
         "saturday": "sat", "sunday": "sun"}
_GROUPS = {"daily": DAYS, "weekdays": DAYS[:5], "weekends": DAYS[5:]}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")
_DURATION = re.compile(r"^(?:every\s+)?(\d+)\s*([smhd])$", re.IGNORECASE)
_DAYS_TIMES = re.compile(r"^(?P<days>[^\d]*?)\s*(?P<times>\d[\d:,\s]*)$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# The value `--tz` takes for "each phone number's own time zone".
PER_NUMBER = "per-number"


class ScheduleError(ConfigError):
    """A SPEC or time zone the scheduler cannot use; the message says which part and why."""


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Budapest``, ``UTC``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name!r} (use an IANA name such as Europe/Budapest)") from exc


def _day(word: str, rule: str) -> int:
    w = word.strip().lower()
    w = _FULL.get(w, w)
    if w not in DAYS:
        raise ScheduleError(f"{rule!r}: {word!r} is not a day (mon, tue, wed, thu, fri, sat, sun)")
    return DAYS.index(w)


def parse_days(text: str, rule: str = "") -> tuple[str, ...]:
    """``mon-fri,sun`` as day names in week order; ranges may wrap (``fri-mon``)."""
    chosen: set[int] = set()
    for part in text.split(","):
        part = part.strip().lower()
        if part in _GROUPS:
            chosen.update(DAYS.index(d) for d in _GROUPS[part])
        elif "-" in part:
            first, _, last = part.partition("-")
            a, b = _day(first, rule or text), _day(last, rule or text)
            chosen.update(i % 7 for i in range(a, a + (b - a) % 7 + 1))
        else:
            chosen.add(_day(part, rule or text))
    return tuple(DAYS[i] for i in sorted(chosen))


def parse_time(text: str, rule: str = "") -> tuple[int, int, int]:
    """``HH:MM[:SS]`` as (hour, minute, second)."""
    m = _TIME.match(text.strip())
    if m is None:
        raise ScheduleError(f"{rule or text!r}: {text.strip()!r} is not a time (HH:MM or HH:MM:SS, 24-hour)")
    return int(m[1]), int(m[2]), int(m[3] or 0)


class WallClockCron(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """APScheduler's cron trigger, made safe across the autumn clock change.

    APScheduler 3's cron trigger fires at both occurrences of 02:30 on the day
    clocks go back, and for a wildcard hour it can return the repeated hour's
    time again and again (a scheduler would loop on it). Here fire times only
    move forward, a fixed-time rule (``once``) fires once per wall-clock time
    like cron's fixed-time jobs, and times are returned normalized (a
    spring-gap time as the real local time it falls on).
    """

    def __init__(self, cron: CronTrigger, once: bool) -> None:
        self.cron, self.once = cron, once

    def _normal(self, t: datetime) -> datetime:
        return t.astimezone(UTC).astimezone(self.cron.timezone)

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        nxt: datetime | None = self.cron.get_next_fire_time(previous_fire_time, now)
        floor = previous_fire_time.astimezone(UTC) if previous_fire_time else None
        for _ in range(24 * 60):  # bounded: a search step is a minute, a clock change an hour or two
            if nxt is None:
                return None
            nxt = self._normal(nxt)
            repeat = self.once and nxt.fold == 1 and nxt.replace(fold=0).utcoffset() != nxt.utcoffset()
            if not repeat and (floor is None or nxt.astimezone(UTC) > floor):
                return nxt
            floor = max(floor, nxt.astimezone(UTC)) if floor else nxt.astimezone(UTC)
            step = self._normal(floor.replace(second=0, microsecond=0) + timedelta(minutes=1))
            nxt = self.cron.get_next_fire_time(None, step)
        return None

    def __str__(self) -> str:
        return str(self.cron)


def _cron_dow(field: str) -> str:
    """Cron's day-of-week field (0 or 7 = Sunday) in day names, which APScheduler reads unambiguously."""
    if field == "*":
        return field

    def name(token: str) -> str:
        if token.isdigit():
            n = int(token)
            if n > 7:
                raise ScheduleError(f"day-of-week {token} is out of range 0-7")
            return DAYS[(n - 1) % 7]
        return token.lower()

    out: list[str] = []
    for part in field.split(","):
        base, slash, step = part.partition("/")
        if "-" in base:
            a, _, b = base.partition("-")
            out.append(f"{name(a)}-{name(b)}{slash}{step}")
        else:
            out.append(f"{name(base)}{slash}{step}")
    return ",".join(out)


def _cron(rule: str, tz: tzinfo) -> BaseTrigger:
    minute, hour, dom, month, dow = rule.split()
    try:
        def make(day: str, day_of_week: str) -> BaseTrigger:
            trigger = CronTrigger(minute=minute, hour=hour, day=day, month=month,
                                  day_of_week=_cron_dow(day_of_week), timezone=tz)
            return WallClockCron(trigger, once="*" not in hour and "/" not in hour)

        if dom != "*" and dow != "*":  # cron: either field matching fires
            return OrTrigger([make(dom, "*"), make("*", dow)])
        return make(dom, dow)
    except ValueError as exc:
        raise ScheduleError(f"{rule!r} is not a valid cron expression: {exc}") from exc


def _rule(rule: str, tz: tzinfo) -> list[BaseTrigger]:
    words = rule.split()
    if len(words) == 5 and not any(":" in w for w in words) and not words[0].isalpha():
        return [_cron(rule, tz)]
    m = _DAYS_TIMES.match(rule)
    if m is None:
        raise ScheduleError(f"{rule!r}: expected DAYS HH:MM[,HH:MM...], 'every N(s|m|h|d)' or five cron fields")
    days = parse_days(m["days"], rule) if m["days"].strip() else DAYS
    times_text = re.sub(r"\s+", "", m["times"])
    triggers: list[BaseTrigger] = []
    for text in times_text.split(","):
        hour, minute, second = parse_time(text, rule)
        triggers.append(WallClockCron(CronTrigger(day_of_week=",".join(days), hour=hour, minute=minute,
                                                  second=second, timezone=tz), once=True))
    return triggers


def parse_spec(spec: str, tz: tzinfo) -> BaseTrigger:
    """The APScheduler trigger for ``spec`` in time zone ``tz`` (see the module's grammar)."""
    rules = [r.strip() for r in spec.split(";") if r.strip()]
    if not rules:
        raise ScheduleError("the schedule is empty")
    intervals = [m for r in rules if (m := _DURATION.match(r))]
    if intervals:
        if len(rules) > 1:
            raise ScheduleError(f"{spec!r}: an 'every' interval cannot be combined with other rules")
        n, unit = int(intervals[0][1]), intervals[0][2].lower()
        if n <= 0:
            raise ScheduleError(f"{spec!r}: the interval must be at least 1{unit}")
        return IntervalTrigger(**{_UNITS[unit]: n}, timezone=tz)
    triggers = [t for r in rules for t in _rule(r, tz)]
    return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)


def per_number_trigger(spec: str, zones: Iterable[str]) -> BaseTrigger:
    """``spec`` read in each of ``zones``: it fires whenever it is a scheduled time in any of them."""
    names = sorted(set(zones))
    if not names:
        raise ScheduleError("--tz per-number: the audit has no phone number with a known time zone")
    triggers = [parse_spec(spec, zone(name)) for name in names]
    return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)


def fire_times(trigger: BaseTrigger, start: datetime, count: int) -> Iterator[datetime]:
    """The next ``count`` fire times of ``trigger`` after ``start``, as APScheduler computes them."""
    previous: datetime | None = None
    now = start
    for _ in range(count):
        nxt: datetime | None = trigger.get_next_fire_time(previous, now)
        if nxt is None:
            return
        yield nxt
        previous, now = nxt, nxt + timedelta(microseconds=1)


@dataclass(frozen=True)
class Schedule:
    """A parsed SPEC with the zone it is read in (``per-number``: the phone numbers' zones)."""

    spec: str
    tz: str
    trigger: BaseTrigger

    def describe(self) -> str:
        return f"{self.spec!r} ({self.tz})"


def schedule_section(table: object) -> tuple[str | None, str | None]:
    """``[schedule]``: (``every``, ``tz``), each None when not set."""
    if table is None:
        return None, None
    if not isinstance(table, dict):
        raise ScheduleError("[schedule] must be a table")
    unknown = set(table) - {"every", "tz"}
    if unknown:
        raise ScheduleError(f"unknown key(s) in [schedule]: {', '.join(sorted(unknown))}")
    every, tz = table.get("every"), table.get("tz")
    return (str(every) if every else None), (str(tz) if tz else None)


def local_zone_name() -> str:
    """This machine's IANA time zone (what cron and systemd timers use): the default of ``--tz``."""
    import tzlocal

    return str(tzlocal.get_localzone_name() or "UTC")
