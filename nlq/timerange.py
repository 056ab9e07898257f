"""Symbolic times ("last week", "since Monday") → half-open UTC ranges, in the team's time zone.

Days start at local midnight; weeks are ISO weeks (Monday); months are calendar months; "last N
days" is [now − N days, now). No range reaches past `now`: there is no data from the future; nor
before 1970, where metric time begins (epoch seconds from 0), which also keeps "monthly since
0001-01-01" from becoming a CASE of 24,000 months.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from nlq.ast import (
    Between,
    CalendarDate,
    CalendarPeriod,
    DayRef,
    DaysAgo,
    InMonth,
    Rolling,
    Since,
    TimeExpr,
    Unit,
    Weekday,
    WholeDay,
)
from nlq.errors import CannotAnswer

_MONTH_NAMES = tuple(calendar.month_name)[1:]
_WEEKDAY_NAMES = tuple(calendar.day_name)
_FIXED = {
    Unit.MINUTE: timedelta(minutes=1),
    Unit.HOUR: timedelta(hours=1),
    Unit.DAY: timedelta(days=1),
    Unit.WEEK: timedelta(weeks=1),
}


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TimeRange:
    start: datetime  # aware, UTC
    end: datetime
    words: str  # how the question said it: "yesterday", "the last 7 days"


def resolve(expr: TimeExpr, now: datetime, tz: ZoneInfo) -> TimeRange:
    now = now.astimezone(UTC)
    today = now.astimezone(tz).date()
    try:
        start, end = _bounds(expr, now, today, tz)
    except (OverflowError, ValueError):
        # "last 99999999 days", "since 0001-01-01" in UTC+1: before year 1 or after 9999
        raise CannotAnswer(f"{describe(expr)} is further from today than any data.") from None
    if start > now:
        raise CannotAnswer(f"{describe(expr)} has not begun yet.")
    if end <= start:
        raise CannotAnswer(f"{describe(expr)} is an empty range of time.")
    if end <= EARLIEST:
        raise CannotAnswer(f"{describe(expr)} is before 1970; nothing is stored from then.")
    return TimeRange(max(start, EARLIEST), min(end, now), describe(expr))


def describe(expr: TimeExpr) -> str:
    match expr:
        case Rolling(count, unit):
            return f"the last {unit.value}" if count == 1 else f"the last {count} {unit.value}s"
        case CalendarPeriod(unit, back):
            return f"this {unit.value}" if back == 0 else f"last {unit.value}"
        case WholeDay(day):
            return _day_words(day, on=True)
        case Since(day):
            return f"since {_day_words(day, on=False)}"
        case Between(first, last):
            return f"from {_day_words(first, on=False)} to {_day_words(last, on=False)}"
        case InMonth(month, year):
            return f"in {_MONTH_NAMES[month - 1]}" + (f" {year}" if year else "")
    raise AssertionError(expr)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of `day` in `tz`, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _bounds(expr: TimeExpr, now: datetime, today: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    match expr:
        case Rolling(count, unit):
            if unit in _FIXED:
                return now - count * _FIXED[unit], now
            months = count * (12 if unit is Unit.YEAR else 1)
            local = now.astimezone(tz)
            back = _add_months(local.date(), -months)
            start = datetime.combine(back, local.timetz().replace(tzinfo=None), tzinfo=tz)
            return start.astimezone(UTC), now
        case CalendarPeriod(unit, back):
            first, after = _calendar_period(unit, back, today)
            return local_midnight(first, tz), local_midnight(after, tz)
        case WholeDay(day):
            resolved = _day(day, today)
            return local_midnight(resolved, tz), local_midnight(resolved + timedelta(days=1), tz)
        case Since(day):
            return local_midnight(_day(day, today), tz), now
        case Between(first, last):
            start_day, end_day = _day(first, today), _day(last, today)
            if end_day < start_day:
                start_day, end_day = end_day, start_day
            return local_midnight(start_day, tz), local_midnight(end_day + timedelta(days=1), tz)
        case InMonth(month, year):
            if year is None:
                year = today.year if month <= today.month else today.year - 1
            first = date(year, month, 1)
            return local_midnight(first, tz), local_midnight(_add_months(first, 1), tz)
    raise AssertionError(expr)


def _calendar_period(unit: Unit, back: int, today: date) -> tuple[date, date]:
    if unit is Unit.WEEK:
        monday = today - timedelta(days=today.weekday() + 7 * back)
        return monday, monday + timedelta(days=7)
    if unit is Unit.MONTH:
        first = _add_months(today.replace(day=1), -back)
        return first, _add_months(first, 1)
    if unit is Unit.YEAR:
        return date(today.year - back, 1, 1), date(today.year - back + 1, 1, 1)
    raise CannotAnswer(f"'{'this' if back == 0 else 'last'} {unit.value}' is not a period I know")


def _day(day: DayRef, today: date) -> date:
    match day:
        case DaysAgo(days):
            return today - timedelta(days=days)
        case Weekday(weekday):
            # the most recent one before today: "on Monday" said on a Monday means a week ago
            return today - timedelta(days=(today.weekday() - weekday) % 7 or 7)
        case CalendarDate(month, day_of_month, year):
            try:
                if year is not None:
                    return date(year, month, day_of_month)
                this_year = (
                    date(today.year, month, day_of_month) if _valid(today.year, month, day_of_month) else None
                )
                if this_year is not None and this_year <= today:
                    return this_year
                return date(today.year - 1, month, day_of_month)
            except ValueError:
                raise CannotAnswer(f"{_MONTH_NAMES[month - 1]} {day_of_month} is not a date") from None
    raise AssertionError(day)


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last_day = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def _day_words(day: DayRef, *, on: bool) -> str:
    match day:
        case DaysAgo(0):
            return "today"
        case DaysAgo(1):
            return "yesterday"
        case DaysAgo(days):
            return f"{days} days ago"
        case Weekday(weekday):
            return ("on " if on else "") + _WEEKDAY_NAMES[weekday]
        case CalendarDate(month, day_of_month, year):
            text = f"{_MONTH_NAMES[month - 1]} {day_of_month}" + (f", {year}" if year else "")
            return ("on " if on else "") + text
    raise AssertionError(day)
