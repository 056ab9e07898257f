"""The benchmark's core-speed canary: what it reports of its samples, and that it samples."""

from __future__ import annotations

import time

from benchmarks.cpu_canary import CoreSpeed, CpuCanary


def test_slow_seconds_are_counted_against_the_fastest() -> None:
    speed = CoreSpeed([(1.0, 4.8), (2.0, 8.0), (3.0, 4.9), (4.0, 7.9), (5.0, 5.0)])
    assert speed.describe() == (
        "core speed (fixed work, CPU ms a second): fastest 4.8, median 5.0, slowest 8.0; "
        "40% of 5 seconds ≥ 1.3× the fastest"
    )
    assert speed.between(2.0, 4.0).samples == [(2.0, 8.0), (3.0, 4.9)]
    assert CoreSpeed([]).describe() == ""


def test_the_canary_samples_until_stopped() -> None:
    started = time.time()
    with CpuCanary(interval=0.05) as canary:
        time.sleep(1.0)
    assert len(canary.speed.samples) >= 3
    assert all(started <= at <= time.time() and ms > 0 for at, ms in canary.speed.samples)
