"""The XGBoost scorer: class probabilities give the priority and a 0-100 urgency, and XGBoost's own
per-prediction contributions (`pred_contribs`) give the reasons.

Single incidents go through `Booster.inplace_predict` on a row allocated once, with one thread:
thread start-up costs more than a row's prediction. Contributions need a DMatrix and cost a few
times more than the prediction, so they are computed only when the priority differs from the
incident's previous assessment.

`assess` reuses its row buffer, so one scorer must not be shared between threads (one per thread,
or one per event loop, is fine).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from engine.models import Priority
from engine.scoring.artifact import ModelArtifact, ModelMetadata
from engine.scoring.assessment import (
    PRIORITIES,
    URGENCY_OF_CLASS,
    PriorityAssessment,
    Reason,
    urgency_scores,
)
from engine.scoring.explain import top_reasons
from engine.scoring.facts import IncidentFacts
from engine.scoring.features import FEATURE_COUNT, extract_features_into, feature_matrix

XGBOOST_SCORER_NAME = "xgboost"


@dataclass(frozen=True, eq=False)
class BatchScores:
    classes: npt.NDArray[np.int64]
    """Class index per row: 0 for P1 .. 4 for P5."""
    scores: npt.NDArray[np.float64]
    probabilities: npt.NDArray[np.float32]


class XGBoostScorer:
    def __init__(self, artifact: ModelArtifact, *, batch_threads: int = 1) -> None:
        self._metadata = artifact.metadata
        self._single = artifact.new_booster(nthread=1)
        self._batch = artifact.new_booster(nthread=batch_threads)
        self._batch_threads = batch_threads
        self._row: npt.NDArray[np.float32] = np.full((1, FEATURE_COUNT), np.nan, dtype=np.float32)

    @property
    def name(self) -> str:
        return XGBOOST_SCORER_NAME

    @property
    def metadata(self) -> ModelMetadata:
        return self._metadata

    def assess(self, facts: IncidentFacts, previous: PriorityAssessment | None = None) -> PriorityAssessment:
        extract_features_into(facts, self._row[0])
        probabilities = self._single.inplace_predict(self._row, validate_features=False)[0]
        class_index = int(np.argmax(probabilities))
        priority = PRIORITIES[class_index]
        if previous is not None and self._still_explains(previous, priority):
            reasons = previous.reasons
        else:
            reasons = self._explain(self._row, np.array([class_index]))[0]
        return PriorityAssessment(
            priority=priority,
            score=round(float(probabilities @ URGENCY_OF_CLASS), 1),
            reasons=reasons,
            scorer=XGBOOST_SCORER_NAME,
            model_version=self._metadata.model_version,
        )

    def score_matrix(self, features: npt.NDArray[np.float32]) -> BatchScores:
        """Priorities and urgencies of many feature rows at once, without reasons."""
        probabilities = self._batch.inplace_predict(features, validate_features=False)
        return BatchScores(
            classes=np.argmax(probabilities, axis=1).astype(np.int64),
            scores=urgency_scores(probabilities),
            probabilities=probabilities,
        )

    def assess_many(
        self, many: Sequence[IncidentFacts], *, with_reasons: bool = True
    ) -> list[PriorityAssessment]:
        features = feature_matrix(many)
        batch = self.score_matrix(features)
        reasons = self._explain(features, batch.classes) if with_reasons else [()] * len(many)
        return [
            PriorityAssessment(
                priority=PRIORITIES[int(class_index)],
                score=float(score),
                reasons=row_reasons,
                scorer=XGBOOST_SCORER_NAME,
                model_version=self._metadata.model_version,
            )
            for class_index, score, row_reasons in zip(batch.classes, batch.scores, reasons, strict=True)
        ]

    def contributions(self, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """XGBoost's per-prediction contributions, shape (rows, classes, features + bias)."""
        single = len(features) == 1
        booster = self._single if single else self._batch
        # DMatrix defaults to every core; for one row, waking threads costs milliseconds on a busy host.
        matrix = xgb.DMatrix(features, missing=np.nan, nthread=1 if single else self._batch_threads)
        contributions: npt.NDArray[np.float32] = booster.predict(
            matrix, pred_contribs=True, validate_features=False, strict_shape=True
        )
        return contributions

    def _explain(
        self, features: npt.NDArray[np.float32], classes: npt.NDArray[np.int64]
    ) -> list[tuple[Reason, ...]]:
        contributions = self.contributions(features)
        return [
            top_reasons(contributions[row, int(class_index)], features[row])
            for row, class_index in enumerate(classes)
        ]

    def _still_explains(self, previous: PriorityAssessment, priority: Priority) -> bool:
        """Reasons of the same model for the same priority: recomputing them would cost more than
        the prediction, for an explanation that barely moves. The version embeds the booster's
        checksum, and the rules have none, so it identifies the scorer too."""
        return previous.priority == priority and previous.model_version == self._metadata.model_version
