"""Metric series and raw points: the ingestion hot path.

A point is identified by (series, timestamp in ms); a repeated timestamp keeps the first value, the
same rule the detector follows, so a re-sent batch changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

import orjson
from sqlalchemy import BigInteger, Float, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.models import PointBatch, SeriesRef
from engine.storage.schema import metric_points, metric_series
from engine.storage.upsert import insert_ignoring_conflicts


def series_key(metric: str, labels: Mapping[str, str]) -> str:
    canonical = orjson.dumps([metric, labels], option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


class SeriesIds:
    """Series key → id, remembered per process: series are created once and never renamed."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    async def resolve(self, conn: AsyncConnection, series: Sequence[SeriesRef], now: datetime) -> list[int]:
        keys = [series_key(s.metric, s.labels) for s in series]
        missing = {key: ref for key, ref in zip(keys, series, strict=True) if key not in self._ids}
        if missing:
            await self._create(conn, missing, now)
        return [self._ids[key] for key in keys]

    def forget(self) -> None:
        """Drop the cache (after a rollback the ids it learned may not exist)."""
        self._ids.clear()

    async def _create(self, conn: AsyncConnection, missing: Mapping[str, SeriesRef], now: datetime) -> None:
        rows = [
            {"series_key": key, "metric": ref.metric, "labels": dict(ref.labels), "created_at": now}
            for key, ref in missing.items()
        ]
        await conn.execute(insert_ignoring_conflicts(conn, metric_series, ["series_key"]), rows)
        keys = list(missing)
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            found = await conn.execute(
                select(metric_series.c.id, metric_series.c.series_key).where(
                    metric_series.c.series_key.in_(chunk)
                )
            )
            for row in found:
                self._ids[row.series_key] = int(row.id)


async def insert_points(conn: AsyncConnection, series_ids: Sequence[int], batch: PointBatch) -> int:
    """Insert points, skipping (series, ts) pairs already stored; returns how many were new."""
    if not len(batch):
        return 0
    ids = [series_ids[i] for i in batch.series_index]
    stamps = [round(t * 1000) for t in batch.ts]
    if conn.dialect.name == "postgresql":
        # One statement with three array parameters: an order of magnitude faster than executemany.
        result = await conn.execute(
            _UNNEST_INSERT, {"series_ids": ids, "stamps": stamps, "vals": batch.values}
        )
    else:
        rows = [
            {"series_id": s, "ts": t, "value": v} for s, t, v in zip(ids, stamps, batch.values, strict=True)
        ]
        result = await conn.execute(insert_ignoring_conflicts(conn, metric_points, ["series_id", "ts"]), rows)
    return max(result.rowcount, 0)


_UNNEST_INSERT = text(
    "INSERT INTO metric_points (series_id, ts, value) "
    "SELECT * FROM unnest(:series_ids, :stamps, :vals) "
    "ON CONFLICT (series_id, ts) DO NOTHING"
).bindparams(
    bindparam("series_ids", type_=ARRAY(BigInteger)),
    bindparam("stamps", type_=ARRAY(BigInteger)),
    bindparam("vals", type_=ARRAY(Float)),
)
