"""The incident forecaster's data: the event history it learns from, its stored models, and its
alarms (`incident_forecasts`) with what became of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Subquery, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.forecasting import LOOKBACK, EventHistory, EventHistoryBuilder, ForecastModel
from engine.forecasting.history import MAJOR_PRIORITY
from engine.models import AlertSource, Severity
from engine.storage.model_rows import DuplicateModelError, active_model_row, model_id_of
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
        select(func.min(alerts.c.starts_at))
        .select_from(incident_alerts.join(alerts, alerts.c.id == incident_alerts.c.alert_id))
        .where(incident_alerts.c.incident_id == incidents.c.id, alerts.c.severity >= int(Severity.ERROR))
        .scalar_subquery()
    )
    return (
        select(
            incidents.c.id,
            incidents.c.service,
            func.coalesce(first_severe, incidents.c.opened_at).label("onset"),
            incidents.c.resolved_at,
        )
        .where(
            incidents.c.priority.is_not(None),
            incidents.c.priority <= MAJOR_PRIORITY,
            incidents.c.service.is_not(None),
        )
        .subquery()
    )


@dataclass(frozen=True, slots=True)
class Reach:
    """How far back each kind of event is read for samples from `start` on: a feature at time t
    looks back up to a day for alerts and changes and 30 days for major incidents, so training reads
    that much before its first sample, and serving reads only that much before now."""

    start: datetime
    alerts_since: datetime
    changes_since: datetime
    majors_since: datetime
    latest_alert_since: datetime | None = None
    """Before `alerts_since`, only each service's latest alert from here is read (serving: the
    alert windows are an hour long, only "minutes since the last alert" looks further)."""

    @classmethod
    def for_training(cls, start: datetime) -> Reach:
        return cls(
            start=start,
            alerts_since=start - timedelta(seconds=LOOKBACK["alerts"]),
            changes_since=start - timedelta(seconds=LOOKBACK["changes"]),
            majors_since=start - timedelta(seconds=LOOKBACK["majors"]),
        )

    @classmethod
    def for_serving(cls, now: datetime, recent: timedelta) -> Reach:
        return cls(
            start=now,
            alerts_since=now - recent,
            changes_since=now - timedelta(seconds=LOOKBACK["changes"]),
            majors_since=now - timedelta(seconds=LOOKBACK["majors"]),
            latest_alert_since=now - timedelta(seconds=LOOKBACK["alerts"]),
        )


async def read_event_history(conn: AsyncConnection, reach: Reach, until: datetime) -> EventHistory:
    """Alerts, changes and major incidents up to `until`, as far back as `reach` says."""
    builder = EventHistoryBuilder()
    async for row in await conn.stream(
        select(alerts.c.service, alerts.c.starts_at, alerts.c.severity, alerts.c.source).where(
            alerts.c.service.is_not(None),
            alerts.c.starts_at >= reach.alerts_since,
            alerts.c.starts_at <= until,
        )
    ):
        builder.alert(row.service, row.starts_at.timestamp(), int(row.severity), str(row.source))
    if reach.latest_alert_since is not None:
        latest = await conn.execute(
            select(alerts.c.service, func.max(alerts.c.starts_at).label("latest"))
            .where(alerts.c.service.is_not(None), alerts.c.starts_at >= reach.latest_alert_since)
            .where(alerts.c.starts_at < reach.alerts_since)
            .group_by(alerts.c.service)
        )
        for last in latest:
            # older than every alert window: it only moves "minutes since the last alert"
            builder.alert(last.service, last.latest.timestamp(), int(Severity.INFO), AlertSource.ALERTMANAGER)
    async for change in await conn.stream(
        select(change_events.c.service, change_events.c.at).where(
            change_events.c.at >= reach.changes_since, change_events.c.at <= until
        )
    ):
        builder.change(change.service, change.at.timestamp())
    majors = _majors()
    async for major in await conn.stream(
        select(majors.c.service, majors.c.onset, majors.c.resolved_at).where(
            # one that began earlier but ended within reach still moves "minutes since a major one"
            or_(majors.c.onset >= reach.majors_since, majors.c.resolved_at >= reach.majors_since),
            majors.c.onset <= until,
        )
    ):
        ended = None if major.resolved_at is None else major.resolved_at.timestamp()
        builder.major_incident(major.service, major.onset.timestamp(), ended)
    return builder.build(reach.start.timestamp(), until.timestamp())


async def services_in_major_incident(conn: AsyncConnection, now: datetime) -> set[str]:
    """Services in a major incident that has become serious and is not resolved: their next one
    cannot be forecast yet (training leaves these times out the same way)."""
    majors = _majors()
    rows = await conn.execute(
        select(majors.c.service)
        .where(majors.c.onset <= now, or_(majors.c.resolved_at.is_(None), majors.c.resolved_at > now))
        .distinct()
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
    row = await active_model_row(conn, FORECAST_MODEL)
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


SETTLE_GRACE = timedelta(minutes=15)
"""An alarm is settled this long after its horizon: a severe alert can arrive late (Alertmanager's
group wait, a queued batch) and an incident can be raised to P2 a little later."""
SETTLE_BATCH = 500


async def settle_alarms(conn: AsyncConnection, now: datetime) -> int:
    """Record the outcome of the alarms whose horizon passed `SETTLE_GRACE` ago: the first major
    incident of its service that became serious within the horizon, or none. Returns how many."""
    majors = _majors()
    due = select(incident_forecasts.c.id).where(
        incident_forecasts.c.outcome.is_(None), incident_forecasts.c.horizon_until <= now - SETTLE_GRACE
    )
    if conn.dialect.name == "postgresql":
        # a report run by hand may settle beside the serving replica: take different rows
        due = due.with_for_update(skip_locked=True)
    ids = list((await conn.execute(due.order_by(incident_forecasts.c.id).limit(SETTLE_BATCH))).scalars())
    if not ids:
        return 0
    hits = (
        select(
            incident_forecasts.c.id.label("alarm_id"),
            majors.c.id.label("incident_id"),
            majors.c.onset,
        )
        .join(
            majors,
            and_(
                majors.c.service == incident_forecasts.c.service,
                majors.c.onset > incident_forecasts.c.made_at,
                majors.c.onset <= incident_forecasts.c.horizon_until,
            ),
        )
        .where(incident_forecasts.c.id.in_(ids))
        .order_by(majors.c.onset)
    )
    first_hit: dict[int, Any] = {}
    for row in await conn.execute(hits):
        first_hit.setdefault(int(row.alarm_id), row)
    for alarm_id in ids:
        hit = first_hit.get(alarm_id)
        await conn.execute(
            update(incident_forecasts)
            .where(incident_forecasts.c.id == alarm_id)
            .values(
                outcome="none" if hit is None else "incident",
                incident_id=None if hit is None else hit.incident_id,
                onset_at=None if hit is None else hit.onset,
                settled_at=now,
            )
        )
    return len(ids)


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
