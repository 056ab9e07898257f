"""Escalations to PagerDuty: one row per incident, keyed by the dedup key PagerDuty knows it by.

The unique dedup key is what makes an escalation happen once: two replicas (or two clicks) deciding
at the same moment both insert, one of them inserts nothing and queues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.models import IncidentStatus
from engine.storage.schema import audit_log, escalations, incidents
from engine.storage.upsert import dialect_insert

TRIGGERED = "triggered"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
WEBHOOK_ACTION = "pagerduty_webhook"
"""The audit action of an applied PagerDuty webhook event; its detail holds the event id."""


@dataclass(frozen=True, slots=True)
class Escalation:
    id: int
    incident_id: int
    dedup_key: str
    routing_key: str
    status: str
    external_incident_id: str | None
    triggered_by: str
    triggered_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True, slots=True)
class IncidentRow:
    """The columns of an incident an escalation reads."""

    id: int
    title: str
    status: str
    priority: int | None
    service: str | None
    services: tuple[str, ...]
    opened_at: datetime
    reasons: tuple[str, ...]
    enrichment: dict[str, Any]


async def insert(
    conn: AsyncConnection,
    *,
    incident_id: int,
    dedup_key: str,
    routing_key: str,
    triggered_by: str,
    now: datetime,
) -> bool:
    """False when the incident is already escalated (the dedup key exists)."""
    statement = (
        dialect_insert(conn, escalations)
        .values(
            incident_id=incident_id,
            dedup_key=dedup_key,
            routing_key=routing_key,
            status=TRIGGERED,
            triggered_by=triggered_by,
            triggered_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedup_key"])
    )
    return bool((await conn.execute(statement)).rowcount)


async def of_incident(conn: AsyncConnection, incident_id: int, *, lock: bool = False) -> Escalation | None:
    """The incident's escalation; `lock` holds the row for the transaction (PostgreSQL) so that two
    deliveries of one webhook, or a webhook and a click, change it one after the other."""
    query = select(escalations).where(escalations.c.incident_id == incident_id).order_by(escalations.c.id)
    return await _one(conn, query, lock)


async def linked(
    conn: AsyncConnection, *, external_id: str | None, dedup_key: str | None, lock: bool = False
) -> Escalation | None:
    """The escalation a PagerDuty incident belongs to: by its id once known, else by the dedup key
    PagerDuty reports as `incident_key`."""
    if external_id:
        query = select(escalations).where(escalations.c.external_incident_id == external_id)
        found = await _one(conn, query, lock)
        if found is not None:
            return found
    if dedup_key:
        return await _one(conn, select(escalations).where(escalations.c.dedup_key == dedup_key), lock)
    return None


async def set_status(conn: AsyncConnection, escalation: Escalation, status: str, now: datetime) -> bool:
    """Move to `status` unless already there; returns whether it moved."""
    if escalation.status == status:
        return False
    values: dict[str, Any] = {"status": status}
    if status == ACKNOWLEDGED:
        values["acknowledged_at"] = now
    elif status == RESOLVED:
        values["resolved_at"] = now
    elif escalation.status == RESOLVED:
        values["resolved_at"] = None  # reopened
    result = await conn.execute(
        update(escalations)
        .where(escalations.c.id == escalation.id, escalations.c.status == escalation.status)
        .values(**values)
    )
    return bool(result.rowcount)


async def set_external_id(conn: AsyncConnection, escalation_id: int, external_id: str) -> bool:
    result = await conn.execute(
        update(escalations)
        .where(escalations.c.id == escalation_id, escalations.c.external_incident_id.is_(None))
        .values(external_incident_id=external_id)
    )
    return bool(result.rowcount)


async def incident(conn: AsyncConnection, incident_id: int) -> IncidentRow | None:
    row = (
        await conn.execute(
            select(
                incidents.c.id,
                incidents.c.title,
                incidents.c.status,
                incidents.c.priority,
                incidents.c.service,
                incidents.c.services,
                incidents.c.opened_at,
                incidents.c.reasons,
                incidents.c.enrichment,
            ).where(incidents.c.id == incident_id)
        )
    ).first()
    if row is None:
        return None
    return IncidentRow(
        id=int(row.id),
        title=row.title,
        status=row.status,
        priority=row.priority,
        service=row.service,
        services=tuple(str(s) for s in row.services or ()),
        opened_at=row.opened_at,
        reasons=tuple(str(r) for r in row.reasons or ()),
        enrichment=dict(row.enrichment or {}),
    )


async def overdue(
    conn: AsyncConnection, *, max_priority: int, opened_before: datetime, limit: int = 100
) -> list[int]:
    """Open (unacknowledged) incidents of priority P1..P`max_priority` opened before the cutoff and
    never escalated, oldest first."""
    escalated = exists().where(escalations.c.incident_id == incidents.c.id)
    rows = await conn.execute(
        select(incidents.c.id)
        .where(
            incidents.c.status == IncidentStatus.OPEN.value,
            incidents.c.origin == "nocbot",
            incidents.c.priority.is_not(None),
            incidents.c.priority <= max_priority,
            incidents.c.opened_at <= opened_before,
            ~escalated,
        )
        .order_by(incidents.c.opened_at)
        .limit(limit)
    )
    return [int(row.id) for row in rows]


async def applied_events(conn: AsyncConnection, incident_id: int) -> set[str]:
    """Ids of the PagerDuty webhook events already applied to the incident (each is audited)."""
    rows = await conn.execute(
        select(audit_log.c.detail).where(
            audit_log.c.incident_id == incident_id, audit_log.c.action == WEBHOOK_ACTION
        )
    )
    return {
        str(detail["event_id"]) for (detail,) in rows if isinstance(detail, dict) and "event_id" in detail
    }


async def _one(conn: AsyncConnection, query: Any, lock: bool) -> Escalation | None:
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query.limit(1))).mappings().first()
    return _escalation(row) if row is not None else None


def _escalation(row: Any) -> Escalation:
    return Escalation(
        id=int(row["id"]),
        incident_id=int(row["incident_id"]),
        dedup_key=row["dedup_key"],
        routing_key=row["routing_key"],
        status=row["status"],
        external_incident_id=row["external_incident_id"],
        triggered_by=row["triggered_by"],
        triggered_at=row["triggered_at"],
        acknowledged_at=row["acknowledged_at"],
        resolved_at=row["resolved_at"],
    )
