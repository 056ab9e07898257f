"""The ingest benchmark's point bodies: each series advances by one step a round, at its own level.

The figures in README rest on these stamps: a live phase must stamp every point with the time it is
due, or the rollups and the detector see a different workload (session 7 stamped base + tick ×
batch number for a while: years ahead in a long run).
"""

from __future__ import annotations

import argparse
import itertools
from collections import defaultdict

import orjson
import pytest

from benchmarks.ingest import history_point_bodies, live_point_bodies, point_bodies


def stamps_by_host(bodies: list[bytes]) -> dict[str, list[float]]:
    found: dict[str, list[float]] = defaultdict(list)
    for body in bodies:
        for point in orjson.loads(body)["points"]:
            found[point["labels"]["host"]].append(point["ts"])
    return found


def test_every_series_advances_one_step_a_round_at_its_level() -> None:
    bodies = list(itertools.islice(point_bodies(500, 1_000, seed=7, start=1_000.0, step=15.0), 20))
    stamps = stamps_by_host(bodies)
    assert len(stamps) == 1_000
    assert all(times == [1_000.0 + 15.0 * k for k in range(10)] for times in stamps.values())
    for point in orjson.loads(bodies[3])["points"]:
        level = 20 + int(point["labels"]["host"].removeprefix("host-")) % 80
        assert point["value"] == pytest.approx(level, rel=0.0201)  # noise cut at ±2 %


def test_a_live_feed_stamps_each_point_when_it_is_due() -> None:
    args = argparse.Namespace(points_per_request=500, series=1_000)
    bodies, start_at = live_point_bodies(args, seed=7, rate=10_000)
    stamps = stamps_by_host(list(itertools.islice(bodies, 40)))
    # 1,000 series at 10,000 points/s: each series every 0.1 s, from the start
    assert all(
        times == pytest.approx([start_at + 0.1 * k for k in range(20)], abs=0.001)
        for times in stamps.values()
    )


def test_history_gives_each_series_its_own_age_ending_one_step_before_the_feed() -> None:
    bodies = list(history_point_bodies(500, 1_000, seed=7, end=10_000.0, step=0.5, depth=40))
    stamps = stamps_by_host(bodies)
    ages = [len(stamps.get(f"host-{s}", [])) for s in range(1_000)]
    assert all(0 <= age < 40 for age in ages)
    assert len(set(ages)) > 30, "ages spread over the whole depth, not one for all"
    assert sum(ages) == sum(len(orjson.loads(body)["points"]) for body in bodies)
    assert all(len(orjson.loads(body)["points"]) <= 500 for body in bodies)
    for times in stamps.values():
        assert times == [10_000.0 - 0.5 * back for back in range(len(times), 0, -1)]
