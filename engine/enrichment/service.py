"""Enriching one incident: read what the five sections need through a small query port, build each
section, and let each one fail on its own.

The port (`EnrichmentSource`) is what the database adapter implements
(`engine.storage.enrichment_rows.SqlEnrichmentSource`); unit tests use an in-memory fake. A section
that cannot be built (its query failed, its data is odd) becomes `Absent` with a note and a logged
error: enrichment is a courtesy to responders and must never fail the incident.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from engine.catalog import Catalog
from engine.enrichment.changes import change_scope, recent_changes
from engine.enrichment.config import EnrichmentConfig
from engine.enrichment.enrichment import Enrichment
from engine.enrichment.metric_context import metric_context
from engine.enrichment.profile import IncidentProfile, profile_of
from engine.enrichment.related_alerts import summarize_alerts
from engine.enrichment.sections import (
    Absent,
    AffectedServices,
    MetricContext,
    RecentChanges,
    RelatedAlerts,
    SeriesWindow,
    SimilarIncidents,
)
from engine.enrichment.series import SeriesCandidate
from engine.enrichment.services import NO_CATALOG, affected_services, neighbours
from engine.enrichment.similar import similar_incidents
from engine.enrichment.similarity import HistoryEntry
from engine.models import Alert, AlertSource, ChangeEvent, SeriesRef

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class IncidentSubject:
    """The incident being enriched, as read from the store."""

    id: int
    title: str
    services: tuple[str, ...]  # the chief service first
    opened_at: datetime
    alerts: tuple[Alert, ...]  # at most the `max_alerts` asked for
    alert_total: int


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    """Which past incidents to rank: resolved ones opened before `before`, other than `exclude_id`;
    the newest `per_service` of each affected service, `per_related` of each related one, and the
    newest `recent` of any service (a similar problem may have been filed under another name)."""

    services: tuple[str, ...]
    related: tuple[str, ...]
    before: datetime
    exclude_id: int
    per_service: int
    per_related: int
    recent: int


class EnrichmentSource(Protocol):
    async def subject(self, incident_id: int, max_alerts: int) -> IncidentSubject | None: ...

    async def changes(
        self, services: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> Sequence[ChangeEvent]:
        """Changes on `services` with since <= at <= until, newest first, at most `limit`."""
        ...

    async def history(self, request: HistoryRequest) -> Sequence[HistoryEntry]: ...

    async def firing_alerts(self, services: Sequence[str]) -> Mapping[str, int]:
        """Firing alert count per service (services without firing alerts may be left out)."""
        ...

    async def series(
        self, services: Sequence[str], metrics: Sequence[str], limit: int
    ) -> Sequence[tuple[int, SeriesRef]]:
        """Series labelled with one of `services` (service or job label), and series of `metrics`."""
        ...

    async def points(
        self, series_ids: Sequence[int], since: datetime, until: datetime
    ) -> Mapping[int, SeriesWindow]:
        """Finite points with since <= ts <= until, per series, in time order."""
        ...


async def build_enrichment(
    source: EnrichmentSource,
    incident_id: int,
    *,
    catalog: Catalog,
    now: datetime,
    config: EnrichmentConfig | None = None,
) -> Enrichment | None:
    """The incident's enrichment as of `now`; None when there is no such incident."""
    config = config or EnrichmentConfig()
    subject = await source.subject(incident_id, config.max_alerts)
    if subject is None:
        return None
    profile = profile_of(subject.title, subject.services, subject.alerts)
    return Enrichment(
        computed_at=now,
        alert_count=subject.alert_total,
        profile=profile,
        related_alerts=await _section("related alerts", lambda: _related_alerts(subject, config)),
        recent_changes=await _section(
            "recent changes", lambda: _recent_changes(source, subject, catalog, now, config)
        ),
        similar_incidents=await _section(
            "similar past incidents", lambda: _similar(source, subject, profile, catalog, config)
        ),
        affected_services=await _section("affected services", lambda: _affected(source, subject, catalog)),
        metric_context=await _section("metric context", lambda: _metrics(source, subject, now, config)),
    )


def should_refresh(
    previous: Enrichment | None, *, alert_count: int, now: datetime, min_interval: timedelta
) -> bool:
    """Whether an incident's enrichment is due: never computed, or the incident grew and the last
    refresh is `min_interval` old (an alert storm must not re-enrich on every batch) — or it at least
    doubled since, which changes the picture enough to refresh at once."""
    if previous is None:
        return True
    if alert_count == previous.alert_count:
        return False
    if alert_count >= 2 * max(previous.alert_count, 1):
        return True
    return now - previous.computed_at >= min_interval


