"""Change events (deploys, config changes): stored once per external id, read by time and service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.models import ChangeEvent
from engine.storage.records import StoredChange
from engine.storage.schema import change_events
from engine.storage.upsert import insert_ignoring_conflicts


async def insert_changes(conn: AsyncConnection, changes: Sequence[ChangeEvent], now: datetime) -> int:
    """Insert change events, skipping an `external_id` already stored; returns how many were new."""
    if not changes:
        return 0
    rows = [_row(change, now) for change in changes]
    with_id = [row for row in rows if row["external_id"] is not None]
    without_id = [row for row in rows if row["external_id"] is None]
    stored = 0
    if with_id:
        # count RETURNING rows: a driver's rowcount for a many-row upsert is not reliable (-1 on asyncpg)
        statement = insert_ignoring_conflicts(conn, change_events, ["external_id"]).returning(
            change_events.c.id
        )
        stored += len((await conn.execute(statement, with_id)).all())
    if without_id:
        await conn.execute(change_events.insert(), without_id)
        stored += len(without_id)
    return stored


async def changes_between(
    conn: AsyncConnection, since: datetime, until: datetime, services: Sequence[str] | None = None
) -> list[StoredChange]:
    statement = (
        select(change_events)
        .where(change_events.c.at >= since, change_events.c.at < until)
        .order_by(change_events.c.at.desc())
    )
    if services is not None:
        statement = statement.where(change_events.c.service.in_(list(services)))
    rows = await conn.execute(statement)
    return [_stored(row) for row in rows]


def _row(change: ChangeEvent, now: datetime) -> dict[str, Any]:
    return {
        "external_id": change.external_id,
        "service": change.service,
        "kind": change.kind,
        "who": change.who,
        "what": change.what,
        "at": change.at,
        "labels": dict(change.labels),
        "received_at": now,
    }


async def changes_received_since(
    conn: AsyncConnection, received: datetime, *, happened_since: datetime | None = None
) -> list[StoredChange]:
    """Changes stored since `received` (by any replica), optionally only those that happened
    since `happened_since`, in the order they were stored."""
    statement = select(change_events).where(change_events.c.received_at >= received)
    if happened_since is not None:
        statement = statement.where(change_events.c.at >= happened_since)
    rows = await conn.execute(statement.order_by(change_events.c.id))
    return [_stored(row) for row in rows]


def _stored(row: Any) -> StoredChange:
    return StoredChange(
        id=int(row.id),
        change=ChangeEvent(
            service=row.service,
            kind=row.kind,
            who=row.who,
            what=row.what,
            at=row.at,
            labels=row.labels,
            external_id=row.external_id,
        ),
        received_at=row.received_at,
    )
