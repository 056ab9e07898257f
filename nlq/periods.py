"""Time-series steps in the team's time zone: the SQL key of a row's step, and the step's start.

Keys are integers computed from epoch seconds with plain arithmetic, which both databases do the
same way. Hours and 5-minute steps are absolute (a repeated hour at the end of summer time is two
rows); days, weeks and months are local calendar ones, so a day in a DST change lasts 23 or 25 h.
The UTC offset in force is a CASE over the offset changes inside the range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, case, literal

from engine.rollup.levels import Level
from engine.rollup.plan import coarsest_aligned
from nlq.ast import Step
from nlq.timerange import local_midnight

_SECONDS = {Step.FIVE_MINUTES: 300, Step.HOUR: 3600, Step.DAY: 86_400, Step.WEEK: 7 * 86_400}
_LEVEL = {
    Step.FIVE_MINUTES: Level.M5,
    Step.HOUR: Level.H1,
    Step.DAY: Level.D1,
    Step.WEEK: Level.D1,
    Step.MONTH: Level.D1,
}
_EPOCH_DAY = date(1970, 1, 1)
_EPOCH_MONDAY = date(1969, 12, 29)  # the ISO week that contains 1970-01-01 starts here
_PROBE = timedelta(days=7)
_LONGEST_STEP = timedelta(days=31)
_NO_CHANGES = frozenset(
    {"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Zulu", "Etc/Zulu", "Universal", "Etc/Universal"}
)  # offsets change at most twice a year: weekly probes find each change


@dataclass(frozen=True)
class StepKeys:
    step: Step
    tz: ZoneInfo
    start_s: int
    end_s: int
    # (from epoch second, UTC offset in seconds), oldest first; the first applies before it too
    offsets: tuple[tuple[int, int], ...]

    @classmethod
    def over(cls, step: Step, tz: ZoneInfo, start: datetime, end: datetime) -> StepKeys:
        # from a month earlier: the first step (its week, its month) may begin before the range
        offsets = utc_offsets(tz, start - _LONGEST_STEP, end)
        return cls(step, tz, int(start.timestamp()), int(end.timestamp()), offsets)

    @property
    def coarsest_level(self) -> Level:
        """The coarsest rollup whose buckets never straddle two steps."""
        return coarsest_aligned((offset for _at, offset in self.offsets), _LEVEL[self.step])

    @property
    def seconds(self) -> int | None:
        """The step's length when fixed (None for months)."""
        return _SECONDS.get(self.step)

    def key(self, epoch_seconds: ColumnElement[int]) -> ColumnElement[int]:
        if self.step in (Step.FIVE_MINUTES, Step.HOUR):
            width = _SECONDS[self.step]
            return (epoch_seconds + self._phase(width)) // width
        local_day = (epoch_seconds + self._offset(epoch_seconds)) // 86_400
        if self.step is Step.DAY:
            return local_day
        if self.step is Step.WEEK:
            return (local_day + 3) // 7
        return self._month_key(epoch_seconds)

    def start_of(self, key: int) -> datetime:
        """The first instant of the step with this key, in the team's time zone."""
        if self.step in (Step.FIVE_MINUTES, Step.HOUR):
            width = _SECONDS[self.step]
            return datetime.fromtimestamp(key * width - self._phase(width), tz=UTC).astimezone(self.tz)
        return local_midnight(self.start_of_day(key), self.tz).astimezone(self.tz)

    def label(self, key: int) -> str:
        """start_of(key) in ISO 8601; a long time series has thousands, so the common case (one UTC
        offset over the whole range) is formatted without building zone-aware datetimes."""
        if len(self.offsets) > 1:
            return self.start_of(key).isoformat()
        offset = self.offsets[0][1]
        if self.step in (Step.FIVE_MINUTES, Step.HOUR):
            width = _SECONDS[self.step]
            wall = datetime.fromtimestamp(key * width - self._phase(width) + offset, tz=UTC)
            return wall.strftime("%Y-%m-%dT%H:%M:%S") + _offset_text(offset)
        return f"{self.start_of_day(key).isoformat()}T00:00:00{_offset_text(offset)}"

    def start_of_day(self, key: int) -> date:
        """The local date a day, week or month step starts on."""
        if self.step is Step.DAY:
            return _EPOCH_DAY + timedelta(days=key)
        if self.step is Step.WEEK:
            return _EPOCH_MONDAY + timedelta(weeks=key)
        return date(key // 12, key % 12 + 1, 1)

    def _phase(self, width: int) -> int:
        # absolute steps are shifted by the offset's remainder: hours start at :30 in UTC+5:30
        return self.offsets[0][1] % width

    def _offset(self, epoch_seconds: ColumnElement[int]) -> ColumnElement[int]:
        if len(self.offsets) == 1:
            return literal(self.offsets[0][1], BigInteger)
        changes = [
            (epoch_seconds >= at, literal(offset, BigInteger)) for at, offset in reversed(self.offsets[1:])
        ]
        return case(*changes, else_=literal(self.offsets[0][1], BigInteger))

    def _month_key(self, epoch_seconds: ColumnElement[int]) -> ColumnElement[int]:
        months = _month_starts(self.tz, self.start_s, self.end_s)
        if len(months) == 1:
            return literal(months[0][1], BigInteger)
        whens = [(epoch_seconds >= at, literal(key, BigInteger)) for at, key in reversed(months[1:])]
        return case(*whens, else_=literal(months[0][1], BigInteger))


@cache
def _offset_text(seconds: int) -> str:
    """+05:30, as datetime.isoformat writes a UTC offset."""
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours:02d}:{rest // 60:02d}"


def utc_offsets(tz: ZoneInfo, start: datetime, end: datetime) -> tuple[tuple[int, int], ...]:
    """Every UTC offset in force over [start, end] with the second it begins (the first: `start`)."""
    first, last = int(start.timestamp()), int(end.timestamp())
    found = [(first, _offset_at(tz, first))]
    if tz.key in _NO_CHANGES:
        return tuple(found)
    probe = first
    while probe < last:
        following = min(probe + int(_PROBE.total_seconds()), last)
        if _offset_at(tz, following) != found[-1][1]:
            change = _first_change(tz, probe, following, found[-1][1])
            found.append((change, _offset_at(tz, change)))
        probe = following
    return tuple(found)


def _offset_at(tz: ZoneInfo, epoch_second: int) -> int:
    offset = datetime.fromtimestamp(epoch_second, tz=UTC).astimezone(tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _first_change(tz: ZoneInfo, low: int, high: int, before: int) -> int:
    """The first second in (low, high] whose offset differs from `before` (binary search)."""
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_at(tz, middle) == before:
            low = middle
        else:
            high = middle
    return high


def _month_starts(tz: ZoneInfo, first: int, last: int) -> list[tuple[int, int]]:
    """(epoch second of the local month start, month key = year·12 + month − 1) over [first, last]."""
    local = datetime.fromtimestamp(first, tz=UTC).astimezone(tz).date().replace(day=1)
    starts: list[tuple[int, int]] = []
    while True:
        at = int(local_midnight(local, tz).timestamp())
        if starts and at > last:
            return starts
        starts.append((at, local.year * 12 + local.month - 1))
        local = date(local.year + local.month // 12, local.month % 12 + 1, 1)