async def _section(name: str, build: Callable[[], Awaitable[T]]) -> T | Absent:
    try:
        return await build()
    except Exception as exc:  # one broken section must not cost the others, nor the incident
        log.exception("enrichment: the %s section failed", name)
        return Absent(f"{name} could not be looked up ({type(exc).__name__})")


async def _related_alerts(subject: IncidentSubject, config: EnrichmentConfig) -> RelatedAlerts | Absent:
    return summarize_alerts(
        subject.alerts,
        total=subject.alert_total,
        top_counts=config.top_counts,
        max_firing_listed=config.max_firing_listed,
    )


async def _recent_changes(
    source: EnrichmentSource,
    subject: IncidentSubject,
    catalog: Catalog,
    now: datetime,
    config: EnrichmentConfig,
) -> RecentChanges | Absent:
    scope = change_scope(subject.services, catalog)
    start = subject.opened_at
    since = start - config.change_lookback
    until = max(now, start)
    before: list[ChangeEvent] = []
    after: list[ChangeEvent] = []
    if scope:
        services = list(scope)
        before = list(await source.changes(services, since, start, config.max_changes + 1))
        if until > start:
            after = [
                c
                for c in await source.changes(services, start, until, config.max_changes_after_start + 1)
                if c.at > start  # one at the very start is already among `before`
            ]
    return recent_changes(
        after[: config.max_changes_after_start] + before[: config.max_changes],
        scope=scope,
        since=since,
        until=until,
        incident_start=start,
        more=len(before) > config.max_changes or len(after) > config.max_changes_after_start,
        catalog_configured=bool(len(catalog)),
    )


async def _similar(
    source: EnrichmentSource,
    subject: IncidentSubject,
    profile: IncidentProfile,
    catalog: Catalog,
    config: EnrichmentConfig,
) -> SimilarIncidents | Absent:
    request = HistoryRequest(
        services=subject.services,
        related=tuple(neighbours(subject.services, catalog)[: config.history_related_services]),
        before=subject.opened_at,
        exclude_id=subject.id,
        per_service=config.history_per_service,
        per_related=config.history_per_related_service,
        recent=config.history_recent,
    )
    history = await source.history(request)
    return similar_incidents(profile, history, catalog=catalog, config=config)


async def _affected(
    source: EnrichmentSource, subject: IncidentSubject, catalog: Catalog
) -> AffectedServices | Absent:
    if not len(catalog):
        return Absent(NO_CATALOG)
    around = [*subject.services, *neighbours(subject.services, catalog)]
    firing = await source.firing_alerts(around) if around else {}
    return affected_services(subject.services, catalog, firing)


async def _metrics(
    source: EnrichmentSource, subject: IncidentSubject, now: datetime, config: EnrichmentConfig
) -> MetricContext | Absent:
    naming = {metric: alert for alert in subject.alerts if (metric := named_metric(alert))}
    if not subject.services and not naming:
        return Absent("the incident names no service or metric series")
    refs = await source.series(subject.services, sorted(naming), config.max_series_candidates * 4)
    candidates = _rank_candidates(refs, naming)[: config.max_series_candidates]
    start = subject.opened_at
    until = max(start, min(now, start + config.chart_after))
    windows = await source.points([c.series_id for c in candidates], start - config.chart_before, until)
    empty = SeriesWindow((), ())
    loaded = [
        SeriesCandidate(c.series_id, c.ref, windows.get(c.series_id, empty), c.named_by) for c in candidates
    ]
    return metric_context(
        loaded,
        incident_start=start,
        searched=", ".join(subject.services) or "the series named by the alerts",
        max_points=config.chart_points,
        sparkline_width=config.sparkline_width,
    )


def named_metric(alert: Alert) -> str | None:
    """The metric an alert is about, when it says: Prometheus' `__name__` label, or the `metric` label
    of nocbot's own anomaly alerts."""
    labels = alert.labels
    if labels.get("__name__"):
        return labels["__name__"]
    if alert.source is AlertSource.ANOMALY and labels.get("metric"):
        return labels["metric"]
    return None


def _rank_candidates(
    refs: Sequence[tuple[int, SeriesRef]], naming: Mapping[str, Alert]
) -> list[SeriesCandidate]:
    """Series an alert names (same metric, labels all carried by the alert) first, then the rest."""
    empty = SeriesWindow((), ())
    named: list[SeriesCandidate] = []
    others: list[SeriesCandidate] = []
    for series_id, ref in refs:
        alert = naming.get(ref.metric)
        if alert is not None and all(alert.labels.get(k) == v for k, v in ref.labels.items()):
            named.append(SeriesCandidate(series_id, ref, empty, named_by=alert.name))
        else:
            others.append(SeriesCandidate(series_id, ref, empty))
    return named + others
