"""Builders shared by the enrichment tests: alerts, changes, history entries, a small catalog."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from engine.catalog import Catalog, load_catalog
from engine.enrichment.profile import IncidentProfile, profile_of
from engine.enrichment.similarity import HistoryEntry
from engine.models import Alert, AlertSource, AlertStatus, ChangeEvent, Severity

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
EXAMPLE_CATALOG = Path(__file__).resolve().parents[3] / "examples" / "services.yaml"


def at(*, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0) -> datetime:
    return T0 + timedelta(minutes=minutes, hours=hours, days=days)


def shop() -> Catalog:
    return load_catalog(EXAMPLE_CATALOG)


def alert(
    name: str,
    service: str | None = "checkout",
    *,
    start: datetime = T0,
    host: str | None = "node-1:9100",
    status: AlertStatus = AlertStatus.FIRING,
    severity: Severity = Severity.ERROR,
    summary: str | None = None,
    extra: Mapping[str, str] | None = None,
    source: AlertSource = AlertSource.ALERTMANAGER,
) -> Alert:
    labels = {"alertname": name, "env": "prod"}
    if service is not None:
        labels["service"] = service
    if host is not None:
        labels["instance"] = host
    labels.update(extra or {})
    fingerprint = hashlib.sha256(repr(sorted(labels.items())).encode()).hexdigest()[:16]
    return Alert(
        fingerprint=fingerprint,
        name=name,
        status=status,
        severity=severity,
        labels=labels,
        annotations={"summary": summary or f"{name} on {service}"},
        starts_at=start,
        ends_at=None if status is AlertStatus.FIRING else start + timedelta(minutes=5),
        source=source,
    )


def change(service: str, *, minutes: float, what: str = "deploy v1.2.3", who: str = "ci") -> ChangeEvent:
    return ChangeEvent(service=service, kind="deploy", who=who, what=what, at=at(minutes=minutes))


def past(
    incident_id: int,
    title: str,
    service: str | None = "checkout",
    *,
    days_ago: float = 10.0,
    profile: IncidentProfile | None = None,
    resolution: str | None = "fixed it",
    playbook: str | None = None,
    priority: int | None = 3,
) -> HistoryEntry:
    opened = at(days=-days_ago)
    return HistoryEntry(
        incident_id=incident_id,
        external_id=f"INC-{incident_id}",
        origin="imported",
        title=title,
        service=service,
        opened_at=opened,
        resolved_at=opened + timedelta(minutes=42),
        priority=priority,
        resolution=resolution,
        playbook=playbook,
        profile=profile or profile_of(title, [service] if service else []),
    )
