"""Training the forecaster: samples every 5 minutes per service, labelled by whether a major incident
opened on that service in the next 30 minutes; split by time into fit / validation / holdout.

Samples taken while a major incident is open on the service are left out: the forecast is about
the next onset, and "an incident is open" is no forecast. Early stopping and the alarm threshold
(best F1) use the validation slice; the model is then refitted on fit + validation rows with the
rounds found. The holdout, the most recent part of the history, is only used for the metrics.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from engine.forecasting.features import FEATURE_NAMES, feature_matrix
from engine.forecasting.history import EventHistory
from engine.forecasting.model import ForecastModel, probabilities

F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


class ForecastTrainingError(ValueError):
    """The history cannot train a forecaster (too short, or no major incident to learn from)."""


@dataclass(frozen=True, slots=True)
class ForecastParams:
    horizon_seconds: float = 1800.0
    step_seconds: float = 300.0
    holdout_fraction: float = 0.25
    validation_fraction: float = 0.2
    """Share of the non-holdout period (its most recent part) used for early stopping and the threshold."""
    max_rounds: int = 400
    early_stopping_rounds: int = 40
    max_depth: int = 4
    learning_rate: float = 0.08
    min_child_weight: float = 3.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    nthread: int = 1
    seed: int = 0
    min_positives: int = 5
    """Major-incident onsets needed in each of the fit, validation and holdout periods."""

    def xgboost_params(self) -> dict[str, Any]:
        return {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "nthread": self.nthread,
            "seed": self.seed,
            "tree_method": "hist",
        }


@dataclass(frozen=True, slots=True)
class Samples:
    services: tuple[str, ...]
    service: npt.NDArray[np.int64]
    step: npt.NDArray[np.int64]
    """Grid index: consecutive samples of a service differ by one step."""
    at: F64
    features: npt.NDArray[np.float32]
    label: Bools
    onset: F64
    """Time of the major onset a positive sample announces (nan for negatives)."""

    def take(self, rows: Bools) -> Samples:
        return Samples(
            self.services,
            self.service[rows],
            self.step[rows],
            self.at[rows],
            self.features[rows],
            self.label[rows],
            self.onset[rows],
        )

    def __len__(self) -> int:
        return len(self.at)


def build_samples(history: EventHistory, params: ForecastParams) -> Samples:
    step = params.step_seconds
    first = math.ceil(history.start / step) * step
    # the last samples need a whole horizon of known future to be labelled
    grid = np.arange(first, history.end - params.horizon_seconds + 1e-9, step, dtype=np.float64)
    services = tuple(sorted(history.services))
    parts: list[tuple[Any, ...]] = []
    for index, name in enumerate(services):
        events = history.services[name]
        onsets = events.major_onsets
        inside = np.zeros(len(grid), dtype=np.bool_)
        for onset, ended in zip(events.major_onsets, events.major_ended, strict=True):
            inside |= (grid >= onset) & (grid < ended)
        nxt = np.searchsorted(onsets, grid, side="right")
        has_next = nxt < len(onsets)
        padded = np.append(onsets, np.nan)  # index len(onsets): no next onset
        next_onset = padded[nxt]
        label = has_next & (next_onset <= grid + params.horizon_seconds)
        keep = ~inside
        parts.append(
            (
                np.full(int(keep.sum()), index, dtype=np.int64),
                np.flatnonzero(keep).astype(np.int64),
                grid[keep],
                feature_matrix(history, name, grid[keep]),
                label[keep],
                np.where(label, next_onset, np.nan)[keep],
            )
        )
    if not parts:
        raise ForecastTrainingError("the history names no service")
    return Samples(
        services,
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
        np.concatenate([p[3] for p in parts]),
        np.concatenate([p[4] for p in parts]),
        np.concatenate([p[5] for p in parts]),
    )


@dataclass(frozen=True, slots=True)
class ForecastMetrics:
    """Held-out quality. Sample metrics judge every 5-minute forecast; event metrics judge what an
    on-call engineer sees: alarms (runs of consecutive alarmed forecasts) and major incidents."""

    threshold: float
    rows: int
    positives: int
    precision: float
    recall: float
    f1: float
    average_precision: float
    roc_auc: float
    base_rate: float
    major_incidents: int
    warned_incidents: int
    alarms: int
    true_alarms: int
    median_lead_minutes: float | None
    holdout_from: datetime
    holdout_to: datetime

    @property
    def incident_recall(self) -> float:
        return self.warned_incidents / self.major_incidents if self.major_incidents else 0.0

    @property
    def alarm_precision(self) -> float:
        return self.true_alarms / self.alarms if self.alarms else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "rows": self.rows,
            "positives": self.positives,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "average_precision": self.average_precision,
            "roc_auc": self.roc_auc,
            "base_rate": self.base_rate,
            "major_incidents": self.major_incidents,
            "warned_incidents": self.warned_incidents,
            "incident_recall": self.incident_recall,
            "alarms": self.alarms,
            "true_alarms": self.true_alarms,
            "alarm_precision": self.alarm_precision,
            "median_lead_minutes": self.median_lead_minutes,
            "holdout_from": self.holdout_from.isoformat(),
            "holdout_to": self.holdout_to.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class ForecastTraining:
    model: ForecastModel
    metrics: ForecastMetrics
    rounds: int
    fit_rows: int
    validation_rows: int


def train_forecaster(history: EventHistory, params: ForecastParams = ForecastParams()) -> ForecastTraining:
    samples = build_samples(history, params)
    if len(samples) == 0:
        raise ForecastTrainingError("the history is shorter than one forecast horizon")
    start, end = float(samples.at.min()), float(samples.at.max())
    holdout_from = start + (1.0 - params.holdout_fraction) * (end - start)
    validation_from = start + (1.0 - params.validation_fraction) * (holdout_from - start)
    # a sample's label looks a horizon ahead: rows that close to the next period are labelled by
    # what happens in it, so they are left out of the earlier one
    gap = params.horizon_seconds
    fit = samples.take(samples.at < validation_from - gap)
    validation = samples.take((samples.at >= validation_from) & (samples.at < holdout_from - gap))
    holdout = samples.take(samples.at >= holdout_from)
    for name, part in (("fitting", fit), ("validation", validation), ("holdout", holdout)):
        onsets = len(np.unique(part.onset[part.label]))
        if onsets < params.min_positives:
            raise ForecastTrainingError(
                f"the {name} period holds {onsets} major-incident onsets (P1/P2 opened on a service); "
                f"at least {params.min_positives} are needed: import or collect a longer history"
            )
    booster = xgb.train(
        params.xgboost_params(),
        _dmatrix(fit),
        num_boost_round=params.max_rounds,
        evals=[(_dmatrix(validation), "validation")],
        early_stopping_rounds=params.early_stopping_rounds,
        verbose_eval=False,
    )
    rounds = int(booster.best_iteration) + 1
    threshold = best_f1_threshold(validation.label, probabilities(booster[:rounds], validation.features))
    both = samples.take(samples.at < holdout_from - gap)
    final = xgb.train(params.xgboost_params(), _dmatrix(both), num_boost_round=rounds, verbose_eval=False)
    ubj = bytes(final.save_raw(raw_format="ubj"))
    metrics = evaluate(holdout, probabilities(final, holdout.features), threshold)
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "-" + hashlib.sha256(ubj).hexdigest()[:8]
    model = ForecastModel(
        ubj=ubj,
        version=version,
        threshold=threshold,
        horizon_seconds=params.horizon_seconds,
        metrics=metrics.to_json(),
    )
    return ForecastTraining(model, metrics, rounds, len(fit), len(validation))


def _dmatrix(samples: Samples) -> xgb.DMatrix:
    label = samples.label.astype(np.float32)
    return xgb.DMatrix(samples.features, label=label, feature_names=list(FEATURE_NAMES))


def best_f1_threshold(label: Bools, score: F64) -> float:
    """The score cut with the best F1 on these rows (0.5 when they hold no positive)."""
    if not label.any():
        return 0.5
    order = np.argsort(-score, kind="stable")
    ranked, hits = score[order], label[order]
    tp = np.cumsum(hits)
    predicted = np.arange(1, len(ranked) + 1)
    f1 = 2 * tp / (predicted + hits.sum())
    # a cut between tied scores is not realisable: only the last row of each tie counts
    last_of_tie = np.append(ranked[1:] != ranked[:-1], True)
    best = int(np.argmax(np.where(last_of_tie, f1, -1.0)))
    return float(ranked[best])


def average_precision(label: Bools, score: F64) -> float:
    if not label.any():
        return 0.0
    order = np.argsort(-score, kind="stable")
    hits = label[order]
    tp = np.cumsum(hits)
    precision_at = tp / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].sum() / hits.sum())


def roc_auc(label: Bools, score: F64) -> float:
    positives, negatives = int(label.sum()), int((~label).sum())
    if positives == 0 or negatives == 0:
        return 0.5
    ranks = _average_ranks(score)
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _average_ranks(score: F64) -> F64:
    order = np.argsort(score, kind="stable")
    ranks = np.empty(len(score), dtype=np.float64)
    ranks[order] = np.arange(1, len(score) + 1)
    values, inverse = np.unique(score, return_inverse=True)
    sums = np.bincount(inverse, weights=ranks, minlength=len(values))
    counts = np.bincount(inverse, minlength=len(values))
    return np.asarray((sums / counts)[inverse], dtype=np.float64)


def evaluate(samples: Samples, score: F64, threshold: float) -> ForecastMetrics:
    alarmed = score >= threshold
    label = samples.label
    tp = int((alarmed & label).sum())
    precision = tp / int(alarmed.sum()) if alarmed.any() else 0.0
    recall = tp / int(label.sum()) if label.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    # runs of consecutive alarmed samples of one service are one alarm
    order = np.lexsort((samples.step, samples.service))
    svc, step, alarm, lab, onset, at = (
        samples.service[order],
        samples.step[order],
        alarmed[order],
        label[order],
        samples.onset[order],
        samples.at[order],
    )
    continues = np.zeros(len(order), dtype=np.bool_)
    continues[1:] = (svc[1:] == svc[:-1]) & (step[1:] == step[:-1] + 1) & alarm[:-1]
    run_id = np.cumsum(alarm & ~continues)
    runs = int((alarm & ~continues).sum())
    true_runs = len(np.unique(run_id[alarm & lab])) if runs else 0
    # each major onset (service, time) announced by positive samples: warned if any of them alarmed
    keys = np.stack([svc[lab].astype(np.float64), onset[lab]], axis=1)
    if len(keys):
        unique_onsets, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
    else:
        unique_onsets, inverse = keys, np.zeros(0, dtype=np.int64)
    leads: list[float] = []
    warned = 0
    for k in range(len(unique_onsets)):
        rows = inverse == k
        hit = alarm[lab][rows]
        if hit.any():
            warned += 1
            first = float(at[lab][rows][hit].min())
            leads.append((float(unique_onsets[k, 1]) - first) / 60.0)
    return ForecastMetrics(
        threshold=threshold,
        rows=len(samples),
        positives=int(label.sum()),
        precision=precision,
        recall=recall,
        f1=f1,
        average_precision=average_precision(label, score),
        roc_auc=roc_auc(label, score),
        base_rate=float(label.mean()) if len(label) else 0.0,
        major_incidents=len(unique_onsets),
        warned_incidents=warned,
        alarms=runs,
        true_alarms=true_runs,
        median_lead_minutes=float(np.median(leads)) if leads else None,
        holdout_from=datetime.fromtimestamp(float(samples.at.min()) if len(samples) else 0.0, UTC),
        holdout_to=datetime.fromtimestamp(float(samples.at.max()) if len(samples) else 0.0, UTC),
    )
