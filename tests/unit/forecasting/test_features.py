"""Forecast features see only what was known at each time, over the windows they are named for."""

from __future__ import annotations

import numpy as np
import pytest

from engine.forecasting import FEATURE_NAMES, EventHistoryBuilder, feature_matrix
from engine.models import AlertSource, Severity

T = 1_767_225_600.0  # a Thursday, 00:00 UTC
MIN = 60.0


def column(name: str) -> int:
    return FEATURE_NAMES.index(name)


def features_at(builder: EventHistoryBuilder, service: str, *times: float) -> np.ndarray:
    return feature_matrix(builder.build(), service, np.array(times))


def test_windows_count_events_in_the_half_open_window_ending_now() -> None:
    builder = EventHistoryBuilder()
    for minutes_ago in (0, 4, 5, 14, 16, 59, 61):
        builder.alert("api", T - minutes_ago * MIN, Severity.WARNING, AlertSource.ALERTMANAGER)
    row = features_at(builder, "api", T)[0]
    assert row[column("alerts_5m")] == 2  # 0 and 4 minutes ago; 5 minutes ago is outside (t-5m, t]
    assert row[column("alerts_15m")] == 4
    assert row[column("alerts_60m")] == 6
    assert row[column("alerts_trend_15m")] == 4 - 1  # 16 minutes ago is the only one in (t-30m, t-15m]
    assert row[column("minutes_since_alert")] == 0


def test_an_event_after_the_sample_time_changes_nothing() -> None:
    """No look-ahead: adding events after t leaves the features at t as they were."""
    before = EventHistoryBuilder()
    after = EventHistoryBuilder()
    for builder in (before, after):
        builder.alert("api", T - 10 * MIN, Severity.ERROR, AlertSource.ANOMALY)
        builder.change("api", T - 20 * MIN)
        builder.major_incident("api", T - 3 * 86_400, T - 3 * 86_400 + 3600)
    after.alert("api", T + 1, Severity.CRITICAL, AlertSource.ALERTMANAGER)
    after.alert("db", T + 1, Severity.CRITICAL, AlertSource.ALERTMANAGER)
    after.change("api", T + 60)
    after.major_incident("api", T + 120, None)
    np.testing.assert_array_equal(features_at(before, "api", T), features_at(after, "api", T))


def test_kinds_sources_and_severities_are_told_apart() -> None:
    builder = EventHistoryBuilder()
    builder.alert("api", T - 1 * MIN, Severity.CRITICAL, AlertSource.ALERTMANAGER)
    builder.alert("api", T - 2 * MIN, Severity.WARNING, AlertSource.ANOMALY)
    builder.alert("api", T - 3 * MIN, Severity.WARNING, AlertSource.PREDICTION)
    builder.alert("db", T - 1 * MIN, Severity.ERROR, AlertSource.API)
    builder.change("api", T - 25 * MIN)
    builder.major_incident("api", T - 10 * 86_400, T - 10 * 86_400 + 7200)
    row = features_at(builder, "api", T)[0]
    assert row[column("severe_alerts_15m")] == 1
    assert row[column("anomalies_15m")] == 1
    assert row[column("breach_predictions_60m")] == 1
    assert row[column("changes_30m")] == 1
    assert row[column("minutes_since_change")] == 25
    assert row[column("major_incidents_30d")] == 1
    assert row[column("minutes_since_major")] == pytest.approx((10 * 86_400 - 7200) / 60)
    assert row[column("estate_alerts_15m")] == 4
    assert row[column("estate_severe_alerts_15m")] == 2


def test_a_quiet_or_unknown_service_gets_capped_distances_not_errors() -> None:
    builder = EventHistoryBuilder()
    builder.alert("db", T - 1 * MIN, Severity.WARNING, AlertSource.ALERTMANAGER)
    row = features_at(builder, "never-seen", T)[0]
    assert row[column("alerts_60m")] == 0
    assert row[column("minutes_since_alert")] == 1440
    assert row[column("minutes_since_change")] == 1440
    assert row[column("estate_alerts_15m")] == 1
    assert np.isfinite(row).all()


def test_time_of_week() -> None:
    builder = EventHistoryBuilder()
    saturday_noon = T + 2 * 86_400 + 12 * 3600
    thursday, saturday = features_at(builder, "api", T, saturday_noon)
    assert thursday[column("weekend")] == 0 and saturday[column("weekend")] == 1
    assert saturday[column("hour_cos")] == pytest.approx(-1.0)
