"""The rule-based scorer: used when no trained model exists, with the same output as the model.

Points per known feature add up to an urgency score (capped at 100) that maps to a priority by fixed
bands. Unknown features add nothing: with little information the priority leans low, and the
reasons show which facts it rests on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from engine.models import Priority, Severity
from engine.scoring.assessment import PriorityAssessment, Reason
from engine.scoring.facts import IncidentFacts
from engine.scoring.features import FeatureRow, describe, extract_features, feature_index

RULES_SCORER_NAME = "rules"
MAX_REASONS = 3

_SEVERITY_POINTS = {Severity.CRITICAL: 35.0, Severity.ERROR: 22.0, Severity.WARNING: 10.0}
# Lowest score of each priority, most urgent first; anything below the last band is P5.
_PRIORITY_BANDS: tuple[tuple[float, Priority], ...] = (
    (70.0, Priority.P1),
    (50.0, Priority.P2),
    (30.0, Priority.P3),
    (15.0, Priority.P4),
)


@dataclass(frozen=True, slots=True)
class Rule:
    feature: str
    points: Callable[[float], float]
    """Points for a known value of `feature`."""


RULES: tuple[Rule, ...] = (
    Rule("max_severity", lambda v: _SEVERITY_POINTS.get(Severity(round(v)), 0.0)),
    Rule("best_tier", lambda v: max(0.0, 25.0 - 6.0 * v)),
    Rule("customer_facing", lambda v: 15.0 if v >= 0.5 else 0.0),
    Rule("alert_count", lambda v: 10.0 if v >= 10 else 5.0 if v >= 3 else 0.0),
    Rule("distinct_services", lambda v: 8.0 if v >= 3 else 0.0),
    Rule("change_within_hour", lambda v: 8.0 if v >= 0.5 else 0.0),
    # engine.detection's scale: 0.75 is a tail probability of 1e-6.
    Rule("peak_anomaly_score", lambda v: 6.0 if v >= 0.75 else 0.0),
    Rule("minutes_open", lambda v: 5.0 if v >= 60 else 0.0),
)
_RULE_COLUMNS = tuple((rule, feature_index(rule.feature)) for rule in RULES)


def priority_for_score(score: float) -> Priority:
    for lowest, priority in _PRIORITY_BANDS:
        if score >= lowest:
            return priority
    return Priority.P5


class RuleBasedScorer:
    @property
    def name(self) -> str:
        return RULES_SCORER_NAME

    def assess(self, facts: IncidentFacts, previous: PriorityAssessment | None = None) -> PriorityAssessment:
        # Rules are cheap and their reasons come for free, so `previous` is not needed.
        return self.assess_row(extract_features(facts))

    def assess_row(self, row: FeatureRow) -> PriorityAssessment:
        fired: list[Reason] = []
        for rule, column in _RULE_COLUMNS:
            value = float(row[column])
            if math.isnan(value):
                continue
            points = rule.points(value)
            if points > 0:
                fired.append(Reason(rule.feature, describe(rule.feature, value), points))
        score = min(100.0, sum(reason.weight for reason in fired))
        fired.sort(key=lambda reason: reason.weight, reverse=True)
        return PriorityAssessment(
            priority=priority_for_score(score),
            score=round(score, 1),
            reasons=tuple(fired[:MAX_REASONS]),
            scorer=RULES_SCORER_NAME,
        )
