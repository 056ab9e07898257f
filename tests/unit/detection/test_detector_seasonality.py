"""Seasonality is learned where the series has it: time of day, and day of week."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.detection.baseline import day_of_week
from engine.detection.detector import StreamingDetector

HOUR = 3600.0
WEEKS = 5
MIDNIGHT = 1_699_920_000.0  # a Tuesday 00:00 UTC


def _expected(values: npt.NDArray[np.float64], ts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    detector = StreamingDetector()
    return np.array([detector.update([0], [t], [v]).expected[0] for t, v in zip(ts, values, strict=True)])


def test_weekly_rhythm_is_expected_once_learned() -> None:
    ts = MIDNIGHT + HOUR * np.arange(24 * 7 * WEEKS)
    weekend = day_of_week(ts) >= 5
    daily = 30.0 * np.sin(2 * np.pi * (ts % 86_400) / 86_400)
    values = 100.0 + daily - 40.0 * weekend + np.random.default_rng(0).normal(0.0, 2.0, len(ts))
    expected = _expected(values, ts)
    last_week = slice(-24 * 7, None)
    miss = np.abs(values - expected)[last_week]
    # A daily profile alone would sit between weekday and weekend levels (~10 to 30 off).
    assert miss[weekend[last_week]].mean() < 6.0
    assert miss[~weekend[last_week]].mean() < 6.0


def test_time_of_day_is_expected_once_learned() -> None:
    ts = MIDNIGHT + 900.0 * np.arange(96 * 5)
    square = np.where((ts % 86_400) < 43_200, 20.0, 80.0)  # steps at 00:00 and 12:00
    values = square + np.random.default_rng(1).normal(0.0, 1.0, len(ts))
    expected = _expected(values, ts)
    # Right at a step the level predictor is still on the old side (60 off); the daily profile
    # knows the step comes.
    steps = np.flatnonzero((ts % 43_200) == 0)[-2:]
    assert np.abs(values - expected)[steps].max() < 5.0
