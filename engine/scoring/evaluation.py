"""Judge a booster on labelled rows: the same code for the training holdout and the activation gate."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from engine.scoring.dataset import TrainingSet
from engine.scoring.metrics import ClassificationMetrics, classification_metrics


def predict_classes(booster: xgb.Booster, features: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    probabilities = booster.inplace_predict(features, validate_features=False)
    classes: npt.NDArray[np.int64] = np.argmax(probabilities, axis=1).astype(np.int64)
    return classes


def evaluate(booster: xgb.Booster, dataset: TrainingSet) -> ClassificationMetrics:
    return classification_metrics(dataset.labels, predict_classes(booster, dataset.features))
