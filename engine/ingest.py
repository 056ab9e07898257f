"""Ingestion use cases: what happens to a batch of alerts, points or changes once it is parsed.

The HTTP routes, the CLI importers and replays all come through here, so they behave the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.clock import Clock
from engine.models import Alert, ChangeEvent, PointBatch
from engine.storage.records import AlertIngestResult, PointIngestResult
from engine.storage.store import Store


class IngestService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def alerts(self, batch: Sequence[Alert]) -> AlertIngestResult:
        return await self.store.ingest_alerts(batch, self.clock.now())

    async def points(self, batch: PointBatch) -> PointIngestResult:
        return await self.store.ingest_points(batch, self.clock.now())

    async def changes(self, batch: Sequence[ChangeEvent]) -> int:
        return await self.store.ingest_changes(batch, self.clock.now())
