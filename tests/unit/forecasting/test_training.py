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
