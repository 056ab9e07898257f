"""Training: labelled rows in, a versioned model and its holdout metrics out. No I/O, no clock.

Rows are split by time three ways: the oldest part for fitting, the next slice for early stopping
(validation), and the most recent part as the holdout that the reported metrics and the activation
gate are computed on. Once early stopping has found the number of rounds, the model is refitted
with that many rounds on fitting + validation rows, so the most recent training incidents are not
wasted. The holdout is never seen before evaluation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from engine.models import utc
from engine.scoring.artifact import DataWindow, ModelArtifact, ModelMetadata, sha256_hex
from engine.scoring.assessment import PRIORITIES
from engine.scoring.dataset import TrainingSet
from engine.scoring.errors import TrainingError
from engine.scoring.evaluation import evaluate
from engine.scoring.features import FEATURE_NAMES
from engine.scoring.metrics import ClassificationMetrics
from engine.scoring.progress import (
    BoostingProgress,
    ProgressCallback,
    TrainingProgress,
    TrainingStage,
    ignore_progress,
)

MIN_ROWS = 50


@dataclass(frozen=True, slots=True)
class TrainingParams:
    # Few shallow trees: single-incident latency grows with the tree count (see benchmarks/score.py),
    # and on the synthetic history deeper/longer models (depth 4, 250 rounds) scored no better.
    max_rounds: int = 100
    early_stopping_rounds: int = 15
    max_depth: int = 3
    learning_rate: float = 0.3
    min_child_weight: float = 2.0
    subsample: float = 0.9
    holdout_fraction: float = 0.2
    validation_fraction: float = 0.15
    """Share of the non-holdout rows used for early stopping."""
    balance_classes: bool = False
    """Weight rows by the square root of their class's inverse frequency, so that rare P1s weigh
    more without the model predicting P1 for everything. Off by default: it did not improve
    macro-F1 on the synthetic history, but real histories with very few P1s may need it."""
    nthread: int = 1
    """Threads gain nothing on tens of thousands of rows, and on a busy host OpenMP threads wait
    for each other: 2 threads trained 10k incidents in 1.6-10 s under load, 1 thread in 1.3-1.6 s.
    The model is the same either way."""
    seed: int = 0

    def xgboost_params(self) -> dict[str, object]:
        return {
            "objective": "multi:softprob",
            "num_class": len(PRIORITIES),
            "eval_metric": "mlogloss",
            "tree_method": "hist",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "nthread": self.nthread,
            "seed": self.seed,
        }


@dataclass(frozen=True, eq=False)
class TrainingResult:
    artifact: ModelArtifact
    holdout: TrainingSet
    """Kept so that the activation gate can judge the active model on exactly the same rows."""

    @property
    def metrics(self) -> ClassificationMetrics:
        return self.artifact.metadata.holdout_metrics


def train_priority_model(
    data: TrainingSet,
    *,
    created_at: datetime,
    params: TrainingParams | None = None,
    progress: ProgressCallback | None = None,
    source: str = "",
) -> TrainingResult:
    """Train on `data` and return the artifact with its holdout metrics; raise `TrainingError` when
    the data cannot support a model. `created_at` stamps the artifact (the caller owns the clock);
    `source` is recorded in the metadata to say where the rows came from."""
    params = params or TrainingParams()
    report = progress or ignore_progress
    report(TrainingProgress(TrainingStage.SPLITTING))
    _check_trainable(data)
    learn, holdout = data.split_by_time(params.holdout_fraction)
    fit, validation = learn.split_by_time(params.validation_fraction)
    _check_learnable(learn)

    rounds = _search_rounds(fit, validation, params, report)
    booster = _boost(learn, params, rounds, [BoostingProgress(report, TrainingStage.REFITTING, rounds)])

    report(TrainingProgress(TrainingStage.EVALUATING))
    metrics = evaluate(booster, holdout)
    ubj = bytes(booster.save_raw("ubj"))
    metadata = ModelMetadata(
        model_version=_model_version(created_at, ubj),
        created_at=utc(created_at),
        xgboost_version=xgb.__version__,
        feature_names=FEATURE_NAMES,
        data_window=_data_window(learn, holdout),
        holdout_metrics=metrics,
        boosting_rounds=rounds,
        params=dataclasses.asdict(params),
        booster_sha256=sha256_hex(ubj),
        source=source,
    )
    report(TrainingProgress(TrainingStage.DONE, rounds, rounds))
    return TrainingResult(ModelArtifact(ubj, metadata), holdout)


def _check_trainable(data: TrainingSet) -> None:
    if len(data) < MIN_ROWS:
        raise TrainingError(
            f"need at least {MIN_ROWS} incidents with a known priority to train, got {len(data)}"
        )


def _check_learnable(learn: TrainingSet) -> None:
    present = np.unique(learn.labels)
    if len(present) < 2:
        only = PRIORITIES[int(present[0])].name if len(present) else "none"
        raise TrainingError(f"all training incidents have the same priority ({only}); nothing to learn")


def _search_rounds(
    fit: TrainingSet, validation: TrainingSet, params: TrainingParams, report: ProgressCallback
) -> int:
    callbacks = [
        BoostingProgress(report, TrainingStage.SEARCHING, params.max_rounds),
        xgb.callback.EarlyStopping(rounds=params.early_stopping_rounds, data_name="validation"),
    ]
    booster = xgb.train(
        params.xgboost_params(),
        _dmatrix(fit, params),
        num_boost_round=params.max_rounds,
        evals=[(_dmatrix(validation, params), "validation")],
        callbacks=callbacks,
        verbose_eval=False,
    )
    return int(booster.best_iteration) + 1


def _boost(
    data: TrainingSet, params: TrainingParams, rounds: int, callbacks: list[BoostingProgress]
) -> xgb.Booster:
    return xgb.train(
        params.xgboost_params(),
        _dmatrix(data, params),
        num_boost_round=rounds,
        callbacks=callbacks,
        verbose_eval=False,
    )


def _dmatrix(data: TrainingSet, params: TrainingParams) -> xgb.DMatrix:
    weights = _class_balance_weights(data.labels) if params.balance_classes else None
    return xgb.DMatrix(
        data.features,
        label=data.labels,
        weight=weights,
        missing=np.nan,
        feature_names=list(FEATURE_NAMES),
        nthread=params.nthread,
    )


def _class_balance_weights(labels: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    counts = np.bincount(labels, minlength=len(PRIORITIES)).astype(np.float64)
    per_class = np.zeros_like(counts)
    present = counts > 0
    per_class[present] = np.sqrt(len(labels) / (present.sum() * counts[present]))
    weights: npt.NDArray[np.float64] = per_class[labels]
    normalized: npt.NDArray[np.float64] = weights / weights.mean()
    return normalized


def _model_version(created_at: datetime, ubj: bytes) -> str:
    # milliseconds: retraining on the same data gives the same bytes, and a forced retrain within
    # the same second must still be a version of its own
    at = utc(created_at)
    return f"{at:%Y%m%dT%H%M%S}.{at.microsecond // 1000:03d}Z-{sha256_hex(ubj)[:12]}"


def _data_window(learn: TrainingSet, holdout: TrainingSet) -> DataWindow:
    train_from, train_to = learn.window()
    holdout_from, holdout_to = holdout.window()
    return DataWindow(
        train_from=train_from,
        train_to=train_to,
        holdout_from=holdout_from,
        holdout_to=holdout_to,
        train_rows=len(learn),
        holdout_rows=len(holdout),
    )
