from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from engine.models import Alert, AlertStatus, ChangeEvent, PastIncident, Priority, Service, Severity
from engine.scoring import FEATURE_NAMES, IncidentFacts, extract_features, feature_matrix
from engine.scoring.features import describe

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# A Wednesday, 10:30 in Berlin, 04:30 in New York.
OPENED = datetime(2025, 6, 4, 8, 30, tzinfo=UTC)


def alert(severity: Severity, *, host: str | None, service: str) -> Alert:
    labels = {"service": service, **({"host": host} if host else {})}
    return Alert(
        fingerprint=f"{service}-{host}-{severity}",
        name="Test",
        status=AlertStatus.FIRING,
        severity=severity,
        labels=labels,
        annotations={},
        starts_at=OPENED,
    )


def past(days_before: float, minutes_to_resolve: float | None) -> PastIncident:
    opened = OPENED - timedelta(days=days_before)
    resolved = None if minutes_to_resolve is None else opened + timedelta(minutes=minutes_to_resolve)
    return PastIncident(
        id=f"p{days_before}",
        title="t",
        service="checkout",
        priority=Priority.P3,
        opened_at=opened,
        resolved_at=resolved,
    )


def change(service: str, minutes_before: float) -> ChangeEvent:
    return ChangeEvent(service, "deploy", "ci", "deploy", OPENED - timedelta(minutes=minutes_before))


def features(facts: IncidentFacts) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, (float(v) for v in extract_features(facts)), strict=True))


def full_facts(**overrides: object) -> IncidentFacts:
    values: dict[str, object] = {
        "opened_at": OPENED,
        "now": OPENED + timedelta(minutes=45),
        "alerts": (
            alert(Severity.WARNING, host="h1", service="checkout"),
            alert(Severity.CRITICAL, host="h1", service="checkout"),
            alert(Severity.ERROR, host="h2", service="payments"),
        ),
        "services": (
            Service("checkout", tier=1, customer_facing=True),
            Service("payments", tier=0, customer_facing=False),
        ),
        "recent_changes": (
            change("checkout", 40),
            change("payments", 12),
            change("search", 2),  # not an affected service
            change("checkout", -5),  # after the start: a fix, not a cause
        ),
        "similar_incidents": (
            past(5, 30),
            past(20, 90),
            past(40, 60),
            past(0.01, 500),  # opened 15 min before, resolved after this one opened: not known yet
            past(10, None),  # still open
        ),
        "peak_anomaly_score": 0.75,
        "team_timezone": BERLIN,
    }
    values.update(overrides)
    return IncidentFacts(**values)  # type: ignore[arg-type]


def test_every_feature_is_computed_from_full_facts() -> None:
    assert features(full_facts()) == {
        "max_severity": 4.0,
        "alert_count": 3.0,
        "distinct_hosts": 2.0,
        "distinct_services": 2.0,
        "best_tier": 0.0,
        "customer_facing": 1.0,
        "business_hours": 1.0,
        "recurrence_30d": 4.0,  # 5, 20, 0.01 and 10 days ago; not 40
        "median_minutes_to_resolve": 60.0,  # of 30, 90, 60: the others were not resolved yet
        "change_within_hour": 1.0,
        "minutes_since_change": pytest.approx(12.0),
        "peak_anomaly_score": 0.75,
        "minutes_open": 45.0,
    }


def test_every_feature_is_nan_when_nothing_is_known() -> None:
    row = extract_features(IncidentFacts(opened_at=OPENED))
    assert len(row) == len(FEATURE_NAMES)
    assert np.isnan(row).all(), dict(zip(FEATURE_NAMES, row, strict=True))


def test_known_to_be_empty_is_not_the_same_as_unknown() -> None:
    values = features(IncidentFacts(opened_at=OPENED, alerts=(), recent_changes=(), similar_incidents=()))
    assert values["alert_count"] == 0.0
    assert math.isnan(values["max_severity"])
    assert values["change_within_hour"] == 0.0
    assert math.isnan(values["minutes_since_change"])
    assert values["recurrence_30d"] == 0.0
    assert math.isnan(values["median_minutes_to_resolve"])


def test_alerts_without_host_labels_leave_hosts_unknown() -> None:
    values = features(full_facts(alerts=(alert(Severity.ERROR, host=None, service="checkout"),)))
    assert math.isnan(values["distinct_hosts"])
    assert values["alert_count"] == 1.0


def test_services_missing_from_the_catalog_leave_tier_and_customer_facing_unknown() -> None:
    values = features(full_facts(services=()))
    assert math.isnan(values["best_tier"])
    assert math.isnan(values["customer_facing"])
    assert values["distinct_services"] == 2.0  # still named by the alerts


def test_an_older_change_is_not_within_the_hour_but_its_age_is_known() -> None:
    values = features(full_facts(recent_changes=(change("checkout", 95),)))
    assert values["change_within_hour"] == 0.0
    assert values["minutes_since_change"] == pytest.approx(95.0)


@pytest.mark.parametrize(
    ("opened_at", "zone", "expected"),
    [
        (OPENED, BERLIN, 1.0),  # Wednesday 10:30
        (OPENED, NEW_YORK, 0.0),  # Wednesday 04:30
        (datetime(2025, 6, 7, 8, 30, tzinfo=UTC), BERLIN, 0.0),  # Saturday
        (datetime(2025, 6, 4, 17, 0, tzinfo=UTC), BERLIN, 0.0),  # 19:00
    ],
)
def test_business_hours_are_the_teams_own(opened_at: datetime, zone: ZoneInfo, expected: float) -> None:
    assert features(full_facts(opened_at=opened_at, team_timezone=zone))["business_hours"] == expected


def test_naive_datetimes_are_taken_as_utc() -> None:
    naive = full_facts(
        opened_at=OPENED.replace(tzinfo=None), now=(OPENED + timedelta(minutes=45)).replace(tzinfo=None)
    )
    assert features(naive) == features(full_facts())


def test_feature_matrix_matches_single_extraction() -> None:
    many = [full_facts(), IncidentFacts(opened_at=OPENED), full_facts(services=())]
    matrix = feature_matrix(many)
    for row, facts in zip(matrix, many, strict=True):
        np.testing.assert_array_equal(row, extract_features(facts))


def test_phrases_say_the_value() -> None:
    assert describe("alert_count", 14.0) == "14 alerts"
    assert describe("alert_count", 1.0) == "1 alert"
    assert describe("max_severity", 4.0) == "critical severity"
    assert describe("customer_facing", 1.0) == "customer-facing service"
    assert describe("minutes_since_change", 12.4) == "change 12 min before it started"
    assert describe("recurrence_30d", 3.0) == "seen 3× in 30 days"
