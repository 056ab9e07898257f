"""The incident forecaster's data: the event history it learns from, its stored models, and its
alarms (`incident_forecasts`) with what became of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.forecasting import EventHistory, EventHistoryBuilder, ForecastModel
from engine.forecasting.history import MAJOR_PRIORITY
from engine.models import AlertSource, IncidentStatus, Severity
from engine.storage.model_rows import DuplicateModelError, model_id_of
from engine.storage.schema import (
    alerts,
    change_events,
    incident_alerts,
    incident_forecasts,
    incidents,
    model_versions,
)

FORECAST_MODEL = "incident_forecast"


def _majors() -> Subquery:
    """Major incidents (P1/P2) with their onset: the first alert of severity error or worse, or the
    opening when they have none (imported history). An incident that grew out of warnings opens
    before it is serious; the forecast is about when it became serious."""
    first_severe = (
        select(incident_alerts.c.incident_id, func.min(alerts.c.starts_at).label("first_severe"))
        .join(alerts, alerts.c.id == incident_alerts.c.alert_id)
        .where(alerts.c.severity >= int(Severity.ERROR))
        .group_by(incident_alerts.c.incident_id)
        .subquery()
    )
    return (
        select(
            incidents.c.id,
            incidents.c.service,
            func.coalesce(first_severe.c.first_severe, incidents.c.opened_at).label("onset"),
            incidents.c.resolved_at,
        )
        .outerjoin(first_severe, first_severe.c.incident_id == incidents.c.id)
        .where(
            incidents.c.priority.is_not(None),
            incidents.c.priority <= MAJOR_PRIORITY,
            incidents.c.service.is_not(None),
        )
        .subquery()
    )


async def read_event_history(
    conn: AsyncConnection,
    since: datetime,
    until: datetime,
    *,
    alerts_since: datetime | None = None,
    majors_since: datetime | None = None,
) -> EventHistory:
    """Alerts, changes and major incidents between `since` and `until`. A forecast made now reads
    less: alerts from `alerts_since` (its longest alert window), plus each service's latest alert
    before that (for "minutes since the last alert"), and major incidents from `majors_since`."""
    builder = EventHistoryBuilder()
    bulk_since = alerts_since or since
    async for row in await conn.stream(
        select(alerts.c.service, alerts.c.starts_at, alerts.c.severity, alerts.c.source).where(
            alerts.c.service.is_not(None), alerts.c.starts_at >= bulk_since, alerts.c.starts_at <= until
        )
    ):
        builder.alert(row.service, row.starts_at.timestamp(), int(row.severity), str(row.source))
    if bulk_since > since:
        latest = await conn.execute(
            select(alerts.c.service, func.max(alerts.c.starts_at).label("latest"))
            .where(alerts.c.service.is_not(None), alerts.c.starts_at >= since)
            .where(alerts.c.starts_at < bulk_since)
            .group_by(alerts.c.service)
        )
        for last in latest:
            # older than every alert window: it only moves "minutes since the last alert"
            builder.alert(last.service, last.latest.timestamp(), int(Severity.INFO), AlertSource.ALERTMANAGER)
    async for change in await conn.stream(
        select(change_events.c.service, change_events.c.at).where(
            change_events.c.at >= since, change_events.c.at <= until
        )
    ):
        builder.change(change.service, change.at.timestamp())
    majors = _majors()
    async for major in await conn.stream(
        select(majors.c.service, majors.c.onset, majors.c.resolved_at).where(
            majors.c.onset >= (majors_since or since), majors.c.onset <= until
        )
    ):
        ended = None if major.resolved_at is None else major.resolved_at.timestamp()
        builder.major_incident(major.service, major.onset.timestamp(), ended)
    return builder.build(since.timestamp(), until.timestamp())


async def services_in_major_incident(conn: AsyncConnection) -> set[str]:
    """Services with an open P1/P2 incident: forecasting their next one makes no sense yet."""
    rows = await conn.execute(
        select(incidents.c.service).where(
            incidents.c.status != IncidentStatus.RESOLVED,
            incidents.c.priority <= MAJOR_PRIORITY,
            incidents.c.service.is_not(None),
        )
    )
    return {str(row.service) for row in rows}


async def save_forecaster(conn: AsyncConnection, model: ForecastModel, created_at: datetime) -> int:
    if await model_id_of(conn, model.version, kind=FORECAST_MODEL) is not None:
        raise DuplicateModelError(f"{FORECAST_MODEL} model {model.version} is already stored")
    result = await conn.execute(
        model_versions.insert().values(
            kind=FORECAST_MODEL,
            version=model.version,
            active=False,
            metrics=model.metrics,
            details=model.details(),
            artifact=model.ubj,
            created_at=created_at,
        )
    )
    primary_key = result.inserted_primary_key
    assert primary_key is not None  # a single-row insert always reports its key
    return int(primary_key[0])


async def load_forecaster(conn: AsyncConnection) -> ForecastModel | None:
    """The active forecaster; None when none was trained. Raises `ForecastModelError` if unusable."""
    row = (
        await conn.execute(
            select(model_versions.c.artifact, model_versions.c.details, model_versions.c.metrics)
            .where(model_versions.c.kind == FORECAST_MODEL, model_versions.c.active.is_(True))
            .order_by(model_versions.c.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return ForecastModel.from_stored(bytes(row.artifact), dict(row.details), dict(row.metrics))


@dataclass(frozen=True, slots=True)
class Alarm:
    service: str
    made_at: datetime
    horizon_until: datetime
    probability: float
    threshold: float
    model_version: str


async def services_with_pending_alarm(conn: AsyncConnection, now: datetime) -> set[str]:
    rows = await conn.execute(
        select(incident_forecasts.c.service).where(incident_forecasts.c.horizon_until > now).distinct()
    )
    return {str(row.service) for row in rows}


async def record_alarms(conn: AsyncConnection, alarms: Sequence[Alarm]) -> None:
    if alarms:
        await conn.execute(
            incident_forecasts.insert(),
            [
                {
                    "service": alarm.service,
                    "made_at": alarm.made_at,
                    "horizon_until": alarm.horizon_until,
                    "probability": alarm.probability,
                    "threshold": alarm.threshold,
                    "model_version": alarm.model_version,
                }
                for alarm in alarms
            ],
        )


async def settle_alarms(conn: AsyncConnection, now: datetime) -> int:
    """Record the outcome of every alarm whose horizon has passed: the first major incident of its
    service that became serious within the horizon, or none. Returns how many were settled."""
    majors = _majors()
    due = (
        await conn.execute(
            select(
                incident_forecasts.c.id,
                incident_forecasts.c.service,
                incident_forecasts.c.made_at,
                incident_forecasts.c.horizon_until,
            ).where(incident_forecasts.c.outcome.is_(None), incident_forecasts.c.horizon_until <= now)
        )
    ).all()
    for alarm in due:
        hit = (
            await conn.execute(
                select(majors.c.id, majors.c.onset)
                .where(
                    majors.c.service == alarm.service,
                    majors.c.onset > alarm.made_at,
                    majors.c.onset <= alarm.horizon_until,
                )
                .order_by(majors.c.onset)
                .limit(1)
            )
        ).first()
        await conn.execute(
            update(incident_forecasts)
            .where(incident_forecasts.c.id == alarm.id)
            .values(
                outcome="none" if hit is None else "incident",
                incident_id=None if hit is None else hit.id,
                onset_at=None if hit is None else hit.onset,
                settled_at=now,
            )
        )
    return len(due)


@dataclass(frozen=True, slots=True)
class ForecastReport:
    """How the alarms of a period turned out, and how many major incidents they announced."""

    since: datetime
    until: datetime
    alarms: int
    settled: int
    true_alarms: int
    major_incidents: int
    warned_incidents: int
    lead_minutes: list[float]

    @property
    def precision(self) -> float | None:
        return self.true_alarms / self.settled if self.settled else None

    @property
    def recall(self) -> float | None:
        return self.warned_incidents / self.major_incidents if self.major_incidents else None

    def to_json(self) -> dict[str, Any]:
        leads = sorted(self.lead_minutes)
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "alarms": self.alarms,
            "settled": self.settled,
            "true_alarms": self.true_alarms,
            "precision": self.precision,
            "major_incidents": self.major_incidents,
            "warned_incidents": self.warned_incidents,
            "recall": self.recall,
            "median_lead_minutes": leads[len(leads) // 2] if leads else None,
        }


async def forecast_report(conn: AsyncConnection, since: datetime, until: datetime) -> ForecastReport:
    alarm_rows = (
        await conn.execute(
            select(
                incident_forecasts.c.outcome,
                incident_forecasts.c.incident_id,
                incident_forecasts.c.made_at,
                incident_forecasts.c.onset_at,
            ).where(incident_forecasts.c.made_at >= since, incident_forecasts.c.made_at < until)
        )
    ).all()
    majors = _majors()
    major_rows = (
        await conn.execute(select(majors.c.id).where(majors.c.onset >= since, majors.c.onset < until))
    ).all()
    first_warning: dict[int, tuple[datetime, datetime]] = {}
    for row in alarm_rows:
        if row.outcome == "incident" and row.incident_id is not None:
            known = first_warning.get(row.incident_id)
            if known is None or row.made_at < known[0]:
                first_warning[row.incident_id] = (row.made_at, row.onset_at)
    in_period = {int(row.id) for row in major_rows}
    warned = {incident_id: times for incident_id, times in first_warning.items() if incident_id in in_period}
    return ForecastReport(
        since=since,
        until=until,
        alarms=len(alarm_rows),
        settled=sum(1 for row in alarm_rows if row.outcome is not None),
        true_alarms=sum(1 for row in alarm_rows if row.outcome == "incident"),
        major_incidents=len(in_period),
        warned_incidents=len(warned),
        lead_minutes=[(onset - made).total_seconds() / 60.0 for made, onset in warned.values()],
    )
