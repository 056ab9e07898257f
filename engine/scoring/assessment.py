"""What every priority scorer returns, and the one interface the service depends on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from engine.models import Priority
from engine.scoring.facts import IncidentFacts

# Class index i of every model is Priority(i + 1); P1 is index 0.
PRIORITIES: tuple[Priority, ...] = tuple(Priority)
# Urgency of each priority on the 0-100 scale: P1 is 100, P5 is 0, evenly spaced.
URGENCY_OF_CLASS: npt.NDArray[np.float64] = np.linspace(100.0, 0.0, len(PRIORITIES))


@dataclass(frozen=True, slots=True)
class Reason:
    """One factor behind a priority; `weight` is in the scorer's own unit (log-odds, or points)."""

    feature: str
    phrase: str
    weight: float


@dataclass(frozen=True, slots=True)
class PriorityAssessment:
    priority: Priority
    score: float
    """Urgency from 0 (P5-like) to 100 (P1-like); finer-grained than the priority for sorting."""
    reasons: tuple[Reason, ...]
    scorer: str
    """Which scorer decided: "xgboost" or "rules"."""
    model_version: str | None = None

    @property
    def explanation(self) -> str:
        """E.g. "P2 because: customer-facing service, 14 alerts, change 12 min before it started"."""
        if not self.reasons:
            return f"{self.priority.name}: no single factor stands out"
        return f"{self.priority.name} because: " + ", ".join(reason.phrase for reason in self.reasons)


class PriorityScorer(Protocol):
    @property
    def name(self) -> str: ...

    def assess(self, facts: IncidentFacts, previous: PriorityAssessment | None = None) -> PriorityAssessment:
        """Score one incident. `previous` is the incident's last assessment: when the priority has
        not changed, its reasons are reused instead of being recomputed."""
        ...


def urgency_scores(probabilities: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Expected urgency under the class probabilities, one score per row, rounded to 0.1."""
    scores: npt.NDArray[np.float64] = np.round(probabilities @ URGENCY_OF_CLASS, 1)
    return scores
