"""Planning a range: the coarsest exact level in the middle, finer ones at the edges, what is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.rollup.levels import Level, Retention
from engine.rollup.plan import Availability, Segment, coarsest_aligned, finest_holding, plan_range

H = 3_600_000
D = 24 * H
M5 = 300_000
NOW = int(datetime(2026, 4, 8, 10, 0, tzinfo=UTC).timestamp() * 1000)
LATENESS = H


def rolled_up_at(mark: int) -> Availability:
    return Availability.at(NOW, Retention(), LATENESS, dict.fromkeys((Level.M5, Level.H1, Level.D1), mark))


def test_whole_days_come_from_the_daily_rollup() -> None:
    start = NOW - 10 * H - 7 * D  # midnight a week ago
    plan = plan_range(start, NOW - 10 * H, rolled_up_at(NOW))
    assert plan.segments == (Segment(Level.D1, start, NOW - 10 * H),)
    assert plan.resolution == "1d"


def test_unaligned_edges_go_to_finer_levels_and_raw() -> None:
    start = NOW - 40 * H + 7 * 60_000 + 30_000  # 18:07:30 the day before yesterday
    plan = plan_range(start, NOW - 2 * 60_000, rolled_up_at(NOW))
    levels = [segment.level for segment in plan.segments]
    assert levels == [Level.RAW, Level.M5, Level.H1, Level.D1, Level.H1, Level.M5, Level.RAW]
    # the segments tile the range exactly: nothing counted twice, nothing missed
    assert plan.segments[0].start_ms == start and plan.segments[-1].end_ms == NOW - 2 * 60_000
    for before, after in zip(plan.segments, plan.segments[1:], strict=False):
        assert before.end_ms == after.start_ms
    for segment in plan.segments:
        assert segment.start_ms % segment.level.width_ms == 0 and segment.end_ms % segment.level.width_ms == 0


def test_what_the_rollup_has_not_reached_yet_comes_from_raw_points() -> None:
    plan = plan_range(NOW - 10 * H, NOW, rolled_up_at(NOW - 25 * 60_000))
    assert plan.segments == (
        Segment(Level.H1, NOW - 10 * H, NOW - H),
        Segment(Level.M5, NOW - H, NOW - 25 * 60_000),
        Segment(Level.RAW, NOW - 25 * 60_000, NOW),
    )


def test_without_any_rollup_raw_points_answer_everything() -> None:
    available = Availability.at(NOW, Retention(), LATENESS, {})
    plan = plan_range(NOW - 40 * D, NOW, available)
    assert plan.segments == (Segment(Level.RAW, NOW - 40 * D, NOW),)


def test_an_edge_older_than_raw_retention_is_rounded_to_the_stored_bucket() -> None:
    start = NOW - 3 * D - 2 * 60_000 - 30_000  # raw points from then were pruned
    plan = plan_range(start, NOW, rolled_up_at(NOW))
    assert plan.start_ms == start - start % M5
    assert plan.segments[0].level is Level.M5


def test_ranges_older_than_every_level_are_clipped_to_what_exists() -> None:
    start = NOW - 1000 * D
    plan = plan_range(start, NOW - 10 * H, rolled_up_at(NOW))
    assert plan.start_ms == Level.D1.ceil(NOW - 730 * D)
    assert {segment.level for segment in plan.segments} == {Level.D1}


def test_a_cap_on_the_level_keeps_local_days_whole() -> None:
    start = NOW - 10 * H - 7 * D - 5 * H - 30 * 60_000  # a local midnight in UTC+5:30
    plan = plan_range(start, start + 7 * D, rolled_up_at(NOW), coarsest=Level.M5)
    assert {segment.level for segment in plan.segments} == {Level.M5}


def test_coarsest_aligned_levels_follow_the_utc_offsets() -> None:
    assert coarsest_aligned([0], Level.D1) is Level.D1
    assert coarsest_aligned([3600, 7200], Level.D1) is Level.H1
    assert coarsest_aligned([19_800], Level.D1) is Level.M5  # India, +5:30
    assert coarsest_aligned([0], Level.H1) is Level.H1
    assert coarsest_aligned([45], Level.D1) is Level.RAW


def test_moments_use_the_finest_level_that_holds_the_start() -> None:
    available = rolled_up_at(NOW)
    assert finest_holding(NOW - D, available) is Level.RAW
    assert finest_holding(NOW - 5 * D, available) is Level.M5
    assert finest_holding(NOW - 30 * D, available) is Level.H1
    assert finest_holding(NOW - 300 * D, available) is Level.D1


@pytest.mark.parametrize("days", [1, 3, 20, 100, 800])
def test_plans_always_tile_their_range(days: int) -> None:
    for offset in (0, 1, 299_999, 7 * 60_000 + 1):
        start = NOW - days * D + offset
        plan = plan_range(start, NOW - offset, rolled_up_at(NOW - 7 * 60_000))
        position = plan.start_ms
        for segment in plan.segments:
            assert segment.start_ms == position and segment.end_ms > segment.start_ms
            position = segment.end_ms
        assert position == plan.end_ms


def test_retention_horizon_never_passes_the_next_watermark() -> None:
    """Pruning keeps raw points the 5-minute rollup has not covered, and the plan knows it."""
    stale = Availability.at(NOW, Retention(), LATENESS, {Level.M5: NOW - 5 * D})
    assert stale.oldest_ms[Level.RAW] == NOW - 5 * D - LATENESS
    assert stale.oldest_ms[Level.RAW] < NOW - int(timedelta(hours=48).total_seconds() * 1000)
