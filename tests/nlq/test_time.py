"""Symbolic times → ranges in the team's time zone, and time-series steps across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import BigInteger, create_engine, literal, select

from engine.rollup.levels import Level
from nlq.ast import (
    Between,
    CalendarDate,
    CalendarPeriod,
    DaysAgo,
    InMonth,
    Rolling,
    Since,
    Step,
    TimeExpr,
    Unit,
    Weekday,
    WholeDay,
)
from nlq.errors import CannotAnswer
from nlq.periods import StepKeys, utc_offsets
from nlq.timerange import resolve

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 4, 8, 10, 0, tzinfo=UTC)  # a Wednesday


def at(*parts: int, tz: ZoneInfo = UTC_ZONE) -> datetime:
    return datetime(*parts, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("expr", "start", "end"),
    [
        (WholeDay(DaysAgo(0)), at(2026, 4, 8), NOW),
        (WholeDay(DaysAgo(1)), at(2026, 4, 7), at(2026, 4, 8)),
        (Rolling(7, Unit.DAY), NOW - timedelta(days=7), NOW),
        (Rolling(90, Unit.MINUTE), NOW - timedelta(minutes=90), NOW),
        (Rolling(1, Unit.MONTH), at(2026, 3, 8, 10), NOW),
        (CalendarPeriod(Unit.WEEK, 0), at(2026, 4, 6), NOW),
        (CalendarPeriod(Unit.WEEK, 1), at(2026, 3, 30), at(2026, 4, 6)),
        (CalendarPeriod(Unit.MONTH, 1), at(2026, 3, 1), at(2026, 4, 1)),
        (CalendarPeriod(Unit.YEAR, 1), at(2025, 1, 1), at(2026, 1, 1)),
        (Since(Weekday(0)), at(2026, 4, 6), NOW),
        (Since(Weekday(2)), at(2026, 4, 1), NOW),  # "since Wednesday" on a Wednesday: a week ago
        (WholeDay(Weekday(6)), at(2026, 4, 5), at(2026, 4, 6)),
        (WholeDay(CalendarDate(3, 3)), at(2026, 3, 3), at(2026, 3, 4)),
        (WholeDay(CalendarDate(12, 25)), at(2025, 12, 25), at(2025, 12, 26)),  # last Christmas
        (Between(CalendarDate(3, 1), CalendarDate(3, 3)), at(2026, 3, 1), at(2026, 3, 4)),
        (Between(CalendarDate(3, 3), CalendarDate(3, 1)), at(2026, 3, 1), at(2026, 3, 4)),
        (InMonth(3), at(2026, 3, 1), at(2026, 4, 1)),
        (InMonth(4), at(2026, 4, 1), NOW),
        (InMonth(6), at(2025, 6, 1), at(2025, 7, 1)),  # June has not come yet this year
        (InMonth(2, 2024), at(2024, 2, 1), at(2024, 3, 1)),
    ],
)
def test_ranges_in_utc(expr: TimeExpr, start: datetime, end: datetime) -> None:
    resolved = resolve(expr, NOW, UTC_ZONE)
    assert (resolved.start, resolved.end) == (start, end)


def test_rolling_months_clamp_to_the_end_of_a_shorter_month() -> None:
    resolved = resolve(Rolling(1, Unit.MONTH), datetime(2026, 3, 31, 12, tzinfo=UTC), UTC_ZONE)
    assert resolved.start == datetime(2026, 2, 28, 12, tzinfo=UTC)


def test_days_are_local_days() -> None:
    # the day summer time starts in Berlin is 23 hours long
    day = resolve(WholeDay(CalendarDate(3, 29)), NOW, BERLIN)
    assert (day.start, day.end - day.start) == (at(2026, 3, 29, tz=BERLIN), timedelta(hours=23))
    yesterday = resolve(WholeDay(DaysAgo(1)), NOW, ZoneInfo("America/New_York"))
    assert yesterday.start == datetime(2026, 4, 7, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    "expr", [WholeDay(CalendarDate(2, 30)), InMonth(4, 2027), Since(CalendarDate(1, 1, 2030))]
)
def test_impossible_or_future_times_are_refused(expr: TimeExpr) -> None:
    with pytest.raises(CannotAnswer):
        resolve(expr, NOW, UTC_ZONE)


def test_offsets_list_every_change_in_the_range() -> None:
    offsets = utc_offsets(BERLIN, at(2026, 3, 1), at(2026, 11, 1))
    assert [offset for _at, offset in offsets] == [3600, 7200, 3600]
    assert datetime.fromtimestamp(offsets[1][0], tz=UTC) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert datetime.fromtimestamp(offsets[2][0], tz=UTC) == datetime(2026, 10, 25, 1, tzinfo=UTC)


def key_of(steps: StepKeys, moment: datetime) -> int:
    """Evaluate the key's SQL (as the compiler emits it) in SQLite for one instant."""
    with create_engine("sqlite://").connect() as conn:
        return int(conn.execute(select(steps.key(literal(int(moment.timestamp()), BigInteger)))).scalar_one())


