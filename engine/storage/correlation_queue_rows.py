"""Alerts waiting for the deciding replica: written in the same transaction as the alerts they
name, taken (and deleted) in the same transaction as the decisions about them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.storage.alert_rows import stored_alert
from engine.storage.records import AlertIngestResult
from engine.storage.schema import alerts, correlation_queue


async def enqueue(conn: AsyncConnection, result: AlertIngestResult, now: datetime) -> None:
    if not result.ids:
        return
    await conn.execute(
        correlation_queue.insert(),
        [
            {"alert_id": alert_id, "outcome": outcome, "queued_at": now}
            for alert_id, outcome in zip(result.ids, result.outcomes, strict=True)
        ],
    )


async def waiting(conn: AsyncConnection) -> bool:
    return bool(await conn.scalar(select(exists().where(correlation_queue.c.id.is_not(None)))))


async def take(conn: AsyncConnection, limit: int) -> AlertIngestResult:
    """The oldest queued deliveries, each with its alert as stored now (a later delivery may have
    changed it since: deciding on the latest state is what the decider would have done)."""
    rows = (
        await conn.execute(
            select(correlation_queue.c.id.label("queue_id"), correlation_queue.c.outcome, alerts)
            .join(alerts, alerts.c.id == correlation_queue.c.alert_id)
            .order_by(correlation_queue.c.id)
            .limit(limit)
        )
    ).all()
    if not rows:
        return AlertIngestResult(ids=[], outcomes=[], alerts=[])
    await conn.execute(
        delete(correlation_queue).where(correlation_queue.c.id.in_([r.queue_id for r in rows]))
    )
    stored = [stored_alert(row) for row in rows]
    return AlertIngestResult(
        ids=[s.id for s in stored],
        outcomes=[str(row.outcome) for row in rows],
        alerts=[s.alert for s in stored],
    )


async def size(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(correlation_queue)) or 0)
