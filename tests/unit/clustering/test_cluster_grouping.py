"""Which alerts end up together: the behaviours people rely on."""

from __future__ import annotations

from datetime import timedelta

from clustering_builders import alert, at, resolved

from engine.catalog import Catalog
from engine.clustering import AlertCorrelator, ClusteringConfig, Decision, LabelSemantics, ReasonKind


def test_database_outage_and_its_transitive_dependents_are_one_incident(engine: AlertCorrelator) -> None:
    decisions = [
        engine.ingest(alert("DatabaseHighLatency", "db-payments", start=at(0)), at(5)),
        engine.ingest(alert("UpstreamTimeouts", "payments", start=at(40)), at(45)),
        engine.ingest(alert("HighErrorRate", "checkout", start=at(90)), at(95)),
        engine.ingest(alert("HighLatencyP99", "frontend", start=at(150)), at(155)),
    ]
    assert decisions[0].opened
    assert {d.incident_id for d in decisions} == {decisions[0].incident_id}
    assert all(d.joined for d in decisions[1:])
    frontend_reasons = {r.kind for r in decisions[3].explanation.reasons}
    assert ReasonKind.TOPOLOGY in frontend_reasons


def test_same_outage_hours_later_is_a_new_incident(engine: AlertCorrelator) -> None:
    first = alert("DatabaseHighLatency", "db-payments", start=at(0))
    morning = engine.ingest(first, at(0))
    engine.ingest(resolved(first, at(minutes=20)), at(minutes=20))
    engine.tick(at(hours=1))
    again = alert("DatabaseHighLatency", "db-payments", start=at(hours=3))
    afternoon = engine.ingest(again, at(hours=3))
    assert afternoon.opened
    assert afternoon.incident_id != morning.incident_id


def test_same_alert_hours_later_is_new_even_while_the_first_incident_is_still_open(
    engine: AlertCorrelator,
) -> None:
    still_firing = engine.ingest(alert("HighErrorRate", "payments", start=at(0)), at(0))
    later = engine.ingest(alert("HighErrorRate", "payments", start=at(hours=3), pod="payments-other"),
                          at(hours=3))
    assert later.opened
    assert later.incident_id != still_firing.incident_id


def test_two_simultaneous_unrelated_outages_stay_apart(engine: AlertCorrelator) -> None:
    payments = [
        engine.ingest(alert("DatabaseHighLatency", "db-payments", start=at(0)), at(2)),
        engine.ingest(alert("HighErrorRate", "payments", start=at(20)), at(22)),
    ]
    search = [
        engine.ingest(alert("DatabaseHighLatency", "search-index", start=at(10)), at(12)),
        engine.ingest(alert("HighErrorRate", "search", start=at(30)), at(32)),
    ]
    assert payments[0].incident_id == payments[1].incident_id
    assert search[0].incident_id == search[1].incident_id
    assert payments[0].incident_id != search[0].incident_id


def test_resolved_incident_never_absorbs_a_new_alert(catalog: Catalog) -> None:
    engine = AlertCorrelator(ClusteringConfig(resolve_quiet_period=timedelta(0)), catalog)
    first = alert("HighErrorRate", "payments", start=at(0))
    opened = engine.ingest(first, at(0))
    closing = engine.ingest(resolved(first, at(60)), at(60))
    assert closing.incident_resolved
    # Same service, same kind of alert, a minute later: it would have joined an open incident.
    follow_up = engine.ingest(alert("HighErrorRate", "payments", start=at(90), pod="payments-2"), at(90))
    assert follow_up.opened
    assert follow_up.incident_id != opened.incident_id


def test_quiet_period_keeps_the_incident_open_for_a_quick_refire(engine: AlertCorrelator) -> None:
    first = alert("HighErrorRate", "payments", start=at(0))
    opened = engine.ingest(first, at(0))
    assert not engine.ingest(resolved(first, at(60)), at(60)).incident_resolved
    refire = engine.ingest(alert("HighErrorRate", "payments", start=at(180)), at(180))
    assert refire.incident_id == opened.incident_id
    assert refire.explanation.reasons[0].kind is ReasonKind.REFIRED


