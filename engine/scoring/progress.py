"""Progress events of training, so a CLI or a chat command can show what a long training is doing."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import xgboost as xgb


class TrainingStage(enum.StrEnum):
    SPLITTING = "splitting by time"
    SEARCHING = "boosting (early stopping)"
    REFITTING = "refitting on all training rows"
    EVALUATING = "evaluating on the holdout"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class TrainingProgress:
    stage: TrainingStage
    completed_rounds: int = 0
    total_rounds: int = 0
    """Upper bound of rounds in this stage; early stopping may end it sooner."""
    validation_loss: float | None = None
    """Multiclass log-loss on the validation rows after the latest round (searching stage only)."""


ProgressCallback = Callable[[TrainingProgress], None]


def ignore_progress(_: TrainingProgress) -> None:
    pass


class BoostingProgress(xgb.callback.TrainingCallback):
    """Adapts XGBoost's per-round callback to `TrainingProgress` events."""

    def __init__(self, report: ProgressCallback, stage: TrainingStage, total_rounds: int) -> None:
        super().__init__()
        self._report = report
        self._stage = stage
        self._total_rounds = total_rounds

    def after_iteration(
        self, model: Any, epoch: int, evals_log: xgb.callback.TrainingCallback.EvalsLog
    ) -> bool:
        losses = evals_log.get("validation", {}).get("mlogloss", [])
        latest = losses[-1] if losses else None
        self._report(
            TrainingProgress(
                stage=self._stage,
                completed_rounds=epoch + 1,
                total_rounds=self._total_rounds,
                # With cross-validation XGBoost logs (mean, std) pairs; here it is one float.
                validation_loss=latest if isinstance(latest, float) else None,
            )
        )
        return False  # never asks XGBoost to stop; early stopping is its own callback
