"""Startup from storage, id allocation, and state that must not grow without bound."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from clustering_builders import alert, at, resolved

from engine.catalog import Catalog
from engine.clustering import AlertCorrelator, ClusteringConfig, InstanceOutcome, StoredIncident


class DatabaseIds:
    """What the service injects: ids from its own sequence."""

    def __init__(self) -> None:
        self.next = 500
        self.reserved: list[int] = []

    def allocate(self) -> int:
        self.next += 1
        return self.next

    def reserve(self, incident_id: int) -> None:
        self.reserved.append(incident_id)


def test_state_is_rebuilt_from_stored_open_incidents(catalog: Catalog) -> None:
    database = alert("DatabaseHighLatency", "db-payments", start=at(0))
    payments = alert("HighErrorRate", "payments", start=at(30))
    engine = AlertCorrelator(ClusteringConfig(), catalog)
    engine.restore([StoredIncident(41, [database, resolved(payments, at(90))])], at(100))

    again = engine.ingest(database, at(110))
    assert again.outcome is InstanceOutcome.DUPLICATE and again.incident_id == 41
    joined = engine.ingest(alert("HighErrorRate", "checkout", start=at(120)), at(125))
    assert joined.incident_id == 41 and joined.joined
    unrelated = engine.ingest(alert("HighErrorRate", "search", start=at(130)), at(135))
    assert unrelated.opened and unrelated.incident_id > 41  # the default allocator skips restored ids
    snapshot = engine.incident(41)
    assert snapshot is not None and snapshot.roots == ("db-payments",)
    assert len(snapshot.alerts) == 3 and len(snapshot.firing) == 2


def test_restore_refuses_inconsistent_input(catalog: Catalog) -> None:
    engine = AlertCorrelator(ClusteringConfig(), catalog)
    shared = alert("HighErrorRate", "payments", start=at(0))
    with pytest.raises(ValueError, match="two incidents"):
        engine.restore([StoredIncident(1, [shared]), StoredIncident(2, [shared])], at(10))
    with pytest.raises(ValueError, match="no alerts"):
        AlertCorrelator(ClusteringConfig(), catalog).restore([StoredIncident(3, [])], at(10))


def test_incident_ids_come_from_the_injected_allocator(catalog: Catalog) -> None:
    ids = DatabaseIds()
    engine = AlertCorrelator(ClusteringConfig(), catalog, ids=ids)
    engine.restore([StoredIncident(7, [alert("HighErrorRate", "search", start=at(0))])], at(0))
    decision = engine.ingest(alert("QueueBacklog", "mailer", start=at(hours=1)), at(hours=1))
    assert ids.reserved == [7]
    assert decision.incident_id == 501


def test_closed_state_is_evicted(catalog: Catalog) -> None:
    config = ClusteringConfig(resolve_quiet_period=timedelta(minutes=5), closed_retention=timedelta(hours=1))
    engine = AlertCorrelator(config, catalog)
    firing = alert("HighErrorRate", "payments", start=at(0))
    incident = engine.ingest(firing, at(0)).incident_id
    engine.ingest(resolved(firing, at(60)), at(60))
    closures = engine.tick(at(60 + 301))
    assert [c.incident_id for c in closures] == [incident]
    assert closures[0].reason == "all alerts resolved"
    assert engine.incident(incident) is not None  # kept a while for late re-deliveries
    assert engine.ingest(resolved(firing, at(60)), at(400)).outcome is InstanceOutcome.DUPLICATE
    engine.tick(at(hours=2))
    assert engine.incident(incident) is None
    assert engine.memory()["instances"] == 0 and engine.memory()["incidents"] == 0


def test_memory_stays_bounded_over_days(catalog: Catalog) -> None:
    engine = AlertCorrelator(ClusteringConfig(), catalog)
    services = ["payments", "search", "mailer", "checkout"]
    for hour in range(72):
        for n, service in enumerate(services):
            start = at(hours=hour, minutes=n * 10)
            firing = alert("HighErrorRate", service, start=start, pod=f"{service}-{hour}")
            engine.ingest(firing, firing.starts_at)
            engine.ingest(resolved(firing, firing.starts_at + timedelta(minutes=5)),
                          firing.starts_at + timedelta(minutes=5))
    sizes = engine.memory()
    assert sizes["incidents"] < 40, sizes  # about two hours' worth, not three days'
    assert sizes["instances"] < 40, sizes
    assert sizes["indexed_incidents"] <= 2, sizes


def test_an_alert_never_redelivered_is_taken_as_resolved(catalog: Catalog) -> None:
    engine = AlertCorrelator(ClusteringConfig(stale_after=timedelta(hours=1)), catalog)
    incident = engine.ingest(alert("HighErrorRate", "payments", start=at(0)), at(0)).incident_id
    engine.tick(at(minutes=61))
    closures = engine.tick(at(minutes=72))
    assert [c.incident_id for c in closures] == [incident]


def test_incidents_can_be_left_for_people_to_resolve(catalog: Catalog) -> None:
    engine = AlertCorrelator(ClusteringConfig(resolve_when_alerts_resolve=False), catalog)
    firing = alert("HighErrorRate", "payments", start=at(0))
    incident = engine.ingest(firing, at(0)).incident_id
    engine.ingest(resolved(firing, at(60)), at(60))
    assert engine.tick(at(hours=1)) == ()
    closure = engine.close(incident, at(hours=1), actor="carol")
    assert closure.reason == "closed by carol"
    snapshot = engine.incident(incident)
    assert snapshot is not None and not snapshot.open


@pytest.mark.parametrize(
    "bad",
    [
        {"max_gap": timedelta(0)},
        {"resolve_quiet_period": timedelta(seconds=-1)},
        {"time_decay": 1.0},
        {"join_threshold": 0.0},
        {"flap_threshold": 1},
        {"stale_after": timedelta(0)},
    ],
)
def test_config_rejects_nonsense(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ClusteringConfig(**bad)
