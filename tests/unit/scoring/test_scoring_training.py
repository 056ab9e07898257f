from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest
import xgboost as xgb
from rich.console import Console

from engine.scoring import (
    FEATURE_NAMES,
    TrainingError,
    TrainingParams,
    TrainingProgress,
    TrainingResult,
    TrainingSet,
    TrainingStage,
    train_priority_model,
)
from engine.scoring.artifact import sha256_hex
from engine.scoring.evaluation import evaluate
from engine.scoring.features import feature_index
from engine.scoring.rich_progress import rich_training_progress

NOW = datetime(2026, 1, 1, tzinfo=UTC)
TIER = feature_index("best_tier")


def test_training_recovers_a_planted_rule(planted_model: TrainingResult) -> None:
    metrics = planted_model.metrics
    assert metrics.accuracy >= 0.97, metrics
    assert metrics.macro_f1 >= 0.95, metrics


def test_the_planted_rule_holds_on_fresh_data_too(
    planted_model: TrainingResult, planted: Callable[[int, int], TrainingSet]
) -> None:
    fresh = evaluate(planted_model.artifact.new_booster(), planted(1000, 99))
    assert fresh.accuracy >= 0.97, fresh


def test_labels_unrelated_to_the_features_are_not_learned(
    planted: Callable[[int, int], TrainingSet], fast_params: TrainingParams
) -> None:
    data = planted(1500, 3)
    shuffled = TrainingSet(data.features, np.random.default_rng(0).permutation(data.labels), data.opened_at)
    metrics = train_priority_model(shuffled, created_at=NOW, params=fast_params).metrics
    assert metrics.accuracy < 0.6, metrics


def test_the_holdout_is_the_most_recent_incidents_whatever_the_input_order(
    planted: Callable[[int, int], TrainingSet],
    fast_params: TrainingParams,
) -> None:
    data = planted(1000, 4)
    scrambled = data.take(np.random.default_rng(1).permutation(len(data)))
    result = train_priority_model(scrambled, created_at=NOW, params=fast_params)
    window = result.artifact.metadata.data_window
    assert len(result.holdout) == window.holdout_rows == 200
    assert window.train_rows == 800
    assert window.train_to < window.holdout_from
    assert result.holdout.opened_at.min() == np.sort(data.opened_at)[800]


def test_the_rows_used_for_early_stopping_are_learned_from_too(
    planted: Callable[[int, int], TrainingSet], fast_params: TrainingParams
) -> None:
    # P1 (customer-facing, tier 0-1) only exists in the latest training rows, which early stopping
    # validates on (68%-80% of the timeline), and in the holdout: a new critical service launched.
    data = planted(2000, 12)
    features, labels = data.features.copy(), data.labels.copy()
    launch = int(len(data) * 0.70)
    before_launch = np.arange(len(data)) < launch
    p1_rows = before_launch & (labels == 0)
    features[p1_rows, TIER] = 3.0
    labels[p1_rows] = 1  # the same rule makes them P2
    result = train_priority_model(
        TrainingSet(features, labels, data.opened_at), created_at=NOW, params=fast_params
    )
    p1_f1 = result.metrics.per_class_f1[0]
    assert p1_f1 is not None and p1_f1 > 0.8, result.metrics


def test_the_artifact_describes_the_model(planted_model: TrainingResult, fast_params: TrainingParams) -> None:
    metadata = planted_model.artifact.metadata
    assert metadata.feature_names == FEATURE_NAMES
    assert metadata.xgboost_version == xgb.__version__
    assert metadata.booster_sha256 == sha256_hex(planted_model.artifact.ubj)
    assert metadata.model_version.endswith(metadata.booster_sha256[:12])
    assert metadata.holdout_metrics == evaluate(planted_model.artifact.new_booster(), planted_model.holdout)
    assert 1 <= metadata.boosting_rounds <= fast_params.max_rounds


def test_training_is_reproducible(
    planted: Callable[[int, int], TrainingSet], fast_params: TrainingParams
) -> None:
    data = planted(600, 5)
    first = train_priority_model(data, created_at=NOW, params=fast_params)
    second = train_priority_model(data, created_at=NOW, params=fast_params)
    assert first.artifact.ubj == second.artifact.ubj


def test_too_little_history_is_refused(
    planted: Callable[[int, int], TrainingSet], fast_params: TrainingParams
) -> None:
    with pytest.raises(TrainingError, match="at least 50"):
        train_priority_model(planted(49, 6), created_at=NOW, params=fast_params)


def test_a_single_priority_is_refused(
    planted: Callable[[int, int], TrainingSet], fast_params: TrainingParams
) -> None:
    data = planted(200, 7)
    same = TrainingSet(data.features, np.full(len(data), 2, dtype=np.int64), data.opened_at)
    with pytest.raises(TrainingError, match=r"same priority \(P3\)"):
        train_priority_model(same, created_at=NOW, params=fast_params)


def test_rows_of_the_wrong_width_are_refused() -> None:
    with pytest.raises(TrainingError, match="feature rows"):
        TrainingSet(np.zeros((3, 2), np.float32), np.zeros(3, np.int64), np.zeros(3))


def test_progress_reports_every_stage_and_round(
    planted: Callable[[int, int], TrainingSet], fast_params: TrainingParams
) -> None:
    events: list[TrainingProgress] = []
    result = train_priority_model(planted(600, 8), created_at=NOW, params=fast_params, progress=events.append)
    stages = [e.stage for e in events]
    assert stages[0] is TrainingStage.SPLITTING
    assert stages[-2:] == [TrainingStage.EVALUATING, TrainingStage.DONE]
    searching = [e for e in events if e.stage is TrainingStage.SEARCHING]
    refitting = [e for e in events if e.stage is TrainingStage.REFITTING]
    assert [e.completed_rounds for e in searching] == list(range(1, len(searching) + 1))
    assert all(e.validation_loss is not None and e.validation_loss > 0 for e in searching)
    assert len(refitting) == result.artifact.metadata.boosting_rounds


def test_the_rich_display_shows_training(
    planted: Callable[[int, int], TrainingSet], fast_params: TrainingParams
) -> None:
    output = io.StringIO()
    with rich_training_progress(Console(file=output, width=120, force_terminal=False)) as progress:
        train_priority_model(planted(300, 9), created_at=NOW, params=fast_params, progress=progress)
    text = output.getvalue()
    assert "refitting on all training rows" in text
    assert "evaluating on the holdout" in text
