"""Turn a model's per-prediction feature contributions into human reasons."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from engine.scoring.assessment import Reason
from engine.scoring.features import FEATURE_COUNT, FEATURE_NAMES, FeatureRow, describe

MAX_REASONS = 3


def top_reasons(
    contributions: npt.NDArray[np.floating], row: FeatureRow, *, limit: int = MAX_REASONS
) -> tuple[Reason, ...]:
    """The features that pushed hardest towards the predicted class, strongest first.

    `contributions` is XGBoost's `pred_contribs` output for one row and the predicted class: one
    value per feature plus the bias last. Only features that pushed towards the class count, and
    only known ones: "no anomaly score" is not a reason anyone can act on.
    """
    reasons: list[Reason] = []
    for column in np.argsort(-contributions[:FEATURE_COUNT], kind="stable"):
        weight = float(contributions[column])
        if weight <= 0.0:
            break
        value = float(row[column])
        if math.isnan(value):
            continue
        name = FEATURE_NAMES[column]
        reasons.append(Reason(name, describe(name, value), weight))
        if len(reasons) == limit:
            break
    return tuple(reasons)
