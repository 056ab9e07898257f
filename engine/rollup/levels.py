"""The resolutions metrics are kept at, how long each is kept, and bucket arithmetic.

Times here are integer epoch milliseconds (the precision of raw points); a level's buckets start at
multiples of its width since the epoch, i.e. they are aligned to UTC.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import timedelta


class Level(enum.Enum):
    """Finest first; `width_ms` is 1 for raw points, which need no alignment."""

    RAW = ("raw", 1)
    M5 = ("5m", 300_000)
    H1 = ("1h", 3_600_000)
    D1 = ("1d", 86_400_000)

    def __init__(self, label: str, width_ms: int) -> None:
        self.label = label
        self.width_ms = width_ms

    @property
    def width_s(self) -> int:
        return self.width_ms // 1000

    def floor(self, ms: int) -> int:
        return ms - ms % self.width_ms

    def ceil(self, ms: int) -> int:
        return -((-ms) // self.width_ms) * self.width_ms

    def aligned(self, ms: int) -> bool:
        return ms % self.width_ms == 0

    @property
    def source(self) -> Level:
        """The finer level each bucket is recomputed from."""
        return LEVELS[LEVELS.index(self) - 1]


LEVELS: tuple[Level, ...] = (Level.RAW, Level.M5, Level.H1, Level.D1)
ROLLUP_LEVELS: tuple[Level, ...] = (Level.M5, Level.H1, Level.D1)


@dataclass(frozen=True)
class Retention:
    raw: timedelta = timedelta(hours=48)
    m5: timedelta = timedelta(days=14)
    h1: timedelta = timedelta(days=90)
    d1: timedelta = timedelta(days=730)

    def of(self, level: Level) -> timedelta:
        return {Level.RAW: self.raw, Level.M5: self.m5, Level.H1: self.h1, Level.D1: self.d1}[level]


# The ingest path records a batch's points stamped more than this before they are stored as late
# (rollup_late_points), so that the next rollup run re-rolls their buckets whatever their age.
LATE_AFTER = timedelta(minutes=1)


@dataclass(frozen=True)
class RollupConfig:
    retention: Retention = Retention()
    # How long after a 5-minute bucket ends it is rolled up (complete). A point not recorded as late
    # (stamped less than LATE_AFTER before it was stored) is then in its bucket when the bucket is
    # read, as long as its transaction took less than `lateness - LATE_AFTER` (1 min; a points batch
    # commits in well under 3 s at p99 under load) and the replicas' clocks agree that well.
    lateness: timedelta = timedelta(minutes=2)


_DURATION = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w|y)\s*$")
_UNIT = {
    "m": timedelta(minutes=1),
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "y": timedelta(days=365),
}


def parse_duration(text: str) -> timedelta:
    """'48h', '14d', '2y' → timedelta; raise ValueError otherwise."""
    match = _DURATION.match(text.lower())
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30min, 48h, 14d, 2y)")
    return int(match.group(1)) * _UNIT[match.group(2)]


def ms(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def format_duration(delta: timedelta) -> str:
    """The shortest spelling parse_duration reads back: 48h, 14d, 30min."""
    minutes = int(delta.total_seconds()) // 60
    if minutes % 1440 == 0 and minutes > 3 * 1440:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}min"
