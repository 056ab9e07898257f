"""Incident enrichment against the database: the queries behind `engine.enrichment`'s port, and
storing the result in `incidents.enrichment`.

Every query is bounded and index-backed so one enrichment stays fast with a large history:
changes by (service, at), past incidents by (service, opened_at) and (status, opened_at) with a
LIMIT per service, firing alerts by (status, service), points by the (series_id, ts) key.

Read-only: run `enrich` on its own connection (a failed statement on PostgreSQL aborts the
transaction it runs in), then `save_enrichment` in the transaction that writes the incident.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog
from engine.enrichment.codec import EncodingError, decode
from engine.enrichment.config import EnrichmentConfig
from engine.enrichment.enrichment import Enrichment, stored_enrichment
from engine.enrichment.profile import IncidentProfile, title_profile
from engine.enrichment.sections import SeriesWindow
from engine.enrichment.service import HistoryRequest, IncidentSubject, build_enrichment
from engine.enrichment.similarity import HistoryEntry
from engine.models import Alert, AlertStatus, ChangeEvent, IncidentStatus, SeriesRef
from engine.storage.alert_rows import stored_alert
from engine.storage.schema import (
    alerts,
    change_events,
    incident_alerts,
    incidents,
    metric_points,
    metric_series,
)

# Labels that tie a metric series to a service (Prometheus' scrape job is often named after it).
SERVICE_LABELS = ("service", "job")


async def enrich(
    conn: AsyncConnection,
    incident_id: int,
    catalog: Catalog,
    now: datetime,
    config: EnrichmentConfig | None = None,
) -> Enrichment | None:
    """The incident's enrichment as of `now`; None when there is no such incident."""
    return await build_enrichment(
        SqlEnrichmentSource(conn), incident_id, catalog=catalog, now=now, config=config
    )


async def save_enrichment(conn: AsyncConnection, incident_id: int, enrichment: Enrichment) -> bool:
    """Store the enrichment; returns whether it differs from the stored one other than in when it was
    computed (the caller bumps the incident's version, so cards are updated, only then)."""
    stored = await load_enrichment(conn, incident_id)
    await conn.execute(
        update(incidents).where(incidents.c.id == incident_id).values(enrichment=enrichment.to_json())
    )
    return stored is None or not stored.same_content(enrichment)


async def load_enrichment(conn: AsyncConnection, incident_id: int) -> Enrichment | None:
    document = (
        await conn.execute(select(incidents.c.enrichment).where(incidents.c.id == incident_id))
    ).scalar_one_or_none()
    return stored_enrichment(document) if document else None