@pytest.mark.parametrize(
    ("step", "tz", "moment", "start"),
    [
        (Step.DAY, "Europe/Berlin", datetime(2026, 3, 28, 23, 30, tzinfo=UTC), "2026-03-29T00:00:00+01:00"),
        (Step.DAY, "Europe/Berlin", datetime(2026, 3, 29, 22, 30, tzinfo=UTC), "2026-03-30T00:00:00+02:00"),
        (Step.HOUR, "Asia/Kolkata", datetime(2026, 4, 7, 18, 40, tzinfo=UTC), "2026-04-08T00:00:00+05:30"),
        (Step.WEEK, "UTC", datetime(2026, 4, 8, 10, tzinfo=UTC), "2026-04-06T00:00:00+00:00"),
        (Step.MONTH, "Europe/Berlin", datetime(2026, 3, 31, 22, 30, tzinfo=UTC), "2026-04-01T00:00:00+02:00"),
        (Step.MONTH, "Europe/Berlin", datetime(2026, 3, 31, 21, 30, tzinfo=UTC), "2026-03-01T00:00:00+01:00"),
    ],
)
def test_step_keys_in_sql_give_the_local_step(step: Step, tz: str, moment: datetime, start: str) -> None:
    steps = StepKeys.over(
        step, ZoneInfo(tz), datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 9, tzinfo=UTC)
    )
    assert steps.start_of(key_of(steps, moment)).isoformat() == start


def test_steps_cap_the_rollup_level() -> None:
    span = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 8, tzinfo=UTC))
    assert StepKeys.over(Step.DAY, UTC_ZONE, *span).coarsest_level is Level.D1
    assert StepKeys.over(Step.DAY, BERLIN, *span).coarsest_level is Level.H1
    assert StepKeys.over(Step.HOUR, ZoneInfo("Asia/Kolkata"), *span).coarsest_level is Level.M5
    assert StepKeys.over(Step.HOUR, BERLIN, *span).coarsest_level is Level.H1


@pytest.mark.parametrize("step", list(Step))
@pytest.mark.parametrize("tz", ["UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Berlin"])
def test_fast_labels_equal_the_zone_aware_start(step: Step, tz: str) -> None:
    for span in (
        (datetime(2026, 1, 5, tzinfo=UTC), datetime(2026, 2, 20, tzinfo=UTC)),
        (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 8, tzinfo=UTC)),
    ):
        steps = StepKeys.over(step, ZoneInfo(tz), *span)
        first, last = key_of(steps, span[0]), key_of(steps, span[1] - timedelta(seconds=1))
        for key in range(first, min(last, first + 300) + 1):
            assert steps.label(key) == steps.start_of(key).isoformat()
