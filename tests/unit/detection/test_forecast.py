"""Time-to-breach forecasts and their raise/clear rule."""

from __future__ import annotations

import numpy as np
import pytest

from engine.detection.forecast import BreachDecision, BreachRule, BreachWatch, forecast_breach

RULE = BreachRule(limit=95.0, window_seconds=1800.0, horizon_seconds=3600.0)


def _replay(ts: np.ndarray, values: np.ndarray, rule: BreachRule) -> list[tuple[float, BreachDecision]]:
    watch = BreachWatch(rule)
    decisions = []
    for i in range(len(ts)):
        decision = watch.step(forecast_breach(ts[: i + 1], values[: i + 1], rule))
        if decision is not None:
            decisions.append((float(ts[i]), decision))
    return decisions


def test_linear_disk_fill_is_predicted_at_least_15_minutes_ahead() -> None:
    rng = np.random.default_rng(0)
    ts = np.arange(0.0, 4 * 3600.0, 60.0)
    values = np.minimum(60.0 + 0.25 * ts / 60.0 + rng.normal(0, 0.3, len(ts)), 100.0)  # +0.25 %/min
    actual_breach = float(ts[np.argmax(values >= 95.0)])
    decisions = _replay(ts, values, RULE)
    raised_at = next(t for t, d in decisions if d is BreachDecision.RAISE)
    assert actual_breach - raised_at >= 15 * 60
    forecast = forecast_breach(ts[ts <= raised_at], values[ts <= raised_at], RULE)
    assert forecast is not None and forecast.minutes_to_breach is not None
    predicted = raised_at + forecast.minutes_to_breach * 60
    assert abs(predicted - actual_breach) < 10 * 60
    # Once the disk is actually full the plain threshold alert takes over.
    assert any(d is BreachDecision.CLEAR and t >= actual_breach for t, d in decisions)


def test_flat_noisy_series_never_raises() -> None:
    rng = np.random.default_rng(1)
    ts = np.arange(0.0, 6 * 3600.0, 60.0)
    values = 70.0 + rng.normal(0, 2.0, len(ts))
    assert _replay(ts, values, RULE) == []


def test_clears_when_the_trend_turns_away() -> None:
    ts = np.arange(0.0, 3 * 3600.0, 60.0)
    turn = 2700.0  # rising 0.2 %/min to 89 %, then falling 0.2 %/min
    values = np.where(ts < turn, 80.0 + 0.2 * ts / 60.0, 89.0 - 0.2 * (ts - turn) / 60.0)
    decisions = [d for _, d in _replay(ts, values, RULE)]
    assert decisions == [BreachDecision.RAISE, BreachDecision.CLEAR]


def test_falling_limit_and_too_few_points() -> None:
    rule = BreachRule(limit=10.0, rising=False, window_seconds=600.0, horizon_seconds=3600.0)
    ts = np.arange(0.0, 600.0, 60.0)
    forecast = forecast_breach(ts, 50.0 - ts / 60.0, rule)
    assert forecast is not None and forecast.seconds_to_breach == pytest.approx(31 * 60.0)
    assert forecast_breach(ts[:3], (50.0 - ts / 60.0)[:3], rule) is None


def test_spikes_do_not_bend_the_trend() -> None:
    ts = np.arange(0.0, 1800.0, 60.0)
    values = np.full(len(ts), 50.0)
    values[[5, 17, 25]] = 99.0
    forecast = forecast_breach(ts, values, RULE)
    assert forecast is not None and forecast.seconds_to_breach is None
