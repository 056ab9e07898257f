"""Throughput of the streaming detector's batch API: points/s for many concurrent series, one core.

    .venv/bin/python benchmarks/detect.py [--series 10000] [--points 100] [--per-call 1]

Each update carries one point of every series (`--per-call N`: N consecutive points of every
series, split into rounds by the detector). Series are synthetic (level + daily cycle + noise +
rare spikes) so every code path runs: seasonal and level predictors, tails, rhythm, episodes.

Two regimes are timed. "young": series 300 points old, whose tail caches are refreshed every 16
points; "steady": series past tails.YOUNG_POINTS, refreshed every 128 points, which is what a
long-running service sees. Reaching the steady regime means feeding ~2100 points per series first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from engine.detection import tails
from engine.detection.detector import StreamingDetector

STEP_SECONDS = 300.0
START = 1_700_000_000.0
YOUNG_AT = 300


def synthetic(
    series: int, start_point: int, points: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """(points, series) values; point k of every series is at START + k * STEP_SECONDS."""
    k = np.arange(start_point, start_point + points)[:, None]
    base = np.linspace(10.0, 1000.0, series)[None, :]
    daily = 0.2 * base * np.sin(2 * np.pi * k * STEP_SECONDS / 86_400.0 + np.arange(series)[None, :])
    values = base + daily + rng.normal(0.0, 0.02, (points, series)) * base
    spikes = rng.random((points, series)) < 0.001
    return np.where(spikes, values * 3.0, values)


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU {core}"
    return "not pinned (no sched_setaffinity)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=100, help="timed points per series in each regime")
    parser.add_argument("--per-call", type=int, default=1, help="points per series in one update call")
    parser.add_argument(
        "--young-only", action="store_true", help="skip the long warm-up to the steady regime"
    )
    args = parser.parse_args(argv)
    print(pin_to_one_core())

    rng = np.random.default_rng(0)
    detector = StreamingDetector(capacity=args.series)
    slots = np.arange(args.series, dtype=np.int64)

    def feed(start_point: int, points: int) -> float:
        """Seconds spent inside `update` for points [start_point, start_point + points) of every series."""
        spent = 0.0
        for first in range(start_point, start_point + points, 500):
            count = min(500, start_point + points - first)
            values = synthetic(args.series, first, count, rng)
            for offset in range(0, count, args.per_call):
                chunk = values[offset : offset + args.per_call]
                ts = START + STEP_SECONDS * np.arange(first + offset, first + offset + len(chunk))
                batch = (np.tile(slots, len(chunk)), np.repeat(ts, args.series), chunk.ravel())
                started = time.perf_counter()
                detector.update(*batch)
                spent += time.perf_counter() - started
        return spent

    def report(regime: str, seconds: float) -> None:
        points = args.series * args.points
        print(f"{regime:7s}: {points} points in {seconds:.2f} s = {points / seconds:>9,.0f} points/s")

    print(f"{args.series} series, {args.per_call} point(s) per series per update call")
    feed(0, YOUNG_AT)
    report("young", feed(YOUNG_AT, args.points))
    if not args.young_only:
        steady_at = tails.YOUNG_POINTS + tails.REFRESH_POINTS
        feed(YOUNG_AT + args.points, steady_at - YOUNG_AT - args.points)
        report("steady", feed(steady_at, args.points))
    print(
        f"state: {len(detector.to_bytes()) / args.series:,.0f} bytes per series in the compressed snapshot, "
        f"{len(detector.series_state(0)):,} bytes for one series on its own"
    )
    # what a periodic save and a partition takeover cost per series: snapshot, encode, decode
    slots = list(range(args.series))
    began = time.perf_counter()
    snapshots = detector.series_snapshots(slots)
    taken = time.perf_counter()
    blobs = detector.encode_series_rows(snapshots)
    encoded = time.perf_counter()
    for blob in blobs:
        detector.decode_series(blob)
    decoded = time.perf_counter()
    print(
        f"series state: snapshot of {args.series} series {1000 * (taken - began):.1f} ms (detection waits), "
        f"encode {1e6 * (encoded - taken) / args.series:.0f} µs and decode "
        f"{1e6 * (decoded - encoded) / args.series:.0f} µs per series"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
