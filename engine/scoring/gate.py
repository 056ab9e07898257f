"""The activation gate: a retrained model replaces the active one only if it is not worse.

Both models are judged on the candidate's holdout (the most recent incidents), by macro-F1: with
P1s rare, plain accuracy would reward a model that never predicts P1. If the active model was
trained on some of those holdout incidents it is flattered by them, so the gate errs towards
keeping it; the decision says when that is the case.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.scoring.artifact import ModelArtifact
from engine.scoring.evaluation import evaluate
from engine.scoring.metrics import ClassificationMetrics
from engine.scoring.training import TrainingResult


@dataclass(frozen=True, slots=True)
class ActivationDecision:
    activate: bool
    reason: str
    candidate: ClassificationMetrics
    active: ClassificationMetrics | None
    """The active model's metrics on the candidate's holdout; None when there was no active model."""


def decide_activation(
    candidate: TrainingResult, active: ModelArtifact | None, *, force: bool = False
) -> ActivationDecision:
    new = candidate.metrics
    if active is None:
        return ActivationDecision(True, "no model is active yet", new, None)
    current = evaluate(active.new_booster(), candidate.holdout)
    comparison = (
        f"macro-F1 {new.macro_f1:.3f} (new) vs {current.macro_f1:.3f} (active "
        f"{active.metadata.model_version}) on the same {len(candidate.holdout)} most recent incidents"
        f"{_overlap_note(candidate, active)}"
    )
    if new.macro_f1 >= current.macro_f1:
        return ActivationDecision(True, f"not worse: {comparison}", new, current)
    if force:
        return ActivationDecision(True, f"forced although worse: {comparison}", new, current)
    return ActivationDecision(
        False, f"refused, the new model is worse: {comparison}; force to activate anyway", new, current
    )


def _overlap_note(candidate: TrainingResult, active: ModelArtifact) -> str:
    holdout_from = candidate.artifact.metadata.data_window.holdout_from
    if active.metadata.data_window.train_to >= holdout_from:
        return " (the active model was trained on some of them, which flatters it)"
    return ""