def test_alert_long_after_the_incident_went_quiet_opens_a_new_one(engine: AlertCorrelator) -> None:
    first = engine.ingest(alert("HighErrorRate", "payments", start=at(0)), at(0))
    late = engine.ingest(alert("HighLatencyP99", "payments", start=at(minutes=12)), at(minutes=12))
    assert late.opened
    assert late.incident_id != first.incident_id


def test_node_problems_group_by_host_not_by_the_generic_service_label() -> None:
    engine = AlertCorrelator(ClusteringConfig(), Catalog.empty())
    def node_alert(name: str, host: str, seconds: float) -> Decision:
        return engine.ingest(alert(name, "node", pod=None, host=host, start=at(seconds)), at(seconds))

    disk = node_alert("NodeDiskFilling", "node-a:9100", 0)
    memory = node_alert("NodeMemoryPressure", "node-a:9100", 20)
    other = node_alert("NodeHighCPU", "node-b:9100", 30)
    assert memory.incident_id == disk.incident_id
    assert other.incident_id != disk.incident_id
    assert any(r.kind is ReasonKind.HOST for r in memory.explanation.reasons)


def test_the_same_failure_in_another_cluster_is_another_incident(engine: AlertCorrelator) -> None:
    eu = engine.ingest(alert("HighErrorRate", "payments", cluster="eu-1", start=at(0)), at(0))
    us = engine.ingest(alert("HighErrorRate", "payments", cluster="us-1", start=at(10)), at(10))
    assert us.incident_id != eu.incident_id


def test_label_conventions_are_configurable() -> None:
    # An estate that names its machines in a `machine` label: node-level alerts on one machine
    # group only when the engine is told that `machine` names a host.
    def disk_then_memory(engine: AlertCorrelator) -> tuple[int, int]:
        disk = alert("DiskFull", None, pod=None, host=None, start=at(0), extra={"machine": "db-7"})
        memory = alert("MemoryLow", None, pod=None, host=None, start=at(30), extra={"machine": "db-7"})
        return engine.ingest(disk, at(0)).incident_id, engine.ingest(memory, at(30)).incident_id

    default = AlertCorrelator(ClusteringConfig(), Catalog.empty())
    first, second = disk_then_memory(default)
    assert first != second

    semantics = LabelSemantics(host=("machine",))
    configured = AlertCorrelator(ClusteringConfig(semantics=semantics), Catalog.empty())
    first, second = disk_then_memory(configured)
    assert first == second


def test_a_root_cause_alert_merges_the_incidents_of_its_dependents(engine: AlertCorrelator) -> None:
    # payments and refunds are siblings (both depend on db-payments, not on each other): their
    # symptoms open two incidents, until the database itself alerts and explains both.
    payments = engine.ingest(alert("HighErrorRate", "payments", start=at(0)), at(0))
    refunds = engine.ingest(alert("HighErrorRate", "refunds", start=at(15)), at(15))
    assert refunds.incident_id != payments.incident_id
    database = engine.ingest(alert("DatabaseHighLatency", "db-payments", start=at(30)), at(30))
    assert database.incident_id == payments.incident_id  # the older incident survives
    assert [c.incident_id for c in database.merged_incidents] == [refunds.incident_id]
    assert database.merged_incidents[0].merged_into == payments.incident_id
    survivor = engine.incident(payments.incident_id)
    assert survivor is not None and len(survivor.alerts) == 3
    assert engine.incident_of(refunds.key) == payments.incident_id


def test_change_events_relate_alerts_that_follow_them(engine: AlertCorrelator) -> None:
    from engine.models import ChangeEvent

    engine.record_change(ChangeEvent("payments", "deploy", "alice", "v2.3", at(-120)))
    first = engine.ingest(alert("HighErrorRate", "checkout", start=at(0)), at(0))
    assert "follows deploy of payments by alice" in first.explanation.sentence()
    second = engine.ingest(alert("PodCrashLooping", "frontend", start=at(30)), at(30))
    assert second.incident_id == first.incident_id
    assert any(r.kind is ReasonKind.CHANGE for r in second.explanation.reasons)
