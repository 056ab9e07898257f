from __future__ import annotations

import json

from clustering_builders import alert, at

from engine.clustering import AlertCorrelator, ReasonKind


def test_joined_sentence_names_the_evidence(engine: AlertCorrelator) -> None:
    first = engine.ingest(alert("DatabaseHighLatency", "db-payments", start=at(0)), at(0))
    second = engine.ingest(alert("UpstreamTimeouts", "payments", start=at(40),
                                 summary="payments timing out calling db-payments"), at(40))
    sentence = second.explanation.sentence()
    assert sentence.startswith(f"joined #{first.incident_id}: ")
    assert "payments depends on db-payments" in sentence
    assert "40 s after the first alert" in sentence
    assert "text similarity" in sentence


def test_contributions_add_up_to_the_score(engine: AlertCorrelator) -> None:
    engine.ingest(alert("HighErrorRate", "payments", start=at(0)), at(0))
    joined = engine.ingest(alert("HighErrorRate", "payments", start=at(150), pod="payments-2"), at(150))
    explanation = joined.explanation
    assert explanation.score is not None and explanation.threshold is not None
    assert explanation.score >= explanation.threshold
    total = sum(r.contribution for r in explanation.reasons)
    assert abs(total - explanation.score) < 1e-9
    time_reason = next(r for r in explanation.reasons if r.kind is ReasonKind.TIME)
    assert time_reason.contribution < 0  # 150 s after the latest alert costs something


def test_opening_explains_why_nothing_was_joined(engine: AlertCorrelator) -> None:
    first = engine.ingest(alert("HighErrorRate", "payments", start=at(0)), at(0))
    # Same service, but a different problem three and a half minutes later: scored, not enough.
    backup = alert("BackupJobFailed", "payments", start=at(210), summary="nightly backup failed")
    opened = engine.ingest(backup, at(210))
    assert opened.opened
    sentence = opened.explanation.sentence()
    assert sentence.startswith(f"opened #{opened.incident_id}: closest incident #{first.incident_id} scored ")
    assert "same service payments" in sentence
    unrelated = engine.ingest(alert("HighErrorRate", "search", start=at(220)), at(220))
    assert unrelated.explanation.sentence().endswith("no open incident within 4 min is related to it")


def test_explanation_is_storable(engine: AlertCorrelator) -> None:
    engine.ingest(alert("DatabaseHighLatency", "db-payments", start=at(0)), at(0))
    joined = engine.ingest(alert("HighErrorRate", "payments", start=at(10)), at(10))
    stored = json.loads(json.dumps(joined.explanation.as_dict()))
    assert stored["joined"] is True
    assert stored["sentence"] == joined.explanation.sentence()
    assert {r["kind"] for r in stored["reasons"]} >= {"topology", "time"}
