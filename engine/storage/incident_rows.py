"""Incidents: the read side, and history imported from other tools."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.models import Alert, IncidentStatus, PastIncident
from engine.storage.alert_rows import stored_alert
from engine.storage.records import IncidentDetail, IncidentEvent, IncidentRecord, Page
from engine.storage.schema import alerts, incident_alerts, incident_events, incidents
from engine.storage.upsert import insert_ignoring_conflicts, insert_or_update


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    status: str | None = None
    service: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    origin: str | None = None
    limit: int = 100
    cursor: int | None = None


async def list_incidents(conn: AsyncConnection, query: IncidentFilter) -> Page[IncidentRecord]:
    statement = select(incidents).order_by(incidents.c.id.desc()).limit(query.limit + 1)
    conditions = []
    if query.status:
        conditions.append(incidents.c.status == query.status)
    if query.service:
        conditions.append(incidents.c.service == query.service)
    if query.since:
        conditions.append(incidents.c.opened_at >= query.since)
    if query.until:
        conditions.append(incidents.c.opened_at < query.until)
    if query.origin:
        conditions.append(incidents.c.origin == query.origin)
    if query.cursor is not None:
        conditions.append(incidents.c.id < query.cursor)
    if conditions:
        statement = statement.where(and_(*conditions))
    rows = (await conn.execute(statement)).all()
    items = [incident_record(row) for row in rows[: query.limit]]
    return Page(items=items, next_cursor=items[-1].id if len(rows) > query.limit else None)


async def get_incident(
    conn: AsyncConnection, incident_id: int, *, alert_limit: int = 500, history: bool = True
) -> IncidentDetail | None:
    """The incident with its alerts; with `history`, also why each alert joined and its timeline
    (a card redrawn many times a minute needs neither)."""
    row = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).first()
    if row is None:
        return None
    explanation = incident_alerts.c.explanation if history else None
    members = (
        await conn.execute(
            select(alerts, incident_alerts.c.incident_id, *([explanation] if explanation is not None else []))
            .join(incident_alerts, incident_alerts.c.alert_id == alerts.c.id)
            .where(incident_alerts.c.incident_id == incident_id)
            .order_by(alerts.c.starts_at, alerts.c.id)
            .limit(alert_limit)
        )
    ).all()
    events = (
        (
            await conn.execute(
                select(incident_events)
                .where(incident_events.c.incident_id == incident_id)
                .order_by(incident_events.c.at, incident_events.c.id)
            )
        ).all()
        if history
        else []
    )
    return IncidentDetail(
        incident=incident_record(row),
        alerts=[stored_alert(member) for member in members],
        explanations={int(member.id): member.explanation for member in members} if history else {},
        timeline=[
            IncidentEvent(at=e.at, kind=e.kind, actor=e.actor, text=e.text, detail=e.detail) for e in events
        ],
    )


async def import_past_incidents(conn: AsyncConnection, history: Sequence[PastIncident], now: datetime) -> int:
    """Store imported history; an id already imported is skipped. Returns how many were new."""
    if not history:
        return 0
    rows = [_imported_row(past, now) for past in history]
    # count RETURNING rows: a driver's rowcount for a many-row upsert is not reliable (-1 on asyncpg)
    statement = insert_ignoring_conflicts(conn, incidents, ["external_id"]).returning(incidents.c.id)
    return len((await conn.execute(statement, rows)).all())


def incident_record(row: Row[Any]) -> IncidentRecord:
    m = row._mapping
    return IncidentRecord(
        id=int(m["id"]),
        title=m["title"],
        status=m["status"],
        origin=m["origin"],
        service=m["service"],
        services=list(m["services"]),
        priority=m["priority"],
        priority_source=m["priority_source"],
        score=m["score"],
        scorer=m["scorer"],
        reasons=list(m["reasons"]),
        enrichment=dict(m["enrichment"]),
        alert_count=int(m["alert_count"]),
        opened_at=m["opened_at"],
        acknowledged_at=m["acknowledged_at"],
        acknowledged_by=m["acknowledged_by"],
        resolved_at=m["resolved_at"],
        resolved_by=m["resolved_by"],
        auto_resolved=bool(m["auto_resolved"]),
        resolution=m["resolution"],
        playbook=m["playbook"],
        external_id=m["external_id"],
        updated_at=m["updated_at"],
        version=int(m["version"]),
    )


def _imported_row(past: PastIncident, now: datetime) -> dict[str, Any]:
    if past.resolved_at is not None:
        status = IncidentStatus.RESOLVED
    elif past.acknowledged_at is not None:
        status = IncidentStatus.ACKNOWLEDGED
    else:
        status = IncidentStatus.OPEN
    return {
        "title": past.title,
        "status": status.value,
        "origin": "imported",
        "external_id": past.id,
        "service": past.service,
        "services": [past.service] if past.service else [],
        "priority": int(past.priority) if past.priority is not None else None,
        "priority_source": "imported" if past.priority is not None else None,
        "score": None,
        "scorer": None,
        "reasons": [],
        "enrichment": {},
        "alert_count": 0,
        "opened_at": past.opened_at,
        "acknowledged_at": past.acknowledged_at,
        "acknowledged_by": None,
        "resolved_at": past.resolved_at,
        "resolved_by": None,
        "auto_resolved": False,
        "resolution": past.resolution,
        "playbook": past.playbook,
        "updated_at": now,
        "version": 1,
    }


# -- writes driven by clustering decisions (batched: one statement per kind of change per batch) ----


@dataclass(frozen=True, slots=True)
class NewIncident:
    id: int
    title: str
    service: str | None
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class Attachment:
    alert_id: int
    incident_id: int
    explanation: str
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventRow:
    incident_id: int
    kind: str
    text: str
    actor: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AssessmentRow:
    incident_id: int
    priority: int | None
    source: str | None
    score: float
    scorer: str
    reasons: list[str]


async def create_incidents(conn: AsyncConnection, new: Sequence[NewIncident], now: datetime) -> None:
    if not new:
        return
    await conn.execute(
        incidents.insert(),
        [
            {
                "id": incident.id,
                "title": incident.title[:500],
                "status": IncidentStatus.OPEN.value,
                "origin": "nocbot",
                "service": incident.service,
                "services": [incident.service] if incident.service else [],
                "reasons": [],
                "enrichment": {},
                "alert_count": 0,
                "opened_at": incident.opened_at,
                "auto_resolved": False,
                "updated_at": now,
                "version": 1,
            }
            for incident in new
        ],
    )


async def attach_alerts(
    conn: AsyncConnection, attachments: Sequence[Attachment], joined_at: datetime
) -> None:
    """Record which incident each alert belongs to, and why (moving it if it was elsewhere)."""
    if not attachments:
        return
    rows = [
        {
            "alert_id": a.alert_id,
            "incident_id": a.incident_id,
            "joined_at": joined_at,
            "explanation": a.explanation,
            "evidence": a.evidence,
        }
        for a in {a.alert_id: a for a in attachments}.values()
    ]
    statement = insert_or_update(
        conn, incident_alerts, ["alert_id"], ["incident_id", "explanation", "evidence"]
    )
    await conn.execute(statement, rows)


async def move_alerts(conn: AsyncConnection, from_incident: int, to_incident: int) -> None:
    await conn.execute(
        update(incident_alerts)
        .where(incident_alerts.c.incident_id == from_incident)
        .values(incident_id=to_incident)
    )


async def refresh_incidents(
    conn: AsyncConnection, services: dict[int, tuple[list[str], str | None]], now: datetime
) -> None:
    """Recount alerts and set services of incidents that changed; bumps the version cards show.

    An empty service list means "unknown" (node-level alerts with no catalog entry): the services
    recorded when the incident opened are kept rather than erased.
    """
    if not services:
        return
    count = (
        select(func.count())
        .where(incident_alerts.c.incident_id == bindparam("incident_id"))
        .scalar_subquery()
    )
    common = {"alert_count": count, "updated_at": now, "version": incidents.c.version + 1}
    known = [(i, names, main) for i, (names, main) in sorted(services.items()) if names]
    unknown = [i for i, (names, _main) in sorted(services.items()) if not names]
    if known:
        await conn.execute(
            update(incidents)
            .where(incidents.c.id == bindparam("incident_id"))
            .values(**common, services=bindparam("all_services"), service=bindparam("main_service")),
            [{"incident_id": i, "all_services": names, "main_service": main} for i, names, main in known],
        )
    if unknown:
        await conn.execute(
            update(incidents).where(incidents.c.id == bindparam("incident_id")).values(**common),
            [{"incident_id": i} for i in unknown],
        )


async def close_incident(
    conn: AsyncConnection, incident_id: int, *, at: datetime, reason: str, actor: str, now: datetime
) -> bool:
    """Resolve an incident unless it already is; returns whether anything changed."""
    result = await conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id, incidents.c.status != IncidentStatus.RESOLVED.value)
        .values(
            status=IncidentStatus.RESOLVED.value,
            resolved_at=at,
            resolved_by=actor,
            resolution=reason,
            updated_at=now,
            version=incidents.c.version + 1,
        )
    )
    return bool(result.rowcount)


async def add_events(conn: AsyncConnection, events: Sequence[EventRow], at: datetime) -> None:
    if not events:
        return
    await conn.execute(
        incident_events.insert(),
        [
            {
                "incident_id": e.incident_id,
                "at": at,
                "kind": e.kind,
                "actor": e.actor,
                "text": e.text,
                "detail": e.detail or {},
            }
            for e in events
        ],
    )


async def open_incidents_with_alerts(conn: AsyncConnection) -> list[tuple[int, list[Alert]]]:
    """Every unresolved incident nocbot manages, with its alerts as last stored (for restart)."""
    rows = (
        await conn.execute(
            select(alerts, incident_alerts.c.incident_id)
            .join(incident_alerts, incident_alerts.c.alert_id == alerts.c.id)
            .join(incidents, incidents.c.id == incident_alerts.c.incident_id)
            .where(incidents.c.status != IncidentStatus.RESOLVED.value, incidents.c.origin == "nocbot")
            .order_by(incident_alerts.c.incident_id, alerts.c.starts_at, alerts.c.id)
        )
    ).all()
    return list(_group_alerts(rows).items())


async def alerts_of_incidents(conn: AsyncConnection, incident_ids: Sequence[int]) -> dict[int, list[Alert]]:
    if not incident_ids:
        return {}
    rows = (
        await conn.execute(
            select(alerts, incident_alerts.c.incident_id)
            .join(incident_alerts, incident_alerts.c.alert_id == alerts.c.id)
            .where(incident_alerts.c.incident_id.in_(list(incident_ids)))
        )
    ).all()
    return _group_alerts(rows)


async def priorities_of(
    conn: AsyncConnection, incident_ids: Sequence[int]
) -> dict[int, tuple[int | None, str | None]]:
    if not incident_ids:
        return {}
    rows = await conn.execute(
        select(incidents.c.id, incidents.c.priority, incidents.c.priority_source).where(
            incidents.c.id.in_(list(incident_ids))
        )
    )
    return {int(row.id): (row.priority, row.priority_source) for row in rows}


async def set_assessments(conn: AsyncConnection, rows: Sequence[AssessmentRow], now: datetime) -> None:
    if not rows:
        return
    await conn.execute(
        update(incidents)
        .where(incidents.c.id == bindparam("incident_id"))
        .values(
            priority=bindparam("new_priority"),
            priority_source=bindparam("new_source"),
            score=bindparam("new_score"),
            scorer=bindparam("new_scorer"),
            reasons=bindparam("new_reasons"),
            updated_at=now,
            version=incidents.c.version + 1,
        ),
        [
            {
                "incident_id": r.incident_id,
                "new_priority": r.priority,
                "new_source": r.source,
                "new_score": r.score,
                "new_scorer": r.scorer,
                "new_reasons": r.reasons,
            }
            for r in rows
        ],
    )


def _group_alerts(rows: Sequence[Row[Any]]) -> dict[int, list[Alert]]:
    grouped: dict[int, list[Alert]] = {}
    for row in rows:
        grouped.setdefault(int(row.incident_id), []).append(stored_alert(row).alert)
    return grouped


async def acknowledge_incident(conn: AsyncConnection, incident_id: int, *, actor: str, now: datetime) -> bool:
    """Acknowledge an open incident; False when it is not open (someone was first, or it resolved)."""
    result = await conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id, incidents.c.status == IncidentStatus.OPEN.value)
        .values(
            status=IncidentStatus.ACKNOWLEDGED.value,
            acknowledged_at=now,
            acknowledged_by=actor,
            updated_at=now,
            version=incidents.c.version + 1,
        )
    )
    return bool(result.rowcount)


async def set_priority(
    conn: AsyncConnection, incident_id: int, *, priority: int, source: str, now: datetime
) -> bool:
    result = await conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(priority=priority, priority_source=source, updated_at=now, version=incidents.c.version + 1)
    )
    return bool(result.rowcount)


async def alert_ids_by_key(conn: AsyncConnection, incident_id: int) -> dict[tuple[str, datetime], int]:
    rows = await conn.execute(
        select(alerts.c.id, alerts.c.fingerprint, alerts.c.starts_at)
        .join(incident_alerts, incident_alerts.c.alert_id == alerts.c.id)
        .where(incident_alerts.c.incident_id == incident_id)
    )
    return {(row.fingerprint, row.starts_at): int(row.id) for row in rows}


async def status_of(conn: AsyncConnection, incident_id: int) -> tuple[str, int] | None:
    """(status, version) of one incident: what a click is checked against."""
    row = (
        await conn.execute(
            select(incidents.c.status, incidents.c.version).where(incidents.c.id == incident_id)
        )
    ).first()
    return (row.status, row.version) if row is not None else None
