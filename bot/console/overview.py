"""What the overview page shows, read from the database: noise reduction, response times, health.

Days are counted from the team's midnight `days - 1` days ago in steps of 24 hours (a day that
crosses a daylight-saving change is an hour off, which a two-week chart does not show). Sums and
averages are computed by the database; only a few rows per day come back, whatever the volume.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import BigInteger, Integer, and_, case, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from engine.models import AlertSource, IncidentStatus
from engine.storage import outbox_rows
from engine.storage.schema import alerts, detector_state, incidents, metric_series
from engine.storage.types import to_epoch_us

DAY_US = 86_400 * 1_000_000
NOISIEST = 10


@dataclass(frozen=True, slots=True)
class Day:
    start: datetime
    alerts: int = 0
    incidents: int = 0
    mtta_minutes: float | None = None
    mttr_minutes: float | None = None
    resolved: int = 0
    auto_resolved: int = 0

    @property
    def auto_share(self) -> float | None:
        """Percent of the day's resolved incidents that resolved themselves."""
        return 100 * self.auto_resolved / self.resolved if self.resolved else None


@dataclass(frozen=True, slots=True)
class DetectorHealth:
    series: int  # metric series known
    with_state: int  # series whose learned state is saved
    last_saved: datetime | None
    unsaved: int  # series learned from since the last save (this process)
    alerts: int  # anomaly and breach-forecast alerts raised in the window


@dataclass(frozen=True, slots=True)
class Overview:
    since: datetime
    days: tuple[Day, ...]
    noisiest: tuple[tuple[str, int], ...]  # alert name, alerts received in the window
    outbox: outbox_rows.OutboxHealth
    detector: DetectorHealth
    open_incidents: int

    @property
    def alerts(self) -> int:
        return sum(day.alerts for day in self.days)

    @property
    def incidents(self) -> int:
        return sum(day.incidents for day in self.days)

    @property
    def noise_reduction(self) -> float | None:
        """Percent fewer things to look at: 1 - incidents / alerts."""
        return 100 * (1 - self.incidents / self.alerts) if self.alerts else None


async def load_overview(
    conn: AsyncConnection, now: datetime, tz: tzinfo, *, days: int = 14, unsaved: int = 0
) -> Overview:
    local = now.astimezone(tz)
    since = (local - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    start_us = to_epoch_us(since)
    per_day: dict[int, dict[str, Any]] = {index: {} for index in range(days)}

    received = _us(alerts.c.received_at)
    alert_day = _day(received, start_us)
    for index, count in await conn.execute(
        select(alert_day, func.count()).where(received >= start_us).group_by(alert_day)
    ):
        if int(index) in per_day:
            per_day[int(index)]["alerts"] = int(count)

    opened = _us(incidents.c.opened_at)
    incident_day = _day(opened, start_us)
    ours = and_(opened >= start_us, incidents.c.origin == "nocbot")
    acknowledged, resolved = _us(incidents.c.acknowledged_at), _us(incidents.c.resolved_at)
    is_resolved = incidents.c.status == IncidentStatus.RESOLVED.value
    statement = (
        select(
            incident_day,
            func.count(),
            func.avg(acknowledged - opened),
            func.avg(case((is_resolved, resolved - opened))),
            func.sum(case((is_resolved, 1), else_=0)),
            func.sum(case((and_(is_resolved, incidents.c.auto_resolved), 1), else_=0)),
        )
        .where(ours)
        .group_by(incident_day)
    )
    for index, count, mtta, mttr, closed, auto in await conn.execute(statement):
        if int(index) in per_day:
            per_day[int(index)].update(
                incidents=int(count),
                mtta_minutes=_minutes(mtta),
                mttr_minutes=_minutes(mttr),
                resolved=int(closed or 0),
                auto_resolved=int(auto or 0),
            )

    noisiest = await conn.execute(
        select(alerts.c.name, func.count().label("n"))
        .where(received >= start_us)
        .group_by(alerts.c.name)
        .order_by(func.count().desc(), alerts.c.name)
        .limit(NOISIEST)
    )
    open_incidents = (
        await conn.execute(select(func.count()).where(incidents.c.status != IncidentStatus.RESOLVED.value))
    ).scalar_one()
    return Overview(
        since=since,
        days=tuple(Day(since + timedelta(days=index), **per_day[index]) for index in range(days)),
        noisiest=tuple((name, int(count)) for name, count in noisiest),
        outbox=await outbox_rows.health(conn),
        detector=await _detector(conn, start_us, unsaved),
        open_incidents=int(open_incidents),
    )


async def _detector(conn: AsyncConnection, start_us: int, unsaved: int) -> DetectorHealth:
    series = (await conn.execute(select(func.count()).select_from(metric_series))).scalar_one()
    with_state, last_saved = (
        await conn.execute(select(func.count(), func.max(detector_state.c.updated_at)))
    ).one()
    detected = (
        await conn.execute(
            select(func.count()).where(
                _us(alerts.c.received_at) >= start_us,
                alerts.c.source.in_([AlertSource.ANOMALY.value, AlertSource.PREDICTION.value]),
            )
        )
    ).scalar_one()
    return DetectorHealth(int(series), int(with_state), last_saved, unsaved, int(detected))


def _us(column: Any) -> ColumnElement[int]:
    """An Instant column as its stored integer, for arithmetic the database does."""
    return type_coerce(column, BigInteger)


def _day(moment: ColumnElement[int], start_us: int) -> ColumnElement[int]:
    # whole-number division on both databases (both operands are integers)
    return type_coerce((moment - start_us) // DAY_US, Integer)


def _minutes(microseconds: Any) -> float | None:
    return float(microseconds) / 60_000_000 if microseconds is not None else None
