"""Ingestion's incident changes, told as feed events: opened, grew, prioritized, acknowledged, resolved.

`IngestService` tells its listeners which incidents a committed batch touched, not what happened to
them (an acknowledgement arrives as "grown"). So this reads each touched incident as stored and
compares it with what it last saw: the events follow from the difference. It runs as its own task,
so a listener call only records the ids and ingestion never waits for the feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.feed import (
    ALERTS_RECEIVED,
    FEED,
    INCIDENT_ACKNOWLEDGED,
    INCIDENT_GREW,
    INCIDENT_OPENED,
    INCIDENT_PRIORITIZED,
    INCIDENT_RESOLVED,
    INCIDENT_UPDATED,
    EventFeed,
)
from bot.keys import INGEST, STORE
from engine.ingest import IncidentChanges
from engine.models import IncidentStatus, Severity
from engine.storage.schema import alerts, incident_alerts, incidents
from engine.storage.store import Store

log = logging.getLogger("nocbot.feed")

ALERT_SAMPLES = 20  # alerts named in one alerts.received event; the count covers the rest
REMEMBERED = 20_000  # incidents whose last seen state is kept (more than are ever open at once)


@dataclass(frozen=True, slots=True)
class Seen:
    status: str
    priority: int | None
    alert_count: int


class IncidentEvents:
    def __init__(self, store: Store, feed: EventFeed) -> None:
        self.store = store
        self.feed = feed
        self._pending = IncidentChanges()
        self._wake = asyncio.Event()
        self._seen: OrderedDict[int, Seen] = OrderedDict()
        self._alert_cursor = 0

    def changed(self, changes: IncidentChanges) -> None:
        """The `IngestService` listener: note the ids; the task publishes."""
        self._pending.opened |= changes.opened
        self._pending.grown |= changes.grown
        self._pending.closed |= changes.closed
        self._pending.reprioritized |= changes.reprioritized
        self._wake.set()

    async def start(self) -> None:
        """Remember the open incidents as they are now, and where the alerts end."""
        async with self.store.engine.connect() as conn:
            self._alert_cursor = int((await conn.execute(select(func.max(alerts.c.id)))).scalar() or 0)
            rows = await conn.execute(
                select(incidents.c.id, incidents.c.status, incidents.c.priority, incidents.c.alert_count)
                .where(incidents.c.status != IncidentStatus.RESOLVED.value)
                .order_by(incidents.c.id.desc())
                .limit(REMEMBERED)
            )
            for row in rows:
                self._remember(row.id, Seen(row.status, row.priority, row.alert_count))

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            changes, self._pending = self._pending, IncidentChanges()
            try:
                await self.publish(changes)
            except Exception:
                log.exception("publishing incident events failed")

    async def publish(self, changes: IncidentChanges) -> None:
        async with self.store.engine.connect() as conn:
            received = await self._new_alerts(conn)
            touched = await _incidents(conn, changes.touched())
        if received is not None:
            self.feed.publish(ALERTS_RECEIVED, received)
        for incident_id in sorted(touched):
            for type_, data in self._events(changes, touched[incident_id]):
                self.feed.publish(type_, data)

    def _events(self, changes: IncidentChanges, row: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        incident_id: int = row["id"]
        before = self._seen.get(incident_id)
        now = Seen(row["status"], row["priority"], row["alert_count"])
        summary = {"incident_id": incident_id, "incident": _summary(row)}
        events: list[tuple[str, dict[str, Any]]] = []
        if incident_id in changes.opened and before is None:
            events.append((INCIDENT_OPENED, summary))
        elif before is not None:
            if now.alert_count > before.alert_count:
                events.append(
                    (INCIDENT_GREW, {**summary, "new_alerts": now.alert_count - before.alert_count})
                )
            if now.priority != before.priority:
                change = {"from": _priority(before.priority), "to": _priority(now.priority)}
                events.append((INCIDENT_PRIORITIZED, {**summary, **change}))
        was = before.status if before is not None else None
        if now.status == IncidentStatus.ACKNOWLEDGED.value and was in (None, IncidentStatus.OPEN.value):
            events.append((INCIDENT_ACKNOWLEDGED, {**summary, "by": row["acknowledged_by"]}))
        if now.status == IncidentStatus.RESOLVED.value and was != IncidentStatus.RESOLVED.value:
            by = {"by": row["resolved_by"], "automatically": bool(row["auto_resolved"])}
            events.append((INCIDENT_RESOLVED, {**summary, **by}))
        if not events:
            # enrichment, a merge, a rescore to the same priority: the card changed all the same
            events.append((INCIDENT_UPDATED, summary))
        if now.status == IncidentStatus.RESOLVED.value:
            self._seen.pop(incident_id, None)
        else:
            self._remember(incident_id, now)
        return events

    async def _new_alerts(self, conn: AsyncConnection) -> dict[str, Any] | None:
        newer = alerts.c.id > self._alert_cursor
        count, last = (await conn.execute(select(func.count(), func.max(alerts.c.id)).where(newer))).one()
        if not count:
            return None
        rows = await conn.execute(
            select(
                alerts.c.id,
                alerts.c.name,
                alerts.c.severity,
                alerts.c.status,
                alerts.c.service,
                incident_alerts.c.incident_id,
            )
            .outerjoin(incident_alerts, incident_alerts.c.alert_id == alerts.c.id)
            .where(newer)
            .order_by(alerts.c.id)
            .limit(ALERT_SAMPLES)
        )
        samples = [
            {
                "id": row.id,
                "name": row.name,
                "severity": _severity(row.severity),
                "status": row.status,
                "service": row.service,
                "incident_id": row.incident_id,
            }
            for row in rows
        ]
        self._alert_cursor = int(last)
        return {"count": int(count), "alerts": samples}

    def _remember(self, incident_id: int, seen: Seen) -> None:
        self._seen[incident_id] = seen
        self._seen.move_to_end(incident_id)
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)


async def _incidents(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    columns = (
        incidents.c.id,
        incidents.c.title,
        incidents.c.status,
        incidents.c.priority,
        incidents.c.score,
        incidents.c.service,
        incidents.c.services,
        incidents.c.alert_count,
        incidents.c.version,
        incidents.c.acknowledged_by,
        incidents.c.resolved_by,
        incidents.c.auto_resolved,
    )
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):
        rows = await conn.execute(select(*columns).where(incidents.c.id.in_(wanted[start : start + 500])))
        found.update({row.id: dict(row._mapping) for row in rows})
    return found


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "status": row["status"],
        "priority": _priority(row["priority"]),
        "score": row["score"] if row["score"] is not None and math.isfinite(row["score"]) else None,
        "service": row["service"],
        "services": list(row["services"] or []),
        "alert_count": row["alert_count"],
        "version": row["version"],
    }


def _priority(value: int | None) -> str | None:
    return f"P{value}" if value is not None else None


def _severity(value: int) -> str:
    try:
        return Severity(value).name.lower()
    except ValueError:
        return str(value)


async def incident_events(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: subscribe the feed to ingestion for the life of the app."""
    source = IncidentEvents(app[STORE], app[FEED])
    await source.start()
    app[INGEST].subscribe(source.changed)
    task = asyncio.create_task(source.run(), name="event-feed")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
