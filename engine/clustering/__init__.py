"""Dedup, flap control, silences and clustering of alerts into incidents: a pure core.

Nothing here talks to HTTP, a database or chat. The service feeds deliveries into an
`AlertCorrelator` with the current time and acts on the returned `Decision`s; `replay` runs the same
engine over recorded deliveries.
"""

from engine.clustering.config import ClusteringConfig, EvidenceWeights
from engine.clustering.corrections import Correction, CorrectionKind
from engine.clustering.correlator import AlertCorrelator
from engine.clustering.dedup import AlertKey, InstanceOutcome
from engine.clustering.editing import CorrectionError
from engine.clustering.explanation import Explanation, Reason, ReasonKind
from engine.clustering.features import TextWeights
from engine.clustering.ids import IncidentIdAllocator, SequentialIds
from engine.clustering.incident import IncidentSnapshot
from engine.clustering.labels import LabelSemantics
from engine.clustering.records import Decision, IncidentClosure, StoredIncident
from engine.clustering.silences import Matcher, MatchOp, Silence, is_silenced, silencing
from engine.fingerprint import label_fingerprint

__all__ = [
    "AlertCorrelator",
    "AlertKey",
    "ClusteringConfig",
    "Correction",
    "CorrectionError",
    "CorrectionKind",
    "Decision",
    "EvidenceWeights",
    "Explanation",
    "IncidentClosure",
    "IncidentIdAllocator",
    "IncidentSnapshot",
    "InstanceOutcome",
    "LabelSemantics",
    "MatchOp",
    "Matcher",
    "Reason",
    "ReasonKind",
    "SequentialIds",
    "Silence",
    "StoredIncident",
    "TextWeights",
    "is_silenced",
    "label_fingerprint",
    "silencing",
]
