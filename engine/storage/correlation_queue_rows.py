"""Alerts waiting for the deciding replica: written in the same transaction as the alerts they
name, taken (and deleted) in the same transaction as the decisions about them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.models import Alert, AlertStatus
from engine.storage.alert_rows import stored_alert
from engine.storage.records import AlertIngestResult
from engine.storage.schema import alerts, correlation_queue


async def enqueue(conn: AsyncConnection, result: AlertIngestResult, now: datetime) -> None:
    if not result.ids:
        return
    await conn.execute(
        correlation_queue.insert(),
        [
            {"alert_id": alert_id, "outcome": outcome, "queued_at": now, "status": alert.status.value}
            for alert_id, outcome, alert in zip(result.ids, result.outcomes, result.alerts, strict=True)
        ],
    )


async def waiting(conn: AsyncConnection) -> bool:
    return bool(await conn.scalar(select(exists().where(correlation_queue.c.id.is_not(None)))))


async def take(conn: AsyncConnection, limit: int) -> AlertIngestResult:
    """The oldest queued deliveries, each with its alert as stored now (a later delivery may have
    changed its annotations since: deciding on the latest content is what the decider would have
    done) but with the status it was delivered with. A firing delivery whose resolution was stored
    before the decider took it is still decided as firing, at its start: decided as resolved, it
    would move the correlator's clock to the resolution, past the deliveries queued after it (a
    replay runs many minutes of alerts a second), and they would find the incidents they belong
    to already out of their time window. The resolution is queued after it and decided in turn."""
    rows = (
        await conn.execute(
            select(
                correlation_queue.c.id.label("queue_id"),
                correlation_queue.c.outcome,
                correlation_queue.c.status.label("delivered_status"),
                alerts,
            )
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
        alerts=[_as_delivered(s.alert, row.delivered_status) for s, row in zip(stored, rows, strict=True)],
    )


def _as_delivered(alert: Alert, status: str | None) -> Alert:
    if status == AlertStatus.FIRING.value and alert.status is AlertStatus.RESOLVED:
        return replace(alert, status=AlertStatus.FIRING, ends_at=None)
    return alert


async def size(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(correlation_queue)) or 0)
