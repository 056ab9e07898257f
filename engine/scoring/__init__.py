"""Incident priority scoring: features from what is known, an XGBoost model or rules, reasons.

The service calls `load_priority_scorer()` once and `scorer.assess(facts, previous)` per incident;
`nocbot train-priority` builds a `TrainingSet` from resolved incidents, calls
`train_priority_model`, asks `decide_activation`, and stores the artifact with `write_model`.
"""

from engine.scoring.artifact import DataWindow, ModelArtifact, ModelMetadata, read_model, write_model
from engine.scoring.assessment import PriorityAssessment, PriorityScorer, Reason
from engine.scoring.dataset import LabelledRow, TrainingSet, labelled_row
from engine.scoring.errors import ModelLoadError, ScoringError, TrainingError
from engine.scoring.facts import IncidentFacts
from engine.scoring.features import FEATURE_NAMES, extract_features, feature_matrix
from engine.scoring.gate import ActivationDecision, decide_activation
from engine.scoring.history import history_training_rows, imported_incident_facts
from engine.scoring.loading import DEFAULT_MODEL_PATH, load_priority_scorer
from engine.scoring.metrics import ClassificationMetrics
from engine.scoring.progress import ProgressCallback, TrainingProgress, TrainingStage
from engine.scoring.rules import RULES_SCORER_NAME, RuleBasedScorer
from engine.scoring.training import TrainingParams, TrainingResult, train_priority_model
from engine.scoring.xgb_scorer import XGBOOST_SCORER_NAME, BatchScores, XGBoostScorer

__all__ = [
    "DEFAULT_MODEL_PATH",
    "FEATURE_NAMES",
    "RULES_SCORER_NAME",
    "XGBOOST_SCORER_NAME",
    "ActivationDecision",
    "BatchScores",
    "ClassificationMetrics",
    "DataWindow",
    "IncidentFacts",
    "LabelledRow",
    "ModelArtifact",
    "ModelLoadError",
    "ModelMetadata",
    "PriorityAssessment",
    "PriorityScorer",
    "ProgressCallback",
    "Reason",
    "RuleBasedScorer",
    "ScoringError",
    "TrainingError",
    "TrainingParams",
    "TrainingProgress",
    "TrainingResult",
    "TrainingSet",
    "TrainingStage",
    "XGBoostScorer",
    "decide_activation",
    "extract_features",
    "feature_matrix",
    "history_training_rows",
    "imported_incident_facts",
    "labelled_row",
    "load_priority_scorer",
    "read_model",
    "train_priority_model",
    "write_model",
]
