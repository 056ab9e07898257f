"""Playbook runs, their steps and approvals: every status change a conditional update.

Two replicas (or two clicks) deciding about the same run race at the database: an update applies
only from the statuses `engine.playbooks.machine` allows, so exactly one of them changes a row and
the other learns it lost. `active_key` is set while a run is unfinished and is unique, so an
incident has at most one unfinished run of a playbook however many requests arrive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.models import IncidentStatus
from engine.playbooks.machine import RunEvent, RunStatus, StepStatus, next_status, sources
from engine.rollup.levels import Level
from engine.storage.rollup_rows import read_watermarks
from engine.storage.schema import (
    approvals,
    incidents,
    metric_points,
    metric_series,
    playbook_runs,
    playbook_steps,
    rollup_5m,
)
from engine.storage.types import Instant, to_epoch_us
from engine.storage.upsert import dialect_insert, insert_ignoring_conflicts

_TEXT_LIMIT = 4000


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    incident_id: int
    playbook: str
    params: dict[str, str]
    status: RunStatus
    requested_by: str
    requested_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    current_step: int | None
    error: str | None
    revision: str | None
    worker: str | None
    lease_until: datetime | None


@dataclass(frozen=True, slots=True)
class StepRow:
    position: int
    name: str
    kind: str
    status: StepStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    output: str | None
    error: str | None


def active_key(incident_id: int, playbook: str) -> str:
    return f"{incident_id}:{playbook}"


async def insert_run(
    conn: AsyncConnection,
    *,
    incident_id: int,
    playbook: str,
    params: Mapping[str, str],
    revision: str,
    requested_by: str,
    now: datetime,
    approved_by: str | None = None,
) -> int | None:
    """A new run, pending approval (or approved when `approved_by` is given); None when the
    incident already has an unfinished run of this playbook."""
    status = RunStatus.APPROVED if approved_by else RunStatus.PENDING_APPROVAL
    statement = (
        dialect_insert(conn, playbook_runs)
        .values(
            incident_id=incident_id,
            playbook=playbook,
            params=dict(params),
            status=status.value,
            active_key=active_key(incident_id, playbook),
            requested_by=requested_by,
            requested_at=now,
            approved_by=approved_by,
            approved_at=now if approved_by else None,
            revision=revision,
        )
        .on_conflict_do_nothing(index_elements=["active_key"])
        .returning(playbook_runs.c.id)
    )
    found = (await conn.execute(statement)).scalar_one_or_none()
    return None if found is None else int(found)


async def get_run(conn: AsyncConnection, run_id: int) -> RunRow | None:
    row = (await conn.execute(select(playbook_runs).where(playbook_runs.c.id == run_id))).first()
    return None if row is None else _run(row._mapping)


async def runs_of_incident(conn: AsyncConnection, incident_id: int) -> list[RunRow]:
    rows = await conn.execute(
        select(playbook_runs).where(playbook_runs.c.incident_id == incident_id).order_by(playbook_runs.c.id)
    )
    return [_run(row) for row in rows.mappings()]


async def pending_runs(conn: AsyncConnection) -> list[RunRow]:
    rows = await conn.execute(
        select(playbook_runs)
        .where(playbook_runs.c.status == RunStatus.PENDING_APPROVAL.value)
        .order_by(playbook_runs.c.id)
    )
    return [_run(row) for row in rows.mappings()]


async def approve(conn: AsyncConnection, run_id: int, *, actor: str, now: datetime) -> bool:
    return await _apply(conn, run_id, RunEvent.APPROVE, {"approved_by": actor, "approved_at": now})


async def finish(
    conn: AsyncConnection,
    run_id: int,
    event: RunEvent,
    *,
    now: datetime,
    error: str | None = None,
    worker: str | None = None,
) -> bool:
    """End a run (denied, cancelled, succeeded, failed, timed out); frees its active key.
    With `worker`, only while that worker still holds the run."""
    values: dict[str, Any] = {
        "active_key": None,
        "finished_at": now,
        "lease_until": None,
        "error": error[:_TEXT_LIMIT] if error else None,
    }
    extra = [playbook_runs.c.worker == worker] if worker is not None else []
    return await _apply(conn, run_id, event, values, extra)


async def claim(conn: AsyncConnection, run_id: int, *, worker: str, now: datetime, lease: timedelta) -> bool:
    """Take an approved run, or a running one whose worker's lease ran out (it crashed)."""
    free = or_(
        playbook_runs.c.status == RunStatus.APPROVED.value,
        and_(
            playbook_runs.c.status == RunStatus.RUNNING.value,
            or_(playbook_runs.c.lease_until.is_(None), playbook_runs.c.lease_until < now),
        ),
    )
    result = await conn.execute(
        update(playbook_runs)
        .where(playbook_runs.c.id == run_id, free)
        .values(
            status=RunStatus.RUNNING.value,
            worker=worker,
            lease_until=now + lease,
            started_at=func.coalesce(playbook_runs.c.started_at, literal(now, Instant())),
        )
    )
    return bool(result.rowcount)


