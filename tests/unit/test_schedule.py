"""Schedule SPECs -> APScheduler triggers: the exact fire times, daylight-saving days included."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from auditor.waves.schedule import (
    ScheduleError,
    fire_times,
    parse_days,
    parse_spec,
    per_number_trigger,
    zone,
)

BUD = zone("Europe/Budapest")
NY = zone("America/New_York")


def local(spec: str, start: datetime, count: int, tz: str = "Europe/Budapest") -> list[str]:
    return [t.astimezone(zone(tz)).strftime("%a %Y-%m-%d %H:%M:%S%z")
            for t in fire_times(parse_spec(spec, zone(tz)), start, count)]


def test_the_issue_example_fires_on_weekdays_three_times_and_once_on_weekend_days() -> None:
    start = datetime(2026, 12, 7, 0, 0, tzinfo=BUD)  # a Monday
    got = local("mon-fri 09:00,13:00,19:00; sat 11:00; sun 03:00", start, 18)
    assert got == [
        *(f"{d} 2026-12-{n:02d} {h}:00:00+0100" for d, n in
          (("Mon", 7), ("Tue", 8), ("Wed", 9), ("Thu", 10), ("Fri", 11)) for h in ("09", "13", "19")),
        "Sat 2026-12-12 11:00:00+0100", "Sun 2026-12-13 03:00:00+0100", "Mon 2026-12-14 09:00:00+0100",
    ]


def test_days_wrap_and_groups() -> None:
    assert parse_days("fri-mon") == ("mon", "fri", "sat", "sun")
    assert parse_days("weekdays,sun") == ("mon", "tue", "wed", "thu", "fri", "sun")
    assert parse_days("Monday-Wednesday") == ("mon", "tue", "wed")
    assert parse_days("daily") == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def test_times_without_days_are_daily_and_spaces_are_tolerated() -> None:
    start = datetime(2026, 12, 7, 12, 0, tzinfo=BUD)
    assert local("08:30, 18:00:15", start, 3) == [
        "Mon 2026-12-07 18:00:15+0100", "Tue 2026-12-08 08:30:00+0100", "Tue 2026-12-08 18:00:15+0100"]
    assert local("mon - wed, sat 07:00", start, 4) == [
        "Tue 2026-12-08 07:00:00+0100", "Wed 2026-12-09 07:00:00+0100", "Sat 2026-12-12 07:00:00+0100",
        "Mon 2026-12-14 07:00:00+0100"]


def test_cron_day_of_week_keeps_crons_numbering() -> None:
    # APScheduler's own numbering starts at Monday = 0: "1-5" must still mean Monday to Friday.
    start = datetime(2026, 12, 5, 0, 0, tzinfo=BUD)  # a Saturday
    assert local("0 9 * * 1-5", start, 3) == [
        "Mon 2026-12-07 09:00:00+0100", "Tue 2026-12-08 09:00:00+0100", "Wed 2026-12-09 09:00:00+0100"]
    assert local("30 6 * * 0", start, 2) == ["Sun 2026-12-06 06:30:00+0100", "Sun 2026-12-13 06:30:00+0100"]
    assert local("30 6 * * 7", start, 1) == ["Sun 2026-12-06 06:30:00+0100"]


def test_cron_day_of_month_or_day_of_week_as_cron_means_it() -> None:
    # cron: the 1st of the month OR any Monday
    start = datetime(2026, 12, 27, 0, 0, tzinfo=BUD)  # a Sunday
    assert local("0 12 1 * mon", start, 3) == [
        "Mon 2026-12-28 12:00:00+0100", "Fri 2027-01-01 12:00:00+0100", "Mon 2027-01-04 12:00:00+0100"]


def test_spring_forward_a_missing_time_runs_once_an_hour_later() -> None:
    # 2026-03-29: clocks in Budapest jump from 02:00 to 03:00.
    start = datetime(2026, 3, 28, 12, 0, tzinfo=BUD)
    times = list(fire_times(parse_spec("02:30", BUD), start, 3))
    assert [t.astimezone(UTC).isoformat() for t in times] == [
        "2026-03-29T01:30:00+00:00", "2026-03-30T00:30:00+00:00", "2026-03-31T00:30:00+00:00"]
    assert times[0].astimezone(BUD).strftime("%H:%M%z") == "03:30+0200"
    # a time after the jump is unaffected; a daily 03:00 keeps its wall-clock time
    assert local("03:00", start, 2) == ["Sun 2026-03-29 03:00:00+0200", "Mon 2026-03-30 03:00:00+0200"]


def test_fall_back_a_repeated_time_runs_once() -> None:
    # 2026-10-25: clocks in Budapest go back from 03:00 to 02:00; 02:30 happens twice.
    start = datetime(2026, 10, 24, 12, 0, tzinfo=BUD)
    assert [t.astimezone(UTC).isoformat() for t in fire_times(parse_spec("sun 02:30; mon 02:30", BUD), start, 3)] == [
        "2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00", "2026-11-01T01:30:00+00:00"]
    # the same through a cron expression with a fixed hour
    assert [t.astimezone(UTC).isoformat() for t in fire_times(parse_spec("30 2 * * *", BUD), start, 2)] == [
        "2026-10-25T00:30:00+00:00", "2026-10-26T01:30:00+00:00"]


def test_fall_back_an_hourly_cron_only_moves_forward() -> None:
    # APScheduler 3 alone returns 02:00 CET (01:00 UTC) for ever from there: a scheduler would spin.
    start = datetime(2026, 10, 25, 1, 50, tzinfo=BUD)
    got = [t.astimezone(UTC) for t in fire_times(parse_spec("0 * * * *", BUD), start, 5)]
    assert got == sorted(set(got)) and len(got) == 5
    assert got[0].strftime("%H:%M") == "00:00" and got[-1].strftime("%H:%M") in ("04:00", "05:00")
    assert {t.astimezone(BUD).strftime("%H:%M%z") for t in got} >= {"03:00+0100", "04:00+0100"}


def test_new_york_changes_on_its_own_day() -> None:
    start = datetime(2026, 3, 7, 0, 0, tzinfo=NY)  # US DST starts Sunday 8 March 2026
    assert local("09:00", start, 3, "America/New_York") == [
        "Sat 2026-03-07 09:00:00-0500", "Sun 2026-03-08 09:00:00-0400", "Mon 2026-03-09 09:00:00-0400"]


def test_interval_rules_count_from_the_start() -> None:
    start = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)
    trigger = parse_spec("every 2s", UTC)
    first = trigger.get_next_fire_time(None, start)
    second = trigger.get_next_fire_time(first, first)
    assert (second - first).total_seconds() == 2
    assert parse_spec("15m", UTC).interval.total_seconds() == 15 * 60


def test_per_number_reads_the_spec_in_every_zone_of_the_panel() -> None:
    trigger = per_number_trigger("mon 09:00", ["Europe/Budapest", "America/New_York", "Europe/Budapest"])
    start = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert [t.astimezone(UTC).strftime("%a %H:%M") for t in fire_times(trigger, start, 3)] == [
        "Mon 08:00", "Mon 14:00", "Mon 08:00"]
    with pytest.raises(ScheduleError, match="no phone number"):
        per_number_trigger("09:00", [])


@pytest.mark.parametrize(("spec", "message"), [
    ("", "empty"),
    ("mon-fri", "expected DAYS"),
    ("funday 09:00", "not a day"),
    ("mon 25:00", "not a time"),
    ("mon 9", "not a time"),
    ("every 5s; mon 09:00", "cannot be combined"),
    ("every 0s", "at least"),
    ("61 * * * *", "not a valid cron"),
    ("0 9 * * 9", "out of range"),
])
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_spec(spec, BUD)


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone"):
        zone("Mars/Olympus")
