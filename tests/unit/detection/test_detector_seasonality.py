"""Seasonality is learned where the series has it: time of day, and day of week."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.detection.baseline import day_of_week, points_per_visit
from engine.detection.config import DetectorConfig
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



def test_the_daily_profile_remembers_days_not_points() -> None:
    # Every 2 minutes, so each 30-minute bin of the profile gets 15 points a visit (a day). One day
    # whose afternoon runs 3 noise levels high (not enough to be clipped) must move the profile
    # by about 1/season_visit_span of that, not rewrite it: the day after, the afternoon is
    # expected where it always was from its first point on.
    days, step = 6, 120.0
    ts = MIDNIGHT + step * np.arange(days * int(86_400 / step))
    afternoon = (ts % 86_400) >= 43_200
    odd_day = (ts >= MIDNIGHT + 4 * 86_400) & (ts < MIDNIGHT + 5 * 86_400)
    noise = np.random.default_rng(3).normal(0.0, 0.1, len(ts))
    values = np.where(afternoon, 80.0, 20.0) + 0.3 * (afternoon & odd_day) + noise
    expected = _expected(values, ts)
    first_afternoon_after = np.flatnonzero(afternoon & (ts >= MIDNIGHT + 5 * 86_400))[0]
    assert abs(expected[first_afternoon_after] - 80.0) < 0.15


def test_points_per_visit_follows_the_sampling_interval() -> None:
    config = DetectorConfig()  # 48 bins: 30 minutes each
    seen = np.array([0, 10, 10, 10, 10])
    first = np.zeros(5)
    ts = np.array([0.0, 3000.0, 36_000.0, 10.0, 0.0])  # 5 min, 1 h, 1 s, no time passed
    per_visit = points_per_visit(first, ts, seen, config)
    np.testing.assert_allclose(per_visit, [1.0, 6.0, 1.0, 1800.0, 1.0])
