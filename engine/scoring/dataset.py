"""Labelled feature rows with their timestamps: the input of training.

Any incident with a known priority becomes a row the same way, through `labelled_row(facts,
priority)`: one nocbot handled has most features, one imported from CSV has NaN for what the CSV
does not say. Both kinds mix freely in one `TrainingSet`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.models import Priority, utc
from engine.scoring.errors import TrainingError
from engine.scoring.facts import IncidentFacts
from engine.scoring.features import FEATURE_COUNT, FeatureRow, extract_features


@dataclass(frozen=True, slots=True)
class LabelledRow:
    features: FeatureRow
    priority: Priority
    opened_at: datetime


def labelled_row(facts: IncidentFacts, priority: Priority) -> LabelledRow:
    """`facts` must describe the incident as it was when its priority was decided."""
    return LabelledRow(extract_features(facts), priority, facts.opened_at)


@dataclass(frozen=True, eq=False)
class TrainingSet:
    features: npt.NDArray[np.float32]
    """Shape (rows, FEATURE_COUNT); NaN where a fact was unknown."""
    labels: npt.NDArray[np.int64]
    """Class index per row: 0 for P1 .. 4 for P5."""
    opened_at: npt.NDArray[np.float64]
    """Seconds since the Unix epoch, UTC."""

    def __post_init__(self) -> None:
        rows = len(self.labels)
        if self.features.shape != (rows, FEATURE_COUNT):
            raise TrainingError(
                f"expected {rows} feature rows of {FEATURE_COUNT} values, got shape {self.features.shape}"
            )
        if self.opened_at.shape != (rows,):
            raise TrainingError(f"expected {rows} timestamps, got shape {self.opened_at.shape}")
        if rows and (self.labels.min() < 0 or self.labels.max() >= len(Priority)):
            raise TrainingError("labels must be class indexes 0 (P1) to 4 (P5)")

    @classmethod
    def from_rows(cls, rows: Iterable[LabelledRow]) -> TrainingSet:
        materialized = list(rows)
        for position, row in enumerate(materialized):
            if len(row.features) != FEATURE_COUNT:
                raise TrainingError(
                    f"row {position} has {len(row.features)} features, expected {FEATURE_COUNT}"
                )
        features = np.asarray([row.features for row in materialized], dtype=np.float32)
        return cls(
            features=features.reshape(len(materialized), FEATURE_COUNT),
            labels=np.asarray([int(row.priority) - 1 for row in materialized], dtype=np.int64),
            opened_at=np.asarray([utc(row.opened_at).timestamp() for row in materialized], dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indexes: npt.NDArray[np.integer[Any]]) -> TrainingSet:
        return TrainingSet(self.features[indexes], self.labels[indexes], self.opened_at[indexes])

    def window(self) -> tuple[datetime, datetime]:
        """Earliest and latest `opened_at`."""
        if not len(self):
            raise TrainingError("an empty training set has no time window")
        return _from_epoch(float(self.opened_at.min())), _from_epoch(float(self.opened_at.max()))

    def split_by_time(self, later_fraction: float) -> tuple[TrainingSet, TrainingSet]:
        """(earlier, later): the later part holds the most recent `later_fraction` of the rows.

        Splitting by time rather than at random is what deployment looks like: the model is always
        judged on incidents that happened after everything it learned from.
        """
        if not 0.0 < later_fraction < 1.0:
            raise ValueError("later_fraction must be between 0 and 1")
        order = np.argsort(self.opened_at, kind="stable")
        later_count = math.ceil(len(order) * later_fraction)
        cut = len(order) - later_count
        return self.take(order[:cut]), self.take(order[cut:])


def _from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
