"""Shared fixtures: a data set with a planted priority rule, and one model trained on it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from engine.models import Priority
from engine.scoring import TrainingParams, TrainingResult, TrainingSet, train_priority_model
from engine.scoring.features import FEATURE_COUNT, feature_index

START = datetime(2025, 1, 1, tzinfo=UTC)
# Small and single-threaded: the test machine is shared.
FAST_PARAMS = TrainingParams(max_rounds=40, early_stopping_rounds=10, nthread=1)

SEVERITY = feature_index("max_severity")
ALERTS = feature_index("alert_count")
TIER = feature_index("best_tier")
CUSTOMER_FACING = feature_index("customer_facing")


def planted_priority(severity: float, alerts: float, tier: float, customer_facing: float) -> Priority:
    """The rule hidden in the planted data; nothing else in a row matters."""
    if customer_facing == 1.0:
        return Priority.P1 if tier <= 1 else Priority.P2
    if severity == 4.0:
        return Priority.P3
    return Priority.P4 if alerts >= 10 else Priority.P5


def planted_training_set(rows: int, seed: int) -> TrainingSet:
    rng = np.random.default_rng(seed)
    features = rng.uniform(0, 100, size=(rows, FEATURE_COUNT)).astype(np.float32)
    # Noise columns are sometimes missing, as in real data; the rule's columns never are.
    features[rng.random(features.shape) < 0.15] = np.nan
    features[:, SEVERITY] = rng.integers(1, 5, size=rows)
    features[:, ALERTS] = rng.integers(1, 30, size=rows)
    features[:, TIER] = rng.integers(0, 5, size=rows)
    features[:, CUSTOMER_FACING] = rng.integers(0, 2, size=rows)
    labels = np.asarray(
        [
            int(planted_priority(*(float(row[c]) for c in (SEVERITY, ALERTS, TIER, CUSTOMER_FACING)))) - 1
            for row in features
        ],
        dtype=np.int64,
    )
    opened_at = np.asarray(
        [(START + timedelta(hours=6 * i)).timestamp() for i in range(rows)], dtype=np.float64
    )
    return TrainingSet(features, labels, opened_at)


@pytest.fixture(scope="session")
def fast_params() -> TrainingParams:
    return FAST_PARAMS


@pytest.fixture(scope="session")
def planted() -> Callable[[int, int], TrainingSet]:
    return planted_training_set


@pytest.fixture(scope="session")
def planted_model() -> TrainingResult:
    return train_priority_model(
        planted_training_set(2500, seed=1), created_at=START + timedelta(days=1000), params=FAST_PARAMS
    )
