from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest

from engine.scoring import (
    TrainingParams,
    TrainingResult,
    TrainingSet,
    decide_activation,
    train_priority_model,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def worse_model(planted: Callable[[int, int], TrainingSet], fast_params: TrainingParams) -> TrainingResult:
    """Trained on the planted data with its older 80% mislabelled; the recent holdout stays true."""
    data = planted(2500, 1)
    labels = data.labels.copy()
    older = data.opened_at < np.quantile(data.opened_at, 0.8)
    labels[older] = np.random.default_rng(2).permutation(labels[older])
    return train_priority_model(
        TrainingSet(data.features, labels, data.opened_at), created_at=NOW, params=fast_params
    )


def test_a_worse_model_does_not_replace_the_active_one(
    worse_model: TrainingResult, planted_model: TrainingResult
) -> None:
    decision = decide_activation(worse_model, planted_model.artifact)
    assert not decision.activate
    assert decision.active is not None
    assert decision.candidate.macro_f1 < decision.active.macro_f1
    assert "worse" in decision.reason and "force" in decision.reason


def test_forcing_activates_a_worse_model(worse_model: TrainingResult, planted_model: TrainingResult) -> None:
    decision = decide_activation(worse_model, planted_model.artifact, force=True)
    assert decision.activate
    assert decision.reason.startswith("forced although worse")


def test_a_better_model_replaces_a_worse_one(
    worse_model: TrainingResult, planted_model: TrainingResult
) -> None:
    decision = decide_activation(planted_model, worse_model.artifact)
    assert decision.activate
    assert decision.active is not None and decision.candidate.macro_f1 >= decision.active.macro_f1


def test_both_models_are_judged_on_the_candidates_holdout(
    worse_model: TrainingResult, planted_model: TrainingResult
) -> None:
    decision = decide_activation(worse_model, planted_model.artifact)
    assert decision.active is not None
    assert decision.active.support == len(worse_model.holdout)
    # Same split of the same period: the active model never saw those incidents.
    assert "trained on some of them" not in decision.reason


def test_an_active_model_trained_on_the_holdout_period_is_said_to_be_flattered(
    worse_model: TrainingResult, planted: Callable[[int, int], TrainingSet], fast_params: TrainingParams
) -> None:
    # A longer history: its training rows reach into the worse model's holdout period.
    longer = train_priority_model(planted(3500, 11), created_at=NOW, params=fast_params)
    assert (
        longer.artifact.metadata.data_window.train_to
        >= worse_model.artifact.metadata.data_window.holdout_from
    )
    decision = decide_activation(worse_model, longer.artifact)
    assert "the active model was trained on some of them" in decision.reason


def test_the_first_model_is_always_activated(worse_model: TrainingResult) -> None:
    decision = decide_activation(worse_model, None)
    assert decision.activate and decision.active is None
