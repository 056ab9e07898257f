from __future__ import annotations

import json

import pytest
from clustering_builders import alert, at

from engine.clustering import AlertCorrelator, CorrectionError, CorrectionKind, Decision, ReasonKind


def cascade(engine: AlertCorrelator) -> list[Decision]:
    return [
        engine.ingest(alert("DatabaseHighLatency", "db-payments", start=at(0)), at(0)),
        engine.ingest(alert("HighErrorRate", "payments", start=at(20)), at(20)),
        engine.ingest(alert("ClockSkewDetected", "payments", start=at(40), pod="payments-x"), at(40)),
    ]


def test_split_moves_alerts_into_a_new_incident(engine: AlertCorrelator) -> None:
    decisions = cascade(engine)
    source = decisions[0].incident_id
    assert {d.incident_id for d in decisions} == {source}
    noise = decisions[2].key
    correction = engine.split(source, [noise], at(60), actor="alice", note="clock skew is unrelated")
    assert correction.kind is CorrectionKind.SPLIT
    assert correction.source == source and correction.target != source
    assert correction.moved == (noise,)
    assert set(correction.cannot_link) == {(noise, decisions[0].key), (noise, decisions[1].key)}
    assert correction.must_link == []
    assert engine.incident_of(noise) == correction.target
    moved = engine.incident(correction.target)
    assert moved is not None and moved.alerts == (noise,)
    assert moved.explanations[noise].reasons[0].kind is ReasonKind.MANUAL
    assert "split out of" in moved.explanations[noise].sentence()
    # Later deliveries of the moved alert report its new incident.
    redelivery = alert("ClockSkewDetected", "payments", start=at(40), pod="payments-x")
    assert engine.ingest(redelivery, at(70)).incident_id == correction.target
    json.dumps(correction.as_dict())


def test_split_must_leave_something_behind_and_name_known_alerts(engine: AlertCorrelator) -> None:
    decisions = cascade(engine)
    source = decisions[0].incident_id
    with pytest.raises(CorrectionError):
        engine.split(source, [d.key for d in decisions], at(60))
    with pytest.raises(CorrectionError):
        engine.split(source, [], at(60))
    stranger = engine.ingest(alert("HighErrorRate", "search", start=at(0)), at(0))
    with pytest.raises(CorrectionError):
        engine.split(source, [stranger.key], at(60))


def test_merge_moves_everything_and_closes_the_other(engine: AlertCorrelator) -> None:
    payments = engine.ingest(alert("HighErrorRate", "payments", start=at(0)), at(0))
    mailer = engine.ingest(alert("QueueBacklog", "mailer", start=at(10)), at(10))
    assert mailer.incident_id != payments.incident_id
    correction = engine.merge(payments.incident_id, mailer.incident_id, at(60), actor="bob")
    assert correction.kind is CorrectionKind.MERGE
    assert correction.must_link == [(mailer.key, payments.key)]
    merged = engine.incident(payments.incident_id)
    assert merged is not None and set(merged.alerts) == {payments.key, mailer.key}
    closed = engine.incident(mailer.incident_id)
    assert closed is not None and not closed.open and closed.merged_into == payments.incident_id
    redelivery = alert("QueueBacklog", "mailer", start=at(10))
    assert engine.ingest(redelivery, at(70)).incident_id == payments.incident_id
    with pytest.raises(CorrectionError):
        engine.merge(payments.incident_id, mailer.incident_id, at(80))  # already merged (resolved)
    with pytest.raises(CorrectionError):
        engine.merge(payments.incident_id, payments.incident_id, at(80))
