from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime

import numpy as np
import pytest
import xgboost as xgb

from engine.models import Alert, AlertStatus, Priority, Service, Severity
from engine.scoring import (
    FEATURE_NAMES,
    IncidentFacts,
    PriorityAssessment,
    Reason,
    RuleBasedScorer,
    TrainingResult,
    XGBoostScorer,
    extract_features,
)
from engine.scoring.explain import top_reasons

OPENED = datetime(2025, 6, 4, 8, 30, tzinfo=UTC)


def incident(severity: Severity, alerts: int, service: Service) -> IncidentFacts:
    return IncidentFacts(
        opened_at=OPENED,
        alerts=tuple(
            Alert(
                fingerprint=f"a{i}",
                name="Test",
                status=AlertStatus.FIRING,
                severity=severity,
                labels={"service": service.name},
                annotations={},
                starts_at=OPENED,
            )
            for i in range(alerts)
        ),
        services=(service,),
    )


# Under the planted rule (see conftest): P1 because customer-facing tier 0; P5 because internal,
# not critical, few alerts.
URGENT = incident(Severity.CRITICAL, 12, Service("checkout", tier=0, customer_facing=True))
MINOR = incident(Severity.WARNING, 3, Service("wiki", tier=4, customer_facing=False))


@pytest.fixture
def scorer(planted_model: TrainingResult) -> XGBoostScorer:
    return XGBoostScorer(planted_model.artifact)


def test_the_model_applies_the_planted_rule(scorer: XGBoostScorer) -> None:
    urgent, minor = scorer.assess(URGENT), scorer.assess(MINOR)
    assert (urgent.priority, minor.priority) == (Priority.P1, Priority.P5)
    assert 0.0 <= minor.score < 25.0 < 75.0 < urgent.score <= 100.0


@pytest.mark.parametrize(
    ("facts", "priority", "phrase"),
    [(URGENT, Priority.P1, "customer-facing service"), (MINOR, Priority.P5, "internal services only")],
)
def test_reasons_are_the_top_contributing_features(
    scorer: XGBoostScorer,
    planted_model: TrainingResult,
    facts: IncidentFacts,
    priority: Priority,
    phrase: str,
) -> None:
    assessment = scorer.assess(facts)
    assert assessment.priority is priority
    row = extract_features(facts)
    booster = planted_model.artifact.new_booster()
    contributions = booster.predict(
        xgb.DMatrix(row[None, :], missing=np.nan), pred_contribs=True, validate_features=False
    )
    towards_class = contributions[0, int(priority) - 1, :-1]
    expected = [
        FEATURE_NAMES[i]
        for i in np.argsort(-towards_class)
        if towards_class[i] > 0 and not math.isnan(row[i])
    ][:3]
    assert [reason.feature for reason in assessment.reasons] == expected
    assert [reason.weight for reason in assessment.reasons] == pytest.approx(
        [float(towards_class[FEATURE_NAMES.index(name)]) for name in expected]
    )
    assert assessment.explanation.startswith(f"{priority.name} because: ")
    assert phrase in assessment.explanation


def test_reasons_skip_unknown_and_opposing_features() -> None:
    contributions = np.zeros(len(FEATURE_NAMES) + 1, dtype=np.float32)
    row = np.full(len(FEATURE_NAMES), np.nan, dtype=np.float32)
    alert_count, tier, hosts, severity = (
        FEATURE_NAMES.index(n) for n in ("alert_count", "best_tier", "distinct_hosts", "max_severity")
    )
    contributions[[alert_count, tier, hosts, severity]] = [0.5, 0.9, 2.0, -1.0]
    contributions[-1] = 5.0  # the bias is never a reason
    row[[alert_count, tier, severity]] = [14, 1, 4]  # hosts unknown
    assert top_reasons(contributions, row) == (
        Reason("best_tier", "tier-1 service", pytest.approx(0.9)),
        Reason("alert_count", "14 alerts", pytest.approx(0.5)),
    )
    assert len(top_reasons(contributions, row, limit=1)) == 1


def test_reasons_are_reused_while_the_priority_stays(scorer: XGBoostScorer) -> None:
    first = scorer.assess(URGENT)
    marked = dataclasses.replace(first, reasons=(Reason("marker", "kept from before", 1.0),))
    assert scorer.assess(URGENT, previous=marked).reasons == marked.reasons


@pytest.mark.parametrize(
    "change",
    [
        {"priority": Priority.P3},
        {"scorer": "rules", "model_version": None},
        {"model_version": "some-older-model"},
    ],
)
def test_reasons_are_recomputed_when_the_priority_or_the_model_changes(
    scorer: XGBoostScorer, change: dict[str, object]
) -> None:
    first = scorer.assess(URGENT)
    previous = dataclasses.replace(first, reasons=(Reason("marker", "stale", 1.0),), **change)  # type: ignore[arg-type]
    assert scorer.assess(URGENT, previous=previous).reasons == first.reasons


def test_batch_scoring_agrees_with_single_scoring(scorer: XGBoostScorer) -> None:
    many = [URGENT, MINOR, IncidentFacts(opened_at=OPENED)]
    assert scorer.assess_many(many) == [scorer.assess(facts) for facts in many]
    assert [a.reasons for a in scorer.assess_many(many, with_reasons=False)] == [(), (), ()]


def test_rules_rank_their_reasons_by_points() -> None:
    assessment = RuleBasedScorer().assess(URGENT)
    assert assessment.priority is Priority.P1
    assert assessment.score == 35 + 25 + 15 + 10  # severity, tier 0, customer-facing, >= 10 alerts
    assert assessment.explanation == "P1 because: critical severity, tier-0 service, customer-facing service"
    assert assessment.scorer == "rules"


def test_rules_without_information_give_the_lowest_priority_and_say_why() -> None:
    assessment = RuleBasedScorer().assess(IncidentFacts(opened_at=OPENED))
    assert assessment == PriorityAssessment(Priority.P5, 0.0, (), "rules")
    assert assessment.explanation == "P5: no single factor stands out"


def test_rules_give_minor_incidents_a_low_priority() -> None:
    assessment = RuleBasedScorer().assess(MINOR)
    # warning 10 + three alerts 5 + tier 4 1 = 16 points: the P4 band starts at 15.
    assert (assessment.priority, assessment.score) == (Priority.P4, 16.0)
    assert [r.feature for r in assessment.reasons] == ["max_severity", "alert_count", "best_tier"]


def test_rules_count_a_strong_anomaly() -> None:
    anomalous = dataclasses.replace(MINOR, peak_anomaly_score=0.9)
    mild = dataclasses.replace(MINOR, peak_anomaly_score=0.5)
    assert RuleBasedScorer().assess(anomalous).score == RuleBasedScorer().assess(MINOR).score + 6
    assert RuleBasedScorer().assess(anomalous).reasons[1].phrase == "anomaly score 0.90"
    assert RuleBasedScorer().assess(mild).score == RuleBasedScorer().assess(MINOR).score
