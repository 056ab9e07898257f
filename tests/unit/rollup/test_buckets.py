"""Bucket arithmetic: every point counted once, coarser levels equal to summarizing the raw points."""

from __future__ import annotations

import numpy as np
import pytest

from engine.rollup.buckets import BucketRows, merge_buckets, summarize_points
from engine.rollup.levels import Level, format_duration, parse_duration
from engine.rollup.sketch import QuantileSketch


@pytest.fixture
def points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    n = 20_000
    series = rng.integers(1, 6, n)
    ts_ms = rng.integers(1_775_000_000_000, 1_775_000_000_000 + 3 * 86_400_000, n)
    values = rng.lognormal(3, 0.5, n)
    return series, ts_ms, values


def test_each_bucket_holds_exactly_its_points(points: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    series, ts_ms, values = points
    rows = summarize_points(series, ts_ms, values, Level.M5)
    assert rows.count.sum() == len(values)
    for i in range(0, len(rows), 97):
        mine = (series == rows.series_id[i]) & (ts_ms // 300_000 * 300 == rows.bucket[i])
        assert rows.count[i] == mine.sum()
        assert rows.sum[i] == pytest.approx(values[mine].sum())
        assert (rows.min[i], rows.max[i]) == (values[mine].min(), values[mine].max())
        assert rows.sketch[i] == QuantileSketch.from_values(values[mine]).to_bytes()


def test_rolling_5m_up_to_1h_and_1d_equals_summarizing_raw(
    points: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    series, ts_ms, values = points
    five = summarize_points(series, ts_ms, values, Level.M5)
    for level in (Level.H1, Level.D1):
        merged = merge_buckets(five if level is Level.H1 else merge_buckets(five, Level.H1), level)
        direct = summarize_points(series, ts_ms, values, level)
        assert merged.series_id.tolist() == direct.series_id.tolist()
        assert merged.bucket.tolist() == direct.bucket.tolist()
        assert merged.count.tolist() == direct.count.tolist()
        assert np.allclose(merged.sum, direct.sum)
        assert merged.min.tolist() == direct.min.tolist() and merged.max.tolist() == direct.max.tolist()
        assert merged.sketch == direct.sketch


def test_bucket_starts_are_aligned_epoch_seconds() -> None:
    rows = summarize_points(
        np.array([1, 1]), np.array([3_599_999, 3_600_000]), np.array([1.0, 2.0]), Level.H1
    )
    assert rows.bucket.tolist() == [0, 3600]


def test_merging_does_not_depend_on_row_order(points: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    series, ts_ms, values = points
    five = summarize_points(series, ts_ms, values, Level.M5)
    order = np.random.default_rng(4).permutation(len(five))
    shuffled = BucketRows(
        five.series_id[order],
        five.bucket[order],
        five.count[order],
        five.sum[order],
        five.min[order],
        five.max[order],
        [five.sketch[i] for i in order],
    )
    assert merge_buckets(shuffled, Level.H1).sketch == merge_buckets(five, Level.H1).sketch


@pytest.mark.parametrize(
    ("text", "back"), [("48h", "48h"), ("14d", "14d"), ("2y", "730d"), ("30min", "30min")]
)
def test_durations_read_and_print(text: str, back: str) -> None:
    assert format_duration(parse_duration(text)) == back


@pytest.mark.parametrize("text", ["", "0h", "5", "3 parsecs", "-1d"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
