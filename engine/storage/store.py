"""The store: one object the service and the CLI use to persist and read engine models.

Each public method is one transaction, so a batch lands whole or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.models import Alert, ChangeEvent, PastIncident, PointBatch
from engine.storage import alert_rows, change_rows, incident_rows, metric_rows
from engine.storage.alert_rows import AlertFilter
from engine.storage.incident_rows import IncidentFilter
from engine.storage.records import (
    AlertIngestResult,
    IncidentDetail,
    IncidentRecord,
    Page,
    PointIngestResult,
    StoredAlert,
)


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.series = metric_rows.SeriesIds()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A transaction for several steps (the CLI importers); rolled back whole on any error."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except BaseException:
            self.series.forget()
            raise

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()

    async def ingest_alerts(self, batch: Sequence[Alert], now: datetime) -> AlertIngestResult:
        async with self.transaction() as conn:
            return await alert_rows.upsert_alerts(conn, batch, now)

    async def ingest_points(self, batch: PointBatch, now: datetime) -> PointIngestResult:
        async with self.transaction() as conn:
            return await self.add_points(conn, batch, now)

    async def add_points(self, conn: AsyncConnection, batch: PointBatch, now: datetime) -> PointIngestResult:
        series_ids = await self.series.resolve(conn, batch.series, now)
        stored = await metric_rows.insert_points(conn, series_ids, batch)
        return PointIngestResult(stored=stored, duplicates=len(batch) - stored, series_ids=series_ids)

    async def ingest_changes(self, batch: Sequence[ChangeEvent], now: datetime) -> int:
        async with self.transaction() as conn:
            return await change_rows.insert_changes(conn, batch, now)

    async def import_history(
        self, conn: AsyncConnection, batch: Sequence[PastIncident], now: datetime
    ) -> int:
        return await incident_rows.import_past_incidents(conn, batch, now)

    async def list_alerts(self, query: AlertFilter) -> Page[StoredAlert]:
        async with self.engine.connect() as conn:
            return await alert_rows.list_alerts(conn, query)

    async def list_incidents(self, query: IncidentFilter) -> Page[IncidentRecord]:
        async with self.engine.connect() as conn:
            return await incident_rows.list_incidents(conn, query)

    async def get_incident(self, incident_id: int, *, history: bool = True) -> IncidentDetail | None:
        async with self.engine.connect() as conn:
            return await incident_rows.get_incident(conn, incident_id, history=history)
