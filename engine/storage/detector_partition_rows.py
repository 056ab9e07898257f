"""Leases on detector partitions, replica presence, and the inbox of handed-over points.

A replica detects the series of the partitions it holds a lease on; its share is the partition
count over the replicas seen lately, so a new replica gets half and a dead one's lease runs out
and is taken over. Points of a partition held elsewhere wait in the inbox for its holder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.models import SeriesRef
from engine.storage.schema import detector_inbox, detector_partitions, detector_replicas, metric_series
from engine.storage.upsert import insert_ignoring_conflicts, insert_or_update


@dataclass(frozen=True, slots=True)
class HandedOver:
    """Points taken from the inbox, as columns (the detector's shape), in the order handed over."""

    series_ids: npt.NDArray[np.int64]
    ts: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    partitions: frozenset[int]  # those that had rows
    complete: bool  # nothing more was waiting for the partitions asked about

    def __len__(self) -> int:
        return len(self.series_ids)


async def ensure_partitions(conn: AsyncConnection, count: int) -> None:
    await conn.execute(
        insert_ignoring_conflicts(conn, detector_partitions, ["partition"]),
        [{"partition": p} for p in range(count)],
    )


async def announce(conn: AsyncConnection, replica: str, now: datetime, ttl: timedelta) -> int:
    """Say this replica is alive until now + ttl; returns how many replicas are alive (itself too)."""
    await conn.execute(
        insert_or_update(conn, detector_replicas, ["replica"], ["seen_until"]),
        {"replica": replica, "seen_until": now + ttl},
    )
    # long-gone replicas would otherwise stay in the table forever
    await conn.execute(delete(detector_replicas).where(detector_replicas.c.seen_until < now - 10 * ttl))
    live = await conn.scalar(select(func.count()).where(detector_replicas.c.seen_until >= now))
    return int(live or 1)


async def withdraw(conn: AsyncConnection, replica: str) -> None:
    await conn.execute(delete(detector_replicas).where(detector_replicas.c.replica == replica))


async def hold(
    conn: AsyncConnection, replica: str, now: datetime, lease: timedelta, share: int
) -> tuple[list[int], list[int]]:
    """Renew this replica's leases and take free or lapsed partitions up to `share`; returns the
    partitions it kept (held without a break: nobody else detected them meanwhile) and those it
    took. Together they may be more than `share`: giving some back is the caller's, after it saved
    their state."""
    until = now + lease
    kept = await _held(conn, replica)
    await conn.execute(
        update(detector_partitions).where(detector_partitions.c.owner == replica).values(lease_until=until)
    )
    wanted = share - len(kept)
    if wanted <= 0:
        return kept, []
    free = or_(detector_partitions.c.owner.is_(None), detector_partitions.c.lease_until < now)
    query = select(detector_partitions.c.partition).where(free).order_by(detector_partitions.c.partition)
    query = query.limit(wanted)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    chosen = [int(p) for p in (await conn.scalars(query)).all()]
    if not chosen:
        return kept, []
    await conn.execute(
        update(detector_partitions)
        .where(detector_partitions.c.partition.in_(chosen), free)
        .values(owner=replica, lease_until=until)
    )
    return kept, sorted(set(await _held(conn, replica)) - set(kept))


async def release(conn: AsyncConnection, replica: str, partitions: Sequence[int]) -> None:
    if not partitions:
        return
    await conn.execute(
        update(detector_partitions)
        .where(detector_partitions.c.owner == replica, detector_partitions.c.partition.in_(list(partitions)))
        .values(owner=None, lease_until=None)
    )


async def hand_over(
    conn: AsyncConnection,
    partitions: npt.NDArray[np.int64],
    series_ids: npt.NDArray[np.int64],
    ts: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
) -> None:
    """Leave points for the holders of their partitions: one row per partition."""
    if not len(series_ids):
        return
    order = np.argsort(partitions, kind="stable")  # stable: each series keeps its points' order
    cuts = np.flatnonzero(np.diff(partitions[order])) + 1
    rows = []
    for chunk in np.split(order, cuts):
        rows.append(
            {
                "partition": int(partitions[chunk[0]]),
                "points": len(chunk),
                "series_ids": series_ids[chunk].astype("<i8").tobytes(),
                "ts": ts[chunk].astype("<f8").tobytes(),
                "values": values[chunk].astype("<f8").tobytes(),
            }
        )
    await conn.execute(detector_inbox.insert(), rows)


async def take_handed_over(conn: AsyncConnection, partitions: Sequence[int], limit: int) -> HandedOver:
    """The oldest handed-over points of `partitions`, about `limit` of them (whole rows), removed
    from the inbox in the caller's transaction: if detecting them fails, they stay."""
    if not partitions:
        return _nothing()
    inbox = detector_inbox.c
    row_limit = max(1, limit // 50)
    query = (
        select(inbox.id, inbox.partition, inbox.points, inbox.series_ids, inbox.ts, inbox["values"])
        .where(inbox.partition.in_(list(partitions)))
        .order_by(inbox.id)
        .limit(row_limit)
    )
    rows = (await conn.execute(query)).all()
    taken: list[Any] = []
    count = 0
    for row in rows:
        if taken and count + row.points > limit:
            break
        taken.append(row)
        count += row.points
    if not taken:
        return _nothing()
    await conn.execute(delete(detector_inbox).where(inbox.id.in_([row.id for row in taken])))

    def column(name: str, dtype: str) -> npt.NDArray[Any]:
        return np.concatenate([np.frombuffer(row._mapping[name], dtype=dtype) for row in taken])

    return HandedOver(
        series_ids=column("series_ids", "<i8").astype(np.int64),
        ts=column("ts", "<f8").astype(np.float64),
        values=column("values", "<f8").astype(np.float64),
        partitions=frozenset(int(row.partition) for row in taken),
        complete=len(taken) == len(rows) < row_limit,
    )


def _nothing() -> HandedOver:
    empty = np.empty(0, dtype=np.float64)
    return HandedOver(np.empty(0, dtype=np.int64), empty, empty, frozenset(), complete=True)


async def series_refs(conn: AsyncConnection, series_ids: Sequence[int]) -> dict[int, SeriesRef]:
    found: dict[int, SeriesRef] = {}
    for start in range(0, len(series_ids), 1000):
        chunk = list(series_ids[start : start + 1000])
        rows = await conn.execute(
            select(metric_series.c.id, metric_series.c.metric, metric_series.c.labels).where(
                metric_series.c.id.in_(chunk)
            )
        )
        found.update({int(row.id): SeriesRef(row.metric, dict(row.labels)) for row in rows})
    return found


async def _held(conn: AsyncConnection, replica: str) -> list[int]:
    query = select(detector_partitions.c.partition).where(detector_partitions.c.owner == replica)
    return sorted(int(p) for p in (await conn.scalars(query)).all())
