"""Metric series and raw points: the ingestion hot path.

A point is identified by (series, timestamp in ms); a repeated timestamp keeps the first value, the
same rule the detector follows, so a re-sent batch changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import BigInteger, Float, bindparam, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.models import PointBatch, SeriesRef
from engine.rollup.levels import LATE_AFTER
from engine.storage import point_copy
from engine.storage.schema import metric_points, metric_series, rollup_late_points
from engine.storage.upsert import insert_ignoring_conflicts


def series_key(metric: str, labels: Mapping[str, str]) -> str:
    canonical = orjson.dumps([metric, labels], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


class PointsAlreadyStored(Exception):
    """A fresh-points insert met a point already stored (or one repeated in the batch): nothing of it
    was written, the transaction is aborted, and the batch must go again through the deduplicating
    insert in a new transaction."""


class SeriesIds:
    """Series key → id, remembered per process: series are created once and never renamed."""

    def __init__(self, remembered_refs: int = 500_000) -> None:
        self._ids: dict[str, int] = {}
        # The same SeriesRef objects come back batch after batch (the HTTP parser keeps one per known
        # series): by object identity their id is one dict lookup, without hashing metric and labels
        # again. Each entry keeps its ref alive, so its id() cannot be reused by another object.
        self._by_ref: dict[int, tuple[SeriesRef, int]] = {}
        self._remembered_refs = remembered_refs

    def known(self, series: Sequence[SeriesRef]) -> list[int] | None:
        """The ids of these series when all of them are remembered by identity (no database work,
        nothing learned), else None."""
        by_ref = self._by_ref
        ids: list[int] = []
        for ref in series:
            hit = by_ref.get(id(ref))
            if hit is None or hit[0] is not ref:
                return None
            ids.append(hit[1])
        return ids

    async def resolve(self, conn: AsyncConnection, series: Sequence[SeriesRef], now: datetime) -> list[int]:
        """The id of each series, creating those never seen (in `conn`'s transaction)."""
        ids = self.known(series)
        if ids is not None:
            return ids
        keys = [series_key(ref.metric, ref.labels) for ref in series]
        # read before any await: a concurrent rollback may clear the cache meanwhile
        found = {key: self._ids[key] for key in keys if key in self._ids}
        missing = {key: ref for key, ref in zip(keys, series, strict=True) if key not in found}
        if missing:
            found.update(await self._create(conn, missing, now))
        if len(self._by_ref) + len(series) > self._remembered_refs:
            self._by_ref.clear()
        ids = [found[key] for key in keys]
        for ref, series_id in zip(series, ids, strict=True):
            self._by_ref[id(ref)] = (ref, series_id)
        return ids

    def forget(self) -> None:
        """Drop the cache (after a rollback the ids it learned may not exist)."""
        self._ids.clear()
        self._by_ref.clear()

    async def _create(
        self, conn: AsyncConnection, missing: Mapping[str, SeriesRef], now: datetime
    ) -> dict[str, int]:
        rows = [
            {"series_key": key, "metric": ref.metric, "labels": dict(ref.labels), "created_at": now}
            for key, ref in missing.items()
        ]
        await conn.execute(insert_ignoring_conflicts(conn, metric_series, ["series_key"]), rows)
        keys = list(missing)
        created: dict[str, int] = {}
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            found = await conn.execute(
                select(metric_series.c.id, metric_series.c.series_key).where(
                    metric_series.c.series_key.in_(chunk)
                )
            )
            for row in found:
                created[row.series_key] = int(row.id)
        self._ids.update(created)
        return created


async def insert_points(
    conn: AsyncConnection,
    series_ids: Sequence[int],
    batch: PointBatch,
    *,
    fresh: bool = False,
    late_before: int | None = None,
) -> int:
    """Insert points, skipping (series, ts) pairs already stored; returns how many were new.

    Points stamped before `late_before` (epoch ms; None: every point, as for imports) are recorded
    for the rollup (`record_late_points`), in the same transaction.

    With `fresh` (on PostgreSQL) the points are expected to be all new, as a live feed's are: they are
    streamed in with COPY, several times cheaper for the database and for this process than an
    INSERT that checks each row for a conflict. If one of them is stored already (or repeated in the
    batch), nothing is written and PointsAlreadyStored is raised with the transaction aborted: the
    caller rolls back and stores the batch again without `fresh`.
    """
    if not len(batch):
        return 0
    point_series = np.asarray(series_ids, dtype=np.int64)[np.asarray(batch.series_index, dtype=np.intp)]
    stamps = epoch_ms(batch.ts)
    if conn.dialect.name == "postgresql":
        if fresh:
            stored = await _copy_points(conn, point_series, stamps, batch.values)
            await record_late_points(conn, stamps, late_before)
            return stored
        # One statement with three array parameters: an order of magnitude faster than executemany.
        result = await conn.execute(
            _UNNEST_INSERT,
            {"series_ids": point_series.tolist(), "stamps": stamps.tolist(), "vals": batch.values},
        )
    else:
        rows = [
            {"series_id": s, "ts": t, "value": v}
            for s, t, v in zip(point_series.tolist(), stamps.tolist(), batch.values, strict=True)
        ]
        result = await conn.execute(insert_ignoring_conflicts(conn, metric_points, ["series_id", "ts"]), rows)
    await record_late_points(conn, stamps, late_before)
    return max(result.rowcount, 0)


def late_threshold(now: datetime) -> int:
    """For a live feed stored at `now`: points stamped before this (epoch ms) are late."""
    return round((now - LATE_AFTER).timestamp() * 1000)


async def record_late_points(
    conn: AsyncConnection, stamps: npt.NDArray[np.int64], late_before: int | None
) -> None:
    """One row in rollup_late_points when some of `stamps` are before `late_before` (None: all are):
    the next rollup run re-rolls their buckets. A batch of live points writes nothing, and a late
    one inserts a new row, so concurrent replicas never update a shared row."""
    late = stamps if late_before is None else stamps[stamps < late_before]
    if len(late):
        await conn.execute(
            insert(rollup_late_points), {"earliest": int(late.min()), "latest": int(late.max())}
        )


def epoch_ms(ts: Sequence[float]) -> npt.NDArray[np.int64]:
    """Epoch seconds → integer milliseconds, rounded half to even as `round(t * 1000)` does."""
    return np.rint(np.asarray(ts, dtype=np.float64) * 1000.0).astype(np.int64)


_UNIQUE_VIOLATION = "23505"


async def _copy_points(
    conn: AsyncConnection,
    series_ids: npt.NDArray[np.int64],
    stamps: npt.NDArray[np.int64],
    values: Sequence[float],
) -> int:
    driver = await _driver_in_transaction(conn)
    try:
        status = await driver.copy_to_table(
            metric_points.name,
            # a memoryview: asyncpg takes bytes for a file name
            source=memoryview(point_copy.encode(series_ids, stamps, values)),
            columns=["series_id", "ts", "value"],
            format="binary",
        )
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == _UNIQUE_VIOLATION:
            raise PointsAlreadyStored from None
        raise
    return int(str(status).rpartition(" ")[2] or 0)


async def _driver_in_transaction(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside the transaction SQLAlchemy has open on it (which
    it begins lazily, with its first statement), so what is done on the driver commits or rolls back
    with everything else."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the database connection is closed")
    if not driver.is_in_transaction():
        adapted = raw.dbapi_connection
        begin = getattr(adapted, "_start_transaction", None)
        if begin is not None and getattr(adapted, "_transaction", False) is None:
            await begin()  # SQLAlchemy's asyncpg adapter: BEGIN alone, tracked as its transaction
        else:
            await conn.exec_driver_sql("SELECT 1")  # any adapter: its first statement begins
        if not driver.is_in_transaction():
            raise RuntimeError("no transaction open on the database connection")
    return driver


_UNNEST_INSERT = text(
    "INSERT INTO metric_points (series_id, ts, value) "
    "SELECT * FROM unnest(:series_ids, :stamps, :vals) "
    "ON CONFLICT (series_id, ts) DO NOTHING"
).bindparams(
    bindparam("series_ids", type_=ARRAY(BigInteger)),
    bindparam("stamps", type_=ARRAY(BigInteger)),
    bindparam("vals", type_=ARRAY(Float)),
)