async def renew(
    conn: AsyncConnection,
    run_id: int,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    current_step: int | None = None,
) -> bool:
    """Extend the lease; False when the run is no longer this worker's to run (cancelled, timed
    out, or taken over after this worker stalled)."""
    values: dict[str, Any] = {"lease_until": now + lease}
    if current_step is not None:
        values["current_step"] = current_step
    result = await conn.execute(
        update(playbook_runs)
        .where(
            playbook_runs.c.id == run_id,
            playbook_runs.c.status == RunStatus.RUNNING.value,
            playbook_runs.c.worker == worker,
        )
        .values(**values)
    )
    return bool(result.rowcount)


async def claimable(conn: AsyncConnection, now: datetime, limit: int = 20) -> list[int]:
    rows = await conn.execute(
        select(playbook_runs.c.id)
        .where(
            or_(
                playbook_runs.c.status == RunStatus.APPROVED.value,
                and_(
                    playbook_runs.c.status == RunStatus.RUNNING.value,
                    or_(playbook_runs.c.lease_until.is_(None), playbook_runs.c.lease_until < now),
                ),
            )
        )
        .order_by(playbook_runs.c.id)
        .limit(limit)
    )
    return [int(run_id) for run_id in rows.scalars()]


async def _apply(
    conn: AsyncConnection,
    run_id: int,
    event: RunEvent,
    values: dict[str, Any],
    extra: Sequence[Any] = (),
) -> bool:
    allowed = sources(event)
    targets = {next_status(status, event) for status in allowed}
    (target,) = targets  # every event leads to one status
    result = await conn.execute(
        update(playbook_runs)
        .where(playbook_runs.c.id == run_id, playbook_runs.c.status.in_([s.value for s in allowed]), *extra)
        .values(status=target.value, **values)
    )
    return bool(result.rowcount)


# -- steps -----------------------------------------------------------------------------------------


async def create_steps(conn: AsyncConnection, run_id: int, steps: Sequence[tuple[str, str]]) -> None:
    """One pending row per step (name, kind); rows already there are kept (a takeover)."""
    rows = [
        {
            "run_id": run_id,
            "position": position,
            "name": name,
            "kind": kind,
            "status": StepStatus.PENDING.value,
            "attempts": 0,
        }
        for position, (name, kind) in enumerate(steps)
    ]
    if rows:
        await conn.execute(insert_ignoring_conflicts(conn, playbook_steps, ["run_id", "position"]), rows)


async def step_rows(conn: AsyncConnection, run_id: int) -> list[StepRow]:
    rows = await conn.execute(
        select(playbook_steps).where(playbook_steps.c.run_id == run_id).order_by(playbook_steps.c.position)
    )
    return [
        StepRow(
            position=int(row["position"]),
            name=row["name"],
            kind=row["kind"],
            status=StepStatus(row["status"]),
            attempts=int(row["attempts"]),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            output=row["output"],
            error=row["error"],
        )
        for row in rows.mappings()
    ]


async def start_step(conn: AsyncConnection, run_id: int, position: int, *, now: datetime) -> int:
    """Mark a step running before any of its I/O, so a crash leaves evidence; returns the attempt."""
    await conn.execute(
        update(playbook_steps)
        .where(playbook_steps.c.run_id == run_id, playbook_steps.c.position == position)
        .values(
            status=StepStatus.RUNNING.value,
            attempts=playbook_steps.c.attempts + 1,
            started_at=now,
            finished_at=None,
            error=None,
        )
    )
    attempts = await conn.scalar(
        select(playbook_steps.c.attempts).where(
            playbook_steps.c.run_id == run_id, playbook_steps.c.position == position
        )
    )
    return int(attempts or 0)


async def finish_step(
    conn: AsyncConnection,
    run_id: int,
    position: int,
    status: StepStatus,
    *,
    now: datetime,
    output: str | None,
    error: str | None,
) -> None:
    await conn.execute(
        update(playbook_steps)
        .where(playbook_steps.c.run_id == run_id, playbook_steps.c.position == position)
        .values(
            status=status.value,
            finished_at=now,
            output=output[:_TEXT_LIMIT] if output else output,
            error=error[:_TEXT_LIMIT] if error else None,
        )
    )


# -- approvals and incidents ------------------------------------------------------------------------


async def record_decision(
    conn: AsyncConnection, run_id: int, *, actor: str, surface: str, decision: str, now: datetime
) -> None:
    await conn.execute(
        approvals.insert().values(run_id=run_id, actor=actor, surface=surface, decision=decision, at=now)
    )


async def decisions(conn: AsyncConnection, run_id: int) -> list[tuple[str, str]]:
    rows = await conn.execute(
        select(approvals.c.actor, approvals.c.decision)
        .where(approvals.c.run_id == run_id)
        .order_by(approvals.c.id)
    )
    return [(row.actor, row.decision) for row in rows]


