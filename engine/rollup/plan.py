"""Which level answers which part of a time range: the coarsest that is exact, finer ones at the edges.

A level can answer a stretch of time exactly when its buckets tile it (the stretch is aligned to its
width) and it holds those buckets: they are not yet pruned and the rollup has completed them. A range
is covered greedily: the coarsest level takes the aligned middle, finer levels take the two edges,
raw points take what no bucket tiles. Grouping by local hours or days caps the coarsest usable level
(a day in UTC+5:30 is not a union of UTC days), which callers express with `coarsest`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.rollup.levels import LEVELS, Level, Retention, ms

_FOREVER = 2**62


@dataclass(frozen=True)
class Segment:
    level: Level
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Availability:
    """Per level, the stretch [oldest, complete_until) of time whose buckets are certainly stored."""

    oldest_ms: Mapping[Level, int]
    complete_until_ms: Mapping[Level, int]

    @classmethod
    def at(
        cls, now_ms: int, retention: Retention, lateness_ms: int, watermarks_ms: Mapping[Level, int]
    ) -> Availability:
        """What the stores hold at `now`, given each level's rollup watermark (absent: never rolled).

        Pruning never removes source rows the next level has not rolled up yet (see
        `rollup_rows.prune`), so a level's oldest guaranteed data is the later of its retention
        horizon and the next level's watermark less the lateness margin.
        """
        oldest: dict[Level, int] = {}
        complete: dict[Level, int] = {Level.RAW: _FOREVER}
        for position, level in enumerate(LEVELS):
            horizon = now_ms - ms(retention.of(level))
            if position + 1 < len(LEVELS):
                next_mark = watermarks_ms.get(LEVELS[position + 1])
                horizon = -_FOREVER if next_mark is None else min(horizon, next_mark - lateness_ms)
            oldest[level] = level.ceil(horizon)
            if level is not Level.RAW:
                mark = watermarks_ms.get(level)
                complete[level] = -_FOREVER if mark is None else level.floor(mark)
        return cls(oldest, complete)

    def holds(self, level: Level, at_ms: int) -> bool:
        return self.oldest_ms[level] <= at_ms < self.complete_until_ms[level]


@dataclass(frozen=True)
class RangePlan:
    start_ms: int  # the range actually answered, after snapping to what is stored
    end_ms: int
    segments: tuple[Segment, ...]

    @property
    def levels(self) -> tuple[Level, ...]:
        used = {segment.level for segment in self.segments}
        return tuple(level for level in reversed(LEVELS) if level in used)

    @property
    def resolution(self) -> str:
        """'1d', or '1d+1h+raw' when edges come from finer levels; 'none' for an empty range."""
        return "+".join(level.label for level in self.levels) or "none"


def plan_range(start_ms: int, end_ms: int, available: Availability, coarsest: Level = Level.D1) -> RangePlan:
    """Cover [start, end) with segments of levels no coarser than `coarsest`."""
    levels = [level for level in LEVELS if LEVELS.index(level) <= LEVELS.index(coarsest)]
    start = _snap_start(start_ms, levels, available)
    end = _snap_end(end_ms, levels, available)
    if start is None or end is None or start >= end:
        return RangePlan(start_ms, end_ms, ())  # nothing stored for this range
    segments = _cover(start, end, list(reversed(levels)), available)
    return RangePlan(start, end, tuple(segments))


def finest_holding(at_ms: int, available: Availability) -> Level:
    """The finest level that still holds `at_ms` (the coarsest, 1d, when none does).

    Questions whose answer is a moment ("when was it highest") plan with this as the coarsest level
    so that the moment is as precise as the stores allow for the whole range.
    """
    for level in LEVELS:
        if available.holds(level, level.floor(at_ms)):
            return level
    return Level.D1


def coarsest_aligned(offsets_s: Iterable[int], period: Level) -> Level:
    """The coarsest level no coarser than `period` whose buckets never straddle a local boundary.

    A local period boundary sits at `k·period − offset` for each UTC offset in force; buckets of a
    level tile it iff the level's width divides every such offset.
    """
    offsets = set(offsets_s)
    for level in reversed(LEVELS[1 : LEVELS.index(period) + 1]):
        if all(offset % level.width_s == 0 for offset in offsets):
            return level
    return Level.RAW


def _snap_start(start: int, levels: list[Level], available: Availability) -> int | None:
    """The finest level holding `start` rounds it down; data older than any level holds is gone."""
    for level in levels:
        if available.holds(level, level.floor(start)):
            return level.floor(start)
    candidates = [
        max(available.oldest_ms[level], level.ceil(start))
        for level in levels
        if max(available.oldest_ms[level], level.ceil(start)) < available.complete_until_ms[level]
    ]
    return min(candidates) if candidates else None


def _snap_end(end: int, levels: list[Level], available: Availability) -> int | None:
    for level in levels:
        if available.holds(level, level.ceil(end) - 1):
            return level.ceil(end)
    candidates = [
        min(available.complete_until_ms[level], level.floor(end))
        for level in levels
        if min(available.complete_until_ms[level], level.floor(end)) > available.oldest_ms[level]
    ]
    return max(candidates) if candidates else None


def _cover(start: int, end: int, levels: list[Level], available: Availability) -> list[Segment]:
    """Segments for [start, end) using `levels` (coarsest first, raw last)."""
    if start >= end:
        return []
    level, finer = levels[0], levels[1:]
    if level is Level.RAW:
        clipped = max(start, available.oldest_ms[Level.RAW])
        return [Segment(level, clipped, end)] if clipped < end else []
    inner_start = max(level.ceil(start), available.oldest_ms[level])
    inner_end = min(level.floor(end), available.complete_until_ms[level])
    if inner_start >= inner_end:
        return _cover(start, end, finer, available)
    return [
        *_cover(start, inner_start, finer, available),
        Segment(level, inner_start, inner_end),
        *_cover(inner_end, end, finer, available),
    ]
