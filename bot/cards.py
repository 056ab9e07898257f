"""The current view of an incident's card, for whichever surface is about to draw it.

Deliverers (Slack, Teams) and the console ask a `CardViews` for the `IncidentView` of an incident as
stored now, so that a card drawn late still shows the latest state, not the state when it was queued.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, tzinfo
from typing import Protocol

from bot.http.links import LinkSigner
from engine.card_sections import enrichment_sections, sparkline_values
from engine.clock import Clock
from engine.enrichment.enrichment import Enrichment
from engine.storage.records import IncidentDetail
from engine.storage.store import Store
from engine.view import Chart, IncidentView, ViewSection, build_incident_view


class CardViews(Protocol):
    async def view(self, incident_id: int) -> IncidentView | None:
        """None when there is no such incident (deleted, or merged away and gone)."""
        ...


class StoredCardViews:
    """Cards drawn from what is stored: the incident, its enrichment, the playbooks that match it."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        links: LinkSigner,
        base_url: str,
        tz: tzinfo = UTC,
        playbooks: Callable[[IncidentDetail], Sequence[str]] = lambda _detail: (),
        can_escalate: bool = False,
    ) -> None:
        self.store = store
        self.clock = clock
        self.links = links
        self.base_url = base_url.rstrip("/")
        self.tz = tz
        self.playbooks = playbooks
        self.can_escalate = can_escalate

    async def view(self, incident_id: int) -> IncidentView | None:
        detail = await self.store.get_incident(incident_id, history=False)
        if detail is None:
            return None
        now = self.clock.now()
        incident = detail.incident
        sections: tuple[ViewSection, ...] = ()
        series: Sequence[float] = ()
        chart: Chart | None = None
        try:
            enrichment = Enrichment.from_json(incident.enrichment) if incident.enrichment else None
        except ValueError:
            enrichment = None  # damaged or of another format: the card goes without it
        if enrichment is not None:
            sections = enrichment_sections(enrichment, now=now, tz=self.tz)
            series = sparkline_values(enrichment)
            if series:
                chart = Chart(
                    self.base_url + self.links.chart_path(incident.id),
                    f"the metric that moved most during incident #{incident.id}",
                )
        return build_incident_view(
            incident,
            now=now,
            sections=sections,
            playbooks=self.playbooks(detail) if incident.status != "resolved" else (),
            chart=chart,
            series=series,
            can_escalate=self.can_escalate,
            tz=self.tz,
            console_url=f"{self.base_url}/console#incident-{incident.id}",
        )
