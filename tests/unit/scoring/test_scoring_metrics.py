from __future__ import annotations

import numpy as np
import pytest

from engine.scoring.metrics import ClassificationMetrics, classification_metrics

# P1 P1 P2 P2 P3 (truth) against P1 P2 P2 P2 P1 (predicted)
TRUTH = np.array([0, 0, 1, 1, 2])
PREDICTED = np.array([0, 1, 1, 1, 0])


def test_metrics_match_a_hand_computed_example() -> None:
    metrics = classification_metrics(TRUTH, PREDICTED)
    assert metrics.accuracy == pytest.approx(3 / 5)
    # F1 per class = 2TP / (actual + predicted): P1 2/4, P2 4/5, P3 0/1; P4 and P5 occur nowhere.
    assert metrics.per_class_f1 == pytest.approx((0.5, 0.8, 0.0, None, None))
    assert metrics.macro_f1 == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    assert metrics.confusion == (
        (1, 1, 0, 0, 0),
        (0, 2, 0, 0, 0),
        (1, 0, 0, 0, 0),
        (0, 0, 0, 0, 0),
        (0, 0, 0, 0, 0),
    )
    assert metrics.support == 5


def test_a_class_predicted_but_never_true_counts_against_macro_f1() -> None:
    truth = np.array([0, 0, 0, 0])
    assert classification_metrics(truth, truth).macro_f1 == 1.0
    assert classification_metrics(truth, np.array([0, 0, 0, 4])).macro_f1 == pytest.approx((6 / 7 + 0) / 2)


def test_metrics_survive_the_json_round_trip() -> None:
    metrics = classification_metrics(TRUTH, PREDICTED)
    assert ClassificationMetrics.from_json(metrics.to_json()) == metrics


def test_empty_sets_have_no_metrics() -> None:
    with pytest.raises(ValueError, match="empty"):
        classification_metrics(np.array([], dtype=int), np.array([], dtype=int))