class SqlEnrichmentSource:
    """`engine.enrichment.service.EnrichmentSource` over one connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def subject(self, incident_id: int, max_alerts: int) -> IncidentSubject | None:
        member_count = (
            select(func.count())
            .select_from(incident_alerts)
            .where(incident_alerts.c.incident_id == incident_id)
            .scalar_subquery()
        )
        row = (
            await self.conn.execute(
                select(
                    incidents.c.id,
                    incidents.c.title,
                    incidents.c.service,
                    incidents.c.services,
                    incidents.c.opened_at,
                    member_count.label("members"),
                ).where(incidents.c.id == incident_id)
            )
        ).first()
        if row is None:
            return None
        total = int(row.members)
        members = await self._members(incident_id, max_alerts, truncated=total > max_alerts)
        return IncidentSubject(
            id=int(row.id),
            title=row.title,
            services=_services(row.service, row.services, members),
            opened_at=row.opened_at,
            alerts=tuple(members),
            alert_total=total,
        )

    async def _members(self, incident_id: int, limit: int, *, truncated: bool) -> list[Alert]:
        # the newest members when there are too many (what still fires is there), plus the very first
        members = select(alerts).join(incident_alerts, incident_alerts.c.alert_id == alerts.c.id)
        members = members.where(incident_alerts.c.incident_id == incident_id)
        newest = members.order_by(alerts.c.starts_at.desc(), alerts.c.id.desc()).limit(limit)
        found = {int(r.id): stored_alert(r).alert for r in await self.conn.execute(newest)}
        if truncated:
            first = members.order_by(alerts.c.starts_at, alerts.c.id).limit(1)
            found.update({int(r.id): stored_alert(r).alert for r in await self.conn.execute(first)})
        return list(found.values())

    async def changes(
        self, services: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> list[ChangeEvent]:
        if not services:
            return []
        c = change_events.c
        rows = await self.conn.execute(
            select(c.service, c.kind, c.who, c.what, c.at, c.labels, c.external_id)
            .where(c.service.in_(list(services)), c.at >= since, c.at <= until)
            .order_by(c.at.desc(), c.id.desc())
            .limit(limit)
        )
        return [
            ChangeEvent(
                service=r.service,
                kind=r.kind,
                who=r.who,
                what=r.what,
                at=r.at,
                labels=r.labels,
                external_id=r.external_id,
            )
            for r in rows
        ]

    async def history(self, request: HistoryRequest) -> list[HistoryEntry]:
        # One statement: a LIMITed index scan per service plus the newest of any service, so the cost
        # follows the sample size, not the size of the history.
        samples: list[tuple[str | None, int]] = [(s, request.per_service) for s in request.services]
        samples += [(s, request.per_related) for s in request.related]
        samples.append((None, request.recent))
        parts = [_past(request, service).limit(size) for service, size in samples if size > 0]
        if not parts:
            return []
        statement = union_all(*(select(part.subquery()) for part in parts))
        entries: dict[int, HistoryEntry] = {}
        for row in await self.conn.execute(statement):
            if int(row.id) not in entries:
                entries[int(row.id)] = _history_entry(row)
        return list(entries.values())

    async def firing_alerts(self, services: Sequence[str]) -> dict[str, int]:
        if not services:
            return {}
        rows = await self.conn.execute(
            select(alerts.c.service, func.count())
            .where(alerts.c.status == AlertStatus.FIRING.value, alerts.c.service.in_(list(services)))
            .group_by(alerts.c.service)
        )
        return {row[0]: int(row[1]) for row in rows}

    async def series(
        self, services: Sequence[str], metrics: Sequence[str], limit: int
    ) -> list[tuple[int, SeriesRef]]:
        s = metric_series.c
        found: dict[int, SeriesRef] = {}
        if metrics:
            named = (
                select(s.id, s.metric, s.labels)
                .where(s.metric.in_(list(metrics)))
                .order_by(s.id)
                .limit(limit)
            )
            found.update((int(r.id), SeriesRef(r.metric, r.labels)) for r in await self.conn.execute(named))
        if services and len(found) < limit:
            # JSON label lookups cannot use an index; metric_series has one row per series (thousands,
            # not millions), so the scan is short
            tied = or_(*(s.labels[key].as_string().in_(list(services)) for key in SERVICE_LABELS))
            by_service = select(s.id, s.metric, s.labels).where(tied).order_by(s.id).limit(limit - len(found))
            found.update(
                (int(r.id), SeriesRef(r.metric, r.labels)) for r in await self.conn.execute(by_service)
            )
        return list(found.items())

    async def points(
        self, series_ids: Sequence[int], since: datetime, until: datetime
    ) -> dict[int, SeriesWindow]:
        if not series_ids:
            return {}
        p = metric_points.c
        rows = await self.conn.execute(
            select(p.series_id, p.ts, p.value)
            .where(p.series_id.in_(list(series_ids)), p.ts >= _epoch_ms(since), p.ts <= _epoch_ms(until))
            .order_by(p.series_id, p.ts)
        )
        columns: dict[int, tuple[list[float], list[float]]] = {}
        for series_id, ts, value in rows:
            if value is None or not math.isfinite(value):
                continue  # JSON cannot hold them, and a chart cannot draw them
            stamps, values = columns.setdefault(int(series_id), ([], []))
            stamps.append(ts / 1000.0)
            values.append(float(value))
        return {key: SeriesWindow(tuple(t), tuple(v)) for key, (t, v) in columns.items()}


_HISTORY_COLUMNS = (
    incidents.c.id,
    incidents.c.external_id,
    incidents.c.origin,
    incidents.c.title,
    incidents.c.service,
    incidents.c.opened_at,
    incidents.c.resolved_at,
    incidents.c.priority,
    incidents.c.resolution,
    incidents.c.playbook,
    # Only the stored profile (it lists all the incident's services), not the whole enrichment
    # document nor the `services` column: decoding JSON for thousands of rows is most of the cost.
    incidents.c.enrichment["profile"].label("profile"),
)


def _past(request: HistoryRequest, service: str | None) -> Select[Any]:
    """Resolved incidents before the request's, newest first; of one service, or of any."""
    statement = select(*_HISTORY_COLUMNS).where(
        incidents.c.status == IncidentStatus.RESOLVED.value,
        incidents.c.opened_at < request.before,
        incidents.c.id != request.exclude_id,
    )
    if service is not None:
        statement = statement.where(incidents.c.service == service)
    return statement.order_by(incidents.c.opened_at.desc())


def _history_entry(row: Row[Any]) -> HistoryEntry:
    incident_id, external_id, origin, title, service, opened_at, resolved_at, *rest = tuple(row)
    priority, resolution, playbook, stored_profile = rest
    return HistoryEntry(
        incident_id=int(incident_id),
        external_id=external_id,
        origin=origin,
        title=title,
        service=service,
        opened_at=opened_at,
        resolved_at=resolved_at,
        priority=priority,
        resolution=resolution,
        playbook=playbook,
        profile=_stored_profile(stored_profile) or title_profile(title, (service,) if service else ()),
    )


def _stored_profile(raw: Any) -> IncidentProfile | None:
    if not isinstance(raw, Mapping):
        return None  # imported history, or an incident enriched before profiles were stored
    try:
        profile: IncidentProfile = decode(IncidentProfile, raw)
    except EncodingError:
        return None
    return profile


def _services(chief: str | None, listed: Sequence[str] | None, members: Sequence[Alert]) -> tuple[str, ...]:
    """The chief service first, then the others listed; from the alerts when the incident names none."""
    ordered = dict.fromkeys([chief] if chief else [])
    ordered.update(dict.fromkeys(s for s in listed or [] if s))
    if not ordered:
        by_count: dict[str, int] = {}
        for alert in members:
            if alert.service:
                by_count[alert.service] = by_count.get(alert.service, 0) + 1
        ordered.update(dict.fromkeys(sorted(by_count, key=lambda s: (-by_count[s], s))))
    return tuple(ordered)


def _epoch_ms(moment: datetime) -> int:
    return math.floor(moment.timestamp() * 1000)
