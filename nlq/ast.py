"""What a question asks, as frozen records: the parser's output and the compiler's input.

Times stay symbolic here ("last week", "since Monday"): turning them into instants needs the clock
and the team's time zone, which is the compiler's business.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date


class AggKind(enum.StrEnum):
    AVG = "avg"
    MAX = "max"
    MIN = "min"
    SUM = "sum"
    COUNT = "count"
    QUANTILE = "quantile"


@dataclass(frozen=True)
class Aggregation:
    kind: AggKind
    q: float | None = None  # for QUANTILE, in (0, 1)

    @property
    def name(self) -> str:
        """Short column-style name: avg, max, p95, median."""
        if self.kind is not AggKind.QUANTILE or self.q is None:
            return self.kind.value
        if self.q == 0.5:
            return "median"
        return f"p{self.q * 100:g}"

    @property
    def phrase(self) -> str:
        """Words for a sentence: 'the average', 'the p95'."""
        words = {
            AggKind.AVG: "the average",
            AggKind.MAX: "the maximum",
            AggKind.MIN: "the minimum",
            AggKind.SUM: "the sum",
            AggKind.COUNT: "the number of points",
        }
        return words.get(self.kind, f"the {self.name}")


AVERAGE = Aggregation(AggKind.AVG)


class Unit(enum.StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


# Days, as said: resolved against "today" in the team's time zone.


@dataclass(frozen=True)
class DaysAgo:
    days: int  # 0 today, 1 yesterday


@dataclass(frozen=True)
class CalendarDate:
    month: int
    day: int
    year: int | None = None  # None: the most recent such date not in the future


@dataclass(frozen=True)
class Weekday:
    weekday: int  # Monday 0; the most recent one before today


DayRef = DaysAgo | CalendarDate | Weekday


# Time ranges


@dataclass(frozen=True)
class Rolling:
    """last/past N units: [now − N units, now)."""

    count: int
    unit: Unit


@dataclass(frozen=True)
class CalendarPeriod:
    """this/last week (ISO, Monday start), month, year: `back` periods before the current one."""

    unit: Unit
    back: int


@dataclass(frozen=True)
class WholeDay:
    day: DayRef


@dataclass(frozen=True)
class Since:
    day: DayRef


@dataclass(frozen=True)
class Between:
    """From the start of `first` to the end of `last` (both days included)."""

    first: DayRef
    last: DayRef


@dataclass(frozen=True)
class InMonth:
    month: int
    year: int | None = None  # None: the most recent such month that has begun


TimeExpr = Rolling | CalendarPeriod | WholeDay | Since | Between | InMonth


@dataclass(frozen=True)
class LabelMatch:
    """key = one of values."""

    key: str
    values: tuple[str, ...]


class Direction(enum.StrEnum):
    HIGHEST = "highest"
    LOWEST = "lowest"


@dataclass(frozen=True)
class Ranking:
    direction: Direction
    limit: int


class Step(enum.StrEnum):
    """The width of one row of a time series."""

    FIVE_MINUTES = "5 minutes"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class MetricQuestion:
    """An aggregate of one metric, optionally per label value, per time step, ranked or compared."""

    metric: str
    aggregation: Aggregation
    filters: tuple[LabelMatch, ...] = ()
    time: TimeExpr | None = None
    group_by: tuple[str, ...] = ()
    step: Step | None = None
    ranking: Ranking | None = None
    compare_time: TimeExpr | None = None  # "… this week vs last week": `time` against this


@dataclass(frozen=True)
class PeakQuestion:
    """When was the metric highest (or lowest)."""

    metric: str
    direction: Direction
    filters: tuple[LabelMatch, ...] = ()
    time: TimeExpr | None = None


@dataclass(frozen=True)
class ThresholdQuestion:
    """How long was the metric above (or below) a value: whole steps whose average crossed it."""

    metric: str
    above: bool
    threshold: float
    step: Step  # HOUR for "how many hours", FIVE_MINUTES for "how long"
    filters: tuple[LabelMatch, ...] = ()
    time: TimeExpr | None = None


class Subject(enum.StrEnum):
    INCIDENTS = "incidents"
    ALERTS = "alerts"
    PLAYBOOK_RUNS = "playbook runs"


class Measure(enum.StrEnum):
    COUNT = "count"
    MTTR = "mttr"  # mean(resolved − opened) of resolved incidents
    MTTA = "mtta"  # mean(acknowledged − opened) of acknowledged incidents
    AUTO_RESOLVED_SHARE = "auto_resolved_share"


@dataclass(frozen=True)
class EventQuestion:
    """Counts and durations over incident history (and alerts, playbook runs)."""

    subject: Subject
    measure: Measure = Measure.COUNT
    services: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    auto_resolved_only: bool = False
    time: TimeExpr | None = None
    group_by: tuple[str, ...] = ()  # service, priority, playbook, alertname
    step: Step | None = None
    ranking: Ranking | None = None
    compare_time: TimeExpr | None = None


Question = MetricQuestion | PeakQuestion | ThresholdQuestion | EventQuestion


def explicit_date(day: date) -> CalendarDate:
    return CalendarDate(day.month, day.day, day.year)
