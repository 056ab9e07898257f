"""Pick the scorer: the model at a path if there is one, the rules otherwise."""

from __future__ import annotations

from pathlib import Path

from engine.scoring.artifact import read_model
from engine.scoring.assessment import PriorityScorer
from engine.scoring.rules import RuleBasedScorer
from engine.scoring.xgb_scorer import XGBoostScorer

DEFAULT_MODEL_PATH = Path(__file__).with_name("default_model.ubj")
"""The model shipped with nocbot, trained on synthetic history (examples/history)."""


def load_priority_scorer(
    model_path: Path | None = DEFAULT_MODEL_PATH, *, batch_threads: int = 1
) -> PriorityScorer:
    """The XGBoost scorer for `model_path`, or the rule-based scorer when no model file exists.

    A model file that exists but cannot be used raises `ModelLoadError`: silently falling back
    would hide a broken deployment behind plausible-looking priorities.
    """
    if model_path is None or not model_path.exists():
        return RuleBasedScorer()
    return XGBoostScorer(read_model(model_path), batch_threads=batch_threads)
