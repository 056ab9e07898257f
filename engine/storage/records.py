"""What the store hands back: stored rows as typed records (engine models plus their identity)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from engine.models import Alert, ChangeEvent

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredAlert:
    id: int
    alert: Alert
    received_at: datetime
    updated_at: datetime
    incident_id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredChange:
    id: int
    change: ChangeEvent
    received_at: datetime


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    title: str
    status: str
    origin: str
    service: str | None
    services: list[str]
    priority: int | None
    priority_source: str | None
    score: float | None
    scorer: str | None
    reasons: list[Any]
    enrichment: dict[str, Any]
    alert_count: int
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    auto_resolved: bool
    resolution: str | None
    playbook: str | None
    external_id: str | None
    updated_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    at: datetime
    kind: str
    actor: str | None
    text: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: IncidentRecord
    alerts: list[StoredAlert]
    explanations: dict[int, str]
    timeline: list[IncidentEvent]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: int | None


@dataclass(frozen=True, slots=True)
class AlertIngestResult:
    """How a batch of alert deliveries landed: per delivery, its stored id and what happened to it."""

    ids: list[int]
    outcomes: list[str]  # new | updated | duplicate
    alerts: list[Alert]  # as stored (a re-sent API alert takes the start of its open instance)

    def count(self, outcome: str) -> int:
        return self.outcomes.count(outcome)


@dataclass(frozen=True, slots=True)
class PointIngestResult:
    stored: int
    duplicates: int
    series_ids: list[int]  # per series of the batch (PointBatch.series), its id
