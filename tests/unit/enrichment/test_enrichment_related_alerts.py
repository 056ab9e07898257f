from __future__ import annotations

from engine.enrichment.related_alerts import host_of, summarize_alerts
from engine.enrichment.sections import Absent, Count, RelatedAlerts
from engine.models import AlertStatus, Severity
from tests.unit.enrichment.builders import alert, at


def summary(alerts: list, **overrides: int) -> RelatedAlerts:  # type: ignore[type-arg]
    options = {"total": len(alerts), "top_counts": 10, "max_firing_listed": 20, **overrides}
    result = summarize_alerts(alerts, **options)
    assert isinstance(result, RelatedAlerts)
    return result


def test_counts_by_name_service_and_host_with_what_still_fires() -> None:
    alerts = [
        alert("HighErrorRate", "checkout", start=at(minutes=0), host="node-1:9100"),
        alert("HighErrorRate", "checkout", start=at(minutes=1), host="node-2:9100"),
        alert(
            "HighLatency", "checkout", start=at(minutes=2), host="node-1:9100", status=AlertStatus.RESOLVED
        ),
        alert("DBConnections", "payments-db", start=at(minutes=3), host="db-1", severity=Severity.CRITICAL),
    ]
    result = summary(alerts)
    assert (result.total, result.firing, result.worst_severity) == (4, 3, "critical")
    assert result.by_name == (
        Count("HighErrorRate", 2, 2),
        Count("DBConnections", 1, 1),
        Count("HighLatency", 1, 0),
    )
    assert result.by_service == (Count("checkout", 3, 2), Count("payments-db", 1, 1))
    assert result.by_host == (Count("node-1", 2, 1), Count("db-1", 1, 1), Count("node-2", 1, 1))
    assert result.first.name == "HighErrorRate" and result.first.starts_at == at(minutes=0)
    assert result.latest.name == "DBConnections" and result.latest.host == "db-1"
    assert [a.name for a in result.still_firing] == ["HighErrorRate", "HighErrorRate", "DBConnections"]
    assert not result.truncated


def test_lists_are_capped_and_a_partial_read_says_so() -> None:
    alerts = [alert(f"Alert{i}", f"svc-{i}", start=at(minutes=i), host=f"h{i}") for i in range(8)]
    result = summary(alerts, total=50, top_counts=3, max_firing_listed=2)
    assert len(result.by_name) == len(result.by_service) == len(result.by_host) == 3
    assert [a.name for a in result.still_firing] == ["Alert0", "Alert1"]  # the oldest first
    assert result.total == 50 and result.truncated


def test_no_alerts_is_an_absent_section() -> None:
    assert summarize_alerts([], total=0, top_counts=10, max_firing_listed=20) == Absent(
        "no alerts in this incident yet"
    )


def test_host_comes_from_the_first_host_label_without_the_exporter_port() -> None:
    assert host_of(alert("X", host="node-7:9100")) == "node-7"
    assert host_of(alert("X", host="[::1]:9100")) == "::1"
    assert host_of(alert("X", host=None, extra={"node": "k8s-node-3"})) == "k8s-node-3"
    assert host_of(alert("X", host=None)) is None
