"""Enriches incidents in the background after a batch commits, so ingestion never waits on it.

Incident ids are coalesced: an alert storm that grows one incident a hundred times queues it once,
and `should_refresh` skips a refresh that would show nothing new yet.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine.catalog import Catalog
from engine.clock import Clock
from engine.enrichment import should_refresh
from engine.ingest import IncidentChanges
from engine.storage.enrichment_rows import enrich, load_enrichment, save_enrichment
from engine.storage.schema import incidents
from engine.storage.store import Store
from engine.timeline import Timeline

log = logging.getLogger("nocbot.enrichment")

MIN_REFRESH_INTERVAL = timedelta(seconds=30)
REMEMBERED_INCIDENTS = 10_000  # past this, enrichments older than the interval are forgotten


class EnrichmentWorker:
    def __init__(
        self, store: Store, catalog: Catalog, clock: Clock, timeline: Timeline | None = None
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock
        self.timeline = timeline or Timeline()
        self._pending: dict[int, None] = {}  # insertion-ordered set: oldest request first
        self._wake = asyncio.Event()
        # incident → when this process last enriched it, at how many alerts: while that is recent,
        # a grown incident is skipped without decoding its stored enrichment (5 % of the service's
        # CPU at 5,000 alerts/s went to decoding documents only to find them fresh)
        self._enriched: dict[int, tuple[datetime, int]] = {}

    def incidents_changed(self, changes: IncidentChanges) -> None:
        """Listener for IngestService: queue what a committed batch opened or grew."""
        for incident_id in sorted(changes.opened | changes.grown):
            self._pending[incident_id] = None
        if self._pending:
            self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                incident_id = next(iter(self._pending))
                del self._pending[incident_id]
                try:
                    await self.refresh(incident_id)
                except Exception:
                    log.exception("enrichment failed", extra={"incident": incident_id})

    async def refresh(self, incident_id: int) -> bool:
        """Recompute and store one incident's enrichment if it is due; True when it changed."""
        now = self.clock.now()
        async with self.store.engine.connect() as conn:
            count = (
                await conn.execute(select(incidents.c.alert_count).where(incidents.c.id == incident_id))
            ).scalar()
            if count is None:
                return False
            if self._recently_enriched(incident_id, int(count), now):
                return False
            previous = await load_enrichment(conn, incident_id)
            if previous is not None:
                self._remember(incident_id, previous.computed_at, previous.alert_count)
            if not should_refresh(
                previous, alert_count=int(count), now=now, min_interval=MIN_REFRESH_INTERVAL
            ):
                return False
            enrichment = await enrich(conn, incident_id, self.catalog, now)
        if enrichment is None:
            return False
        async with self.store.transaction() as conn:
            changed = await save_enrichment(conn, incident_id, enrichment)
            if changed:
                # the card shows the enrichment: a new version makes surfaces redraw it
                await conn.execute(
                    update(incidents)
                    .where(incidents.c.id == incident_id)
                    .values(version=incidents.c.version + 1)
                )
                await self.timeline.redraw(conn, [incident_id], now)
        # stored (even when unchanged for the card, with its new time): what the next check knows
        self._remember(incident_id, enrichment.computed_at, enrichment.alert_count)
        return changed

    def _recently_enriched(self, incident_id: int, alert_count: int, now: datetime) -> bool:
        """What `should_refresh` would answer from the stored enrichment, known without reading it:
        enriched here less than the minimum interval ago, and not doubled since (the stored one is
        at least as recent, so it would say the same)."""
        enriched = self._enriched.get(incident_id)
        if enriched is None:
            return False
        at, count = enriched
        return now - at < MIN_REFRESH_INTERVAL and alert_count < 2 * max(count, 1)

    def _remember(self, incident_id: int, at: datetime, alert_count: int) -> None:
        if len(self._enriched) >= REMEMBERED_INCIDENTS:
            self._enriched = {
                key: value for key, value in self._enriched.items() if at - value[0] < MIN_REFRESH_INTERVAL
            }
        self._enriched[incident_id] = (at, alert_count)
