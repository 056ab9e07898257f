from __future__ import annotations

from dataclasses import replace

from clustering_builders import alert, at, resolved

from engine.clustering import AlertCorrelator, AlertKey, InstanceOutcome


def test_redelivery_is_a_duplicate_in_the_same_incident(engine: AlertCorrelator) -> None:
    first = alert("HighErrorRate", "payments", start=at(0))
    opened = engine.ingest(first, at(0))
    again = engine.ingest(first, at(60))
    assert opened.outcome is InstanceOutcome.NEW and opened.opened
    assert again.outcome is InstanceOutcome.DUPLICATE
    assert again.incident_id == opened.incident_id
    assert not again.notify
    snapshot = engine.incident(opened.incident_id)
    assert snapshot is not None and len(snapshot.alerts) == 1


def test_changed_annotations_update_the_instance(engine: AlertCorrelator) -> None:
    first = alert("HighErrorRate", "payments", start=at(0), summary="payments: 40% failing")
    engine.ingest(first, at(0))
    changed = replace(first, annotations={"summary": "payments: 90% failing"})
    decision = engine.ingest(changed, at(60))
    assert decision.outcome is InstanceOutcome.UPDATED
    assert not decision.notify


def test_resolution_closes_the_instance_and_later_firing_redelivery_is_stale(engine: AlertCorrelator) -> None:
    first = alert("HighErrorRate", "payments", start=at(0))
    engine.ingest(first, at(0))
    closing = engine.ingest(resolved(first, at(120)), at(120))
    assert closing.outcome is InstanceOutcome.RESOLVED
    assert engine.ingest(resolved(first, at(120)), at(150)).outcome is InstanceOutcome.DUPLICATE
    # A firing delivery that arrives after the resolution, with the same startsAt, changes nothing.
    assert engine.ingest(first, at(160)).outcome is InstanceOutcome.DUPLICATE


def test_new_starts_at_is_a_new_firing(engine: AlertCorrelator) -> None:
    first = alert("HighErrorRate", "payments", start=at(0))
    engine.ingest(first, at(0))
    engine.ingest(resolved(first, at(60)), at(60))
    second = replace(first, starts_at=at(200))
    decision = engine.ingest(second, at(200))
    assert decision.outcome is InstanceOutcome.NEW
    assert decision.key == AlertKey(first.fingerprint, at(200))


def test_alert_first_seen_resolved_is_still_clustered(engine: AlertCorrelator) -> None:
    late = resolved(alert("DiskSpaceLow", "db-payments", start=at(0)), at(300))
    decision = engine.ingest(late, at(300))
    assert decision.outcome is InstanceOutcome.NEW
    assert decision.incident_id > 0


def test_new_firing_ends_a_previous_instance_whose_resolution_was_lost(engine: AlertCorrelator) -> None:
    first = alert("HighErrorRate", "payments", start=at(0))
    opened = engine.ingest(first, at(0))
    second = replace(first, starts_at=at(600))  # no resolution of `first` ever arrived
    refired = engine.ingest(second, at(600))
    assert refired.incident_id == opened.incident_id
    engine.ingest(resolved(second, at(700)), at(700))
    # Four state changes in ten minutes: flapping, so the incident closes once stable for 20 min.
    closures = engine.tick(at(700 + 20 * 60 + 1))
    assert [c.incident_id for c in closures] == [opened.incident_id]
