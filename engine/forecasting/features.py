"""Features of one service at given times, from what was known at each time (no look-ahead).

Every count is over the window (t - w, t]: an event at exactly t is known at t. Counting is two
binary searches per window over sorted times, so a year of samples for a service costs milliseconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.forecasting.history import SEVERE, EventHistory, ServiceEvents

F64 = npt.NDArray[np.float64]

MINUTE = 60.0
HOUR = 3600.0
DAY = 86_400.0
SINCE_CAP_MINUTES = 1440.0
MAJOR_MEMORY = 30 * DAY

LOOKBACK = {"alerts": DAY, "changes": DAY, "majors": MAJOR_MEMORY}
"""How far back each kind of event matters: what a serving replica must read to compute features."""

FEATURE_NAMES: tuple[str, ...] = (
    "alerts_5m",
    "alerts_15m",
    "alerts_60m",
    "alerts_trend_15m",
    "severe_alerts_15m",
    "severe_alerts_60m",
    "anomalies_15m",
    "anomalies_60m",
    "breach_predictions_60m",
    "minutes_since_alert",
    "changes_30m",
    "changes_120m",
    "minutes_since_change",
    "major_incidents_30d",
    "minutes_since_major",
    "estate_alerts_15m",
    "estate_severe_alerts_15m",
    "hour_sin",
    "hour_cos",
    "weekend",
)


def _count(times: F64, at: F64, window: float) -> F64:
    upto = np.searchsorted(times, at, side="right")
    before = np.searchsorted(times, at - window, side="right")
    return (upto - before).astype(np.float64)


def _minutes_since(times: F64, at: F64, cap_minutes: float) -> F64:
    upto = np.searchsorted(times, at, side="right")
    padded = np.concatenate(([-np.inf], times))  # index 0: nothing happened before
    last = padded[upto]
    return np.minimum((at - last) / MINUTE, cap_minutes)


def feature_matrix(history: EventHistory, service: str, at: F64) -> npt.NDArray[np.float32]:
    """(len(at), len(FEATURE_NAMES)) features of `service` at each time in `at`."""
    events = history.services.get(service)
    if events is None:
        events = _NO_EVENTS
    alerts = events.alert_starts
    severe = alerts[events.alert_severity >= SEVERE]
    anomalies = alerts[events.alert_source == 1]
    breaches = alerts[events.alert_source == 2]
    # a major incident's "since" runs from its end; while it is open the service is not forecast
    major_ended = np.sort(events.major_ended[np.isfinite(events.major_ended)])
    estate_severe = history.estate_alert_starts[history.estate_alert_severity >= SEVERE]
    last15 = _count(alerts, at, 15 * MINUTE)
    hours = (at % DAY) / HOUR
    weekday = ((at // DAY).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    columns = [
        _count(alerts, at, 5 * MINUTE),
        last15,
        _count(alerts, at, HOUR),
        last15 - (_count(alerts, at, 30 * MINUTE) - last15),
        _count(severe, at, 15 * MINUTE),
        _count(severe, at, HOUR),
        _count(anomalies, at, 15 * MINUTE),
        _count(anomalies, at, HOUR),
        _count(breaches, at, HOUR),
        _minutes_since(alerts, at, SINCE_CAP_MINUTES),
        _count(events.changes, at, 30 * MINUTE),
        _count(events.changes, at, 2 * HOUR),
        _minutes_since(events.changes, at, SINCE_CAP_MINUTES),
        _count(events.major_onsets, at, MAJOR_MEMORY),
        _minutes_since(major_ended, at, MAJOR_MEMORY / MINUTE),
        _count(history.estate_alert_starts, at, 15 * MINUTE),
        _count(estate_severe, at, 15 * MINUTE),
        np.sin(2 * np.pi * hours / 24.0),
        np.cos(2 * np.pi * hours / 24.0),
        (weekday >= 5).astype(np.float64),
    ]
    return np.column_stack(columns).astype(np.float32)


_EMPTY_F = np.zeros(0, dtype=np.float64)
_EMPTY_I = np.zeros(0, dtype=np.int64)
_NO_EVENTS = ServiceEvents(_EMPTY_F, _EMPTY_I, _EMPTY_I, _EMPTY_F, _EMPTY_F, _EMPTY_F)