async def incident_status(conn: AsyncConnection, incident_id: int) -> tuple[str, list[str]] | None:
    """(status, services) of an incident, or None when there is none."""
    row = (
        await conn.execute(
            select(incidents.c.status, incidents.c.services).where(incidents.c.id == incident_id)
        )
    ).first()
    return None if row is None else (str(row.status), list(row.services))


async def mark_auto_resolved(
    conn: AsyncConnection, incident_id: int, *, playbook: str, actor: str, now: datetime
) -> bool:
    """Record that a playbook's run resolved the incident (only if that run is who resolved it)."""
    result = await conn.execute(
        update(incidents)
        .where(
            incidents.c.id == incident_id,
            incidents.c.status == IncidentStatus.RESOLVED.value,
            incidents.c.resolved_by == actor,
        )
        .values(auto_resolved=True, playbook=playbook, updated_at=now, version=incidents.c.version + 1)
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class AutoResolution:
    resolved: int
    auto_resolved: int
    by_playbook: dict[str, int]

    @property
    def share(self) -> float | None:
        return self.auto_resolved / self.resolved if self.resolved else None


async def auto_resolution(conn: AsyncConnection, since: datetime, until: datetime) -> AutoResolution:
    """Of the incidents nocbot resolved between `since` and `until`, how many a playbook resolved."""
    window = and_(
        incidents.c.status == IncidentStatus.RESOLVED.value,
        incidents.c.origin == "nocbot",
        incidents.c.resolved_at >= since,
        incidents.c.resolved_at < until,
    )
    resolved, auto = (
        await conn.execute(
            select(
                func.count(), func.coalesce(func.sum(case((incidents.c.auto_resolved, 1), else_=0)), 0)
            ).where(window)
        )
    ).one()
    rows = await conn.execute(
        select(incidents.c.playbook, func.count())
        .where(window, incidents.c.auto_resolved.is_(True))
        .group_by(incidents.c.playbook)
    )
    return AutoResolution(int(resolved), int(auto), {str(name): int(count) for name, count in rows.all()})


# -- metric checks -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricSummary:
    series: int
    count: int
    total: float
    low: float | None
    high: float | None

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


async def metric_summary(
    conn: AsyncConnection, metric: str, labels: Mapping[str, str], since: datetime
) -> MetricSummary:
    """Count, sum, min and max of a metric since `since`, over every series carrying all of `labels`
    (compared in Python: label values never reach SQL as text).

    Raw points answer from the 5-minute rollups' watermark on (the still-open last minutes, and the
    whole window of a check looking back less than that); completed 5-minute buckets overlapping
    the window answer what lies before it, where raw points may already be pruned.
    """
    candidates = await conn.execute(
        select(metric_series.c.id, metric_series.c.labels).where(metric_series.c.metric == metric)
    )
    ids = [
        int(row.id)
        for row in candidates
        if all(dict(row.labels).get(name) == value for name, value in labels.items())
    ]
    if not ids:
        return MetricSummary(0, 0, 0.0, None, None)
    since_ms = to_epoch_us(since) // 1000
    mark = (await read_watermarks(conn)).get(Level.M5)
    raw_from = since_ms if mark is None else max(since_ms, mark)
    p = metric_points.c
    parts = [
        (
            await conn.execute(
                select(func.count(), func.sum(p.value), func.min(p.value), func.max(p.value)).where(
                    p.series_id.in_(ids), p.ts >= raw_from
                )
            )
        ).one()
    ]
    if mark is not None and since_ms < mark:
        c = rollup_5m.c
        first_bucket = since_ms // 1000 - 300  # the bucket holding `since` starts up to 5 min earlier
        parts.append(
            (
                await conn.execute(
                    select(func.sum(c.count), func.sum(c.sum), func.min(c.min), func.max(c.max)).where(
                        c.series_id.in_(ids), c.bucket > first_bucket, c.bucket < mark // 1000
                    )
                )
            ).one()
        )
    lows = [float(low) for _, _, low, _ in parts if low is not None]
    highs = [float(high) for _, _, _, high in parts if high is not None]
    return MetricSummary(
        len(ids),
        sum(int(count or 0) for count, _, _, _ in parts),
        sum(float(total or 0.0) for _, total, _, _ in parts),
        min(lows, default=None),
        max(highs, default=None),
    )


def _run(row: Mapping[Any, Any]) -> RunRow:
    return RunRow(
        id=int(row["id"]),
        incident_id=int(row["incident_id"]),
        playbook=row["playbook"],
        params={str(k): str(v) for k, v in dict(row["params"]).items()},
        status=RunStatus(row["status"]),
        requested_by=row["requested_by"],
        requested_at=row["requested_at"],
        approved_by=row["approved_by"],
        approved_at=row["approved_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        current_step=row["current_step"],
        error=row["error"],
        revision=row["revision"],
        worker=row["worker"],
        lease_until=row["lease_until"],
    )
