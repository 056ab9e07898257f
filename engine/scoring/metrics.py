"""Classification metrics over the five priorities, in plain numpy.

Priorities are given as class indexes 0..4 (P1..P5). Macro-F1 averages over the classes that occur
in the truth or the predictions, so a class absent from both neither helps nor hurts; a class that
is predicted but never true (or the reverse) counts with F1 = 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.scoring.assessment import PRIORITIES

CLASS_COUNT = len(PRIORITIES)
Labels = npt.NDArray[np.integer[Any]]


@dataclass(frozen=True, slots=True)
class ClassificationMetrics:
    accuracy: float
    macro_f1: float
    per_class_f1: tuple[float | None, ...]
    """F1 of P1..P5; None where the class occurs in neither truth nor predictions."""
    confusion: tuple[tuple[int, ...], ...]
    """Rows are the true priority P1..P5, columns the predicted one."""
    support: int

    def to_json(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class_f1": {p.name: f1 for p, f1 in zip(PRIORITIES, self.per_class_f1, strict=True)},
            "confusion": [list(row) for row in self.confusion],
            "support": self.support,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClassificationMetrics:
        per_class = data["per_class_f1"]
        return cls(
            accuracy=float(data["accuracy"]),
            macro_f1=float(data["macro_f1"]),
            per_class_f1=tuple(
                None if per_class.get(p.name) is None else float(per_class[p.name]) for p in PRIORITIES
            ),
            confusion=tuple(tuple(int(n) for n in row) for row in data["confusion"]),
            support=int(data["support"]),
        )


def confusion_matrix(truth: Labels, predicted: Labels) -> npt.NDArray[np.int64]:
    matrix = np.zeros((CLASS_COUNT, CLASS_COUNT), dtype=np.int64)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def accuracy(truth: Labels, predicted: Labels) -> float:
    if len(truth) == 0:
        raise ValueError("accuracy of an empty set is undefined")
    return float(np.mean(truth == predicted))


def per_class_f1(matrix: npt.NDArray[np.int64]) -> tuple[float | None, ...]:
    true_positive = np.diag(matrix).astype(np.float64)
    actual = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    scores: list[float | None] = []
    for cls in range(CLASS_COUNT):
        if actual[cls] == 0 and predicted[cls] == 0:
            scores.append(None)
            continue
        # F1 = 2TP / (2TP + FP + FN) = 2TP / (actual + predicted); no division by zero here.
        scores.append(float(2 * true_positive[cls] / (actual[cls] + predicted[cls])))
    return tuple(scores)


def macro_f1(truth: Labels, predicted: Labels) -> float:
    present = [f1 for f1 in per_class_f1(confusion_matrix(truth, predicted)) if f1 is not None]
    if not present:
        raise ValueError("macro-F1 of an empty set is undefined")
    return float(np.mean(present))


def classification_metrics(truth: Labels, predicted: Labels) -> ClassificationMetrics:
    matrix = confusion_matrix(truth, predicted)
    return ClassificationMetrics(
        accuracy=accuracy(truth, predicted),
        macro_f1=macro_f1(truth, predicted),
        per_class_f1=per_class_f1(matrix),
        confusion=tuple(tuple(int(n) for n in row) for row in matrix),
        support=len(truth),
    )
