"""Samples, labels, the time split and the quality measures of the incident forecaster."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.forecast_history import generate
from engine.forecasting import EventHistoryBuilder, ForecastParams, train_forecaster
from engine.forecasting.model import ForecastModel, ForecastModelError
from engine.forecasting.training import (
    ForecastTrainingError,
    average_precision,
    best_f1_threshold,
    build_samples,
    roc_auc,
)
from engine.models import AlertSource, Severity

T = 1_767_225_600.0
MIN = 60.0


def test_a_sample_is_positive_when_a_major_incident_becomes_serious_within_the_horizon() -> None:
    builder = EventHistoryBuilder()
    builder.alert("api", T, Severity.WARNING, AlertSource.ALERTMANAGER)
    builder.major_incident("api", T + 60 * MIN, T + 90 * MIN)
    history = builder.build(T, T + 4 * 3600)
    samples = build_samples(history, ForecastParams())
    by_time = dict(zip(samples.at.tolist(), samples.label.tolist(), strict=True))
    assert by_time[T + 25 * MIN] is False  # 35 minutes before: beyond the 30-minute horizon
    assert by_time[T + 30 * MIN] is True
    assert by_time[T + 55 * MIN] is True
    # while the incident is open the service is not forecast; afterwards it is, negative again
    assert T + 60 * MIN not in by_time and T + 85 * MIN not in by_time
    assert by_time[T + 90 * MIN] is False
    # the last sample still has a whole horizon of known future after it
    assert samples.at.max() <= history.end - 30 * MIN


def test_probabilities_rank_and_threshold_measures() -> None:
    label = np.array([True, False, True, False, False])
    score = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    assert roc_auc(label, score) == pytest.approx(5 / 6)
    assert average_precision(label, score) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert best_f1_threshold(label, score) == pytest.approx(0.7)  # F1 0.8 against 0.67 at 0.9
    assert roc_auc(np.array([True, False]), np.array([0.5, 0.5])) == pytest.approx(0.5)


def test_learns_build_ups_and_reports_on_a_later_held_out_period() -> None:
    generated = generate(services=20, days=60, seed=3)
    result = train_forecaster(generated.history)
    metrics = result.metrics
    assert metrics.holdout_from.timestamp() >= generated.history.start + 0.74 * (
        generated.history.end - generated.history.start - 1800
    )
    assert metrics.major_incidents >= 20
    # half the outages build up first: a forecaster that learned nothing would rank at chance
    assert metrics.roc_auc > 0.62
    assert metrics.warned_incidents > 0 and metrics.true_alarms > 0
    assert metrics.average_precision > 3 * metrics.base_rate
    assert metrics.median_lead_minutes is not None and 0 < metrics.median_lead_minutes <= 30
    stored = ForecastModel.from_stored(result.model.ubj, result.model.details(), result.model.metrics)
    assert stored.threshold == result.model.threshold


def test_a_history_without_enough_major_incidents_is_refused_with_a_reason() -> None:
    builder = EventHistoryBuilder()
    for k in range(500):
        builder.alert("api", T + k * 600, Severity.WARNING, AlertSource.ALERTMANAGER)
    builder.major_incident("api", T + 86_400, T + 90_000)
    with pytest.raises(ForecastTrainingError, match="major-incident onsets"):
        train_forecaster(builder.build())


def test_a_stored_model_with_other_bytes_or_features_is_refused() -> None:
    generated = generate(services=10, days=40, seed=5)
    model = train_forecaster(generated.history).model
    details = model.details()
    with pytest.raises(ForecastModelError, match="checksum"):
        ForecastModel.from_stored(model.ubj + b"x", details, model.metrics)
    with pytest.raises(ForecastModelError, match="other features"):
        ForecastModel.from_stored(model.ubj, {**details, "feature_names": ["a"]}, model.metrics)


def test_alarms_are_runs_and_an_incident_is_warned_of_by_its_first_alarm() -> None:
    from engine.forecasting.training import Samples, evaluate

    step = 300.0
    # service 0: alarmed at steps 0-1 (one alarm, false) and 4-5 (one alarm, announcing the onset at
    # step 6); service 1: its onset at step 3 is never alarmed
    service = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
    steps = np.array([0, 1, 2, 3, 4, 5, 0, 1, 2])
    at = T + steps * step
    onset0, onset1 = T + 6 * step, T + 3 * step
    label = np.array([False, False, False, False, True, True, True, True, True])
    onset = np.where(label, np.where(service == 0, onset0, onset1), np.nan)
    score = np.array([0.9, 0.9, 0.1, 0.1, 0.8, 0.8, 0.1, 0.1, 0.1])
    samples = Samples(("a", "b"), service, steps, at, np.zeros((9, 1), dtype=np.float32), label, onset)
    metrics = evaluate(samples, score, threshold=0.5)
    assert (metrics.alarms, metrics.true_alarms) == (2, 1)
    assert (metrics.major_incidents, metrics.warned_incidents) == (2, 1)
    assert metrics.median_lead_minutes == pytest.approx(10.0)  # first alarm at step 4, onset at 6
    assert metrics.precision == pytest.approx(2 / 4) and metrics.recall == pytest.approx(2 / 5)
