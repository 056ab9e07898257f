"""Rollups in the database: raw points → 5 min → 1 h → 1 day, pruning, and the one-replica lock.

A run recomputes whole buckets only once they are complete, each from the next finer level, and
overwrites the stored row; re-running therefore never double counts. A 5-minute bucket is complete
once every point stamped in it is stored or recorded as late, `RollupConfig.lateness` (2 min) after
it ends; an hour once its twelve 5-minute buckets are, a day once its hours are. A level's
watermark is the end of its last complete bucket, so each periodic run reads only the buckets
closed since the last one: its cost follows the rate points arrive at, once each, not history
(queries read the still-open stretch from raw points; see `engine.rollup.plan`).
A late point re-rolls its bucket: the ingest path records each batch holding points stamped more
than `LATE_AFTER` before it is stored (every imported batch) in `rollup_late_points`, and the next
run also recomputes the buckets of the stretch each such batch spans (the 5 min level only as far
back as raw points are kept whole, `Retention.raw`; older history needs `nocbot rollup --since`),
the coarser levels following. Work goes in small transactions (a chunk of series × a window of
time) so a long backfill holds no lock for long; the watermark moves only once a level is done, and
the late-point rows used are deleted with the last level's watermark, so a crash just repeats work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Float, LargeBinary, Row, Table, bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import TextClause

from engine.clock import Clock
from engine.rollup.buckets import BucketRows, Floats, Ints, merge_buckets, summarize_points
from engine.rollup.levels import LEVELS, ROLLUP_LEVELS, Level, RollupConfig, ms
from engine.rollup.spans import Span, bucket_spans
from engine.storage import point_copy
from engine.storage.schema import (
    metric_points,
    metric_series,
    rollup_1d,
    rollup_1h,
    rollup_5m,
    rollup_late_points,
    rollup_state,
)
from engine.storage.types import to_epoch_us
from engine.storage.upsert import insert_or_update

log = logging.getLogger("nocbot.rollup")
DEFAULT_CONFIG = RollupConfig()

TABLES: dict[Level, Table] = {Level.M5: rollup_5m, Level.H1: rollup_1h, Level.D1: rollup_1d}
# any constant works as long as nothing else in the database uses it: "nocbot" in ASCII
LOCK_KEY = 0x6E6F63626F74

# The service's rollup works at most this share of the time, resting between chunks: a completed
# 5-minute bucket at 100,000 points/s is 30 million points, ~35 s of work at full speed (more while
# ingestion runs), and on a 2-core machine a 300 s run's ingestion p99 was 90 ms with it flat out,
# 48 and 67 ms with it paced (README, Performance). At a quarter a full bucket takes ~140 s of the
# 300 s before the next one completes. `nocbot rollup` (a backfill) works flat out.
SERVICE_DUTY = 0.25
# ... and reads 25 series at a time: at 100,000 points/s a bucket of 200 series is 600,000 points,
# about half a second of both cores (PostgreSQL reading, this process summarizing) that requests
# then waited behind; 25 series are an eighth of that (README, Performance)
SERVICE_SERIES_AT_ONCE = 25
_SERIES_CHUNK = 200
# Rows read per transaction: windows of time grow while reads stay well below this and shrink when
# above, so sparse history is swept in a few large steps and dense recent data in small ones.
_ROW_BUDGET = 400_000
_FIRST_WINDOW = {Level.M5: 6 * 3_600_000, Level.H1: 7 * 86_400_000, Level.D1: 90 * 86_400_000}
_LONGEST_WINDOW = 400 * 86_400_000


@dataclass
class RollupReport:
    rows_written: dict[str, int] = field(default_factory=dict)  # level label → rows upserted
    # level label → start of the earliest bucket recomputed (absent: none was, nothing had closed)
    recomputed_from: dict[str, datetime] = field(default_factory=dict)
    # level label → every bucket before this is stored: the level's new watermark
    complete_until: dict[str, datetime] = field(default_factory=dict)
    late_batches: int = 0  # rows of rollup_late_points taken into account (and deleted)


@dataclass
class PruneReport:
    rows_deleted: dict[str, int] = field(default_factory=dict)  # level label → rows deleted


async def read_watermarks(conn: AsyncConnection) -> dict[Level, int]:
    """Each rolled-up level's watermark in epoch ms (a level never rolled up is absent)."""
    by_label = {level.label: level for level in ROLLUP_LEVELS}
    rows = await conn.execute(select(rollup_state.c.level, rollup_state.c.watermark))
    return {by_label[row.level]: int(row.watermark) for row in rows if row.level in by_label}


async def roll_up(
    conn: AsyncConnection,
    now: datetime,
    config: RollupConfig = DEFAULT_CONFIG,
    since: datetime | None = None,
    *,
    duty: float = 1.0,
    series_at_once: int = _SERIES_CHUNK,
) -> RollupReport:
    """Roll every level up to its last bucket complete at `now`; `since` forces a recompute from then.

    `conn` must not be inside a transaction: this opens its own, one per chunk of work. `duty` (0–1]:
    the share of the time to work, resting between chunks the rest of it (see `SERVICE_DUTY`).
    """
    if not 0 < duty <= 1:
        raise ValueError(f"duty must be in (0, 1], not {duty}")
    now_ms = to_epoch_us(now) // 1000
    lateness = ms(config.lateness)
    async with conn.begin():
        watermarks = await read_watermarks(conn)
        series_ids = [
            int(i) for i in (await conn.execute(select(metric_series.c.id).order_by("id"))).scalars()
        ]
        late = (await conn.execute(select(rollup_late_points))).all()
    report = RollupReport(late_batches=len(late))
    # every point stamped before this is stored by now or recorded as late (RollupConfig.lateness)
    complete = now_ms - lateness
    # stretches of the source level changed behind the watermark: forced, or late points
    dirty: list[Span] = [] if since is None else [(to_epoch_us(since) // 1000, complete)]
    dirty += _late_spans(late, now_ms, config)
    for level in ROLLUP_LEVELS:
        mark = watermarks.get(level)
        if mark is None:
            async with conn.begin():
                oldest = await _oldest_source_ms(conn, level.source)
                if oldest is None:
                    # nothing stored yet: leave every level "never rolled up"; a first run starts
                    # from the oldest point anyway, so the late rows are of no use
                    await _forget_late(conn, late)
                    return report
            start = oldest
        elif level.aligned(mark):
            start = mark
        else:
            start = mark - lateness  # written by a version that also rolled up open buckets
        until = level.floor(complete)
        if mark is not None and level.aligned(mark):
            # a run with an earlier `now` (another replica's clock) keeps the watermark, and still
            # re-rolls the late points of the buckets up to it
            until = max(until, mark)
        spans = bucket_spans(level, [(start, until), *dirty], until)
        written = 0
        for span_start, span_end in spans:
            written += await _recompute(
                conn, level, series_ids, span_start, span_end, duty=duty, series_at_once=series_at_once
            )
        report.rows_written[level.label] = written
        if spans:
            report.recomputed_from[level.label] = _datetime(spans[0][0], now)
        report.complete_until[level.label] = _datetime(until, now)
        async with conn.begin():
            await conn.execute(
                insert_or_update(conn, rollup_state, ["level"], ["watermark", "updated_at"]),
                {"level": level.label, "watermark": until, "updated_at": now},
            )
            if level is ROLLUP_LEVELS[-1]:
                await _forget_late(conn, late)
        # the coarser level is complete only as far as this one, and re-rolls what this one changed
        complete, dirty = until, spans
    return report


def _datetime(epoch_ms: int, like: datetime) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=like.tzinfo)


def _late_spans(late: Sequence[Row[Any]], now_ms: int, config: RollupConfig) -> list[Span]:
    """The raw stretches late points fell in, where their 5-minute buckets may be recomputed.

    A bucket is recomputed only where its source rows are all still stored: pruning deletes raw
    points older than their retention, so a late point older than that must not replace a bucket by
    itself; such points are left to `rollup --since` and retention.
    """
    whole_from = Level.M5.floor(now_ms - ms(config.retention.of(Level.RAW)))
    return [
        (max(int(row.earliest), whole_from), int(row.latest) + 1)
        for row in late
        if int(row.latest) >= whole_from
    ]


async def _forget_late(conn: AsyncConnection, late: Sequence[Row[Any]]) -> None:
    """Delete the late-point rows this run used (by id: rows recorded meanwhile stay for the next)."""
    ids = [int(row.id) for row in late]
    for start in range(0, len(ids), 1000):
        await conn.execute(
            delete(rollup_late_points).where(rollup_late_points.c.id.in_(ids[start : start + 1000]))
        )


async def prune(conn: AsyncConnection, now: datetime, config: RollupConfig = DEFAULT_CONFIG) -> PruneReport:
    """Delete what each level's retention no longer keeps, but never rows not yet rolled up.

    A level's cutoff is rounded down to the next level's bucket width, so every bucket the next
    level may still recompute keeps all of its source rows.
    """
    now_ms = to_epoch_us(now) // 1000
    lateness = ms(config.lateness)
    report = PruneReport()
    async with conn.begin():
        watermarks = await read_watermarks(conn)
    for position, level in enumerate(LEVELS):
        cutoff = now_ms - ms(config.retention.of(level))
        if position + 1 < len(LEVELS):
            coarser = LEVELS[position + 1]
            mark = watermarks.get(coarser)
            if mark is None:
                report.rows_deleted[level.label] = 0
                continue
            cutoff = coarser.floor(min(cutoff, mark - lateness))
        async with conn.begin():
            report.rows_deleted[level.label] = await _delete_before(conn, level, cutoff)
    return report


@asynccontextmanager
async def rollup_lock(engine: AsyncEngine) -> AsyncIterator[AsyncConnection | None]:
    """A connection holding the rollup lock, or None when another replica holds it.

    PostgreSQL: a session advisory lock (released when this exits, or when the connection dies).
    SQLite allows one writer at a time, which is all the mutual exclusion the rollup needs.
    """
    async with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            yield conn
            return
        acquired = bool(await conn.scalar(select(func.pg_try_advisory_lock(LOCK_KEY))))
        await conn.commit()
        if not acquired:
            yield None
            return
        try:
            yield conn
        finally:
            if conn.in_transaction():
                await conn.rollback()
            await conn.execute(select(func.pg_advisory_unlock(LOCK_KEY)))
            await conn.commit()


async def run_rollups(
    engine: AsyncEngine,
    clock: Clock,
    config: RollupConfig = DEFAULT_CONFIG,
    *,
    every: timedelta = timedelta(minutes=1),
    prune_every: timedelta = timedelta(hours=1),
    stop: asyncio.Event | None = None,
) -> None:
    """The service's rollup loop: roll up every `every`, prune every `prune_every`, until `stop`.

    Every replica may run it; the lock lets one work at a time. A database error is logged and the
    next tick tries again, so a restart of the database does not stop rollups for good.
    """
    stop = stop or asyncio.Event()
    last_prune: datetime | None = None
    while not stop.is_set():
        try:
            async with rollup_lock(engine) as conn:
                if conn is not None:
                    now = clock.now()
                    report = await roll_up(
                        conn, now, config, duty=SERVICE_DUTY, series_at_once=SERVICE_SERIES_AT_ONCE
                    )
                    log.debug("rollup done", extra={"rows": report.rows_written})
                    if last_prune is None or now - last_prune >= prune_every:
                        pruned = await prune(conn, now, config)
                        last_prune = now
                        log.info("rollup prune done", extra={"deleted": pruned.rows_deleted})
        except (SQLAlchemyError, OSError) as exc:
            log.warning("rollup failed; retrying next tick", extra={"error": str(exc).splitlines()[0]})
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every.total_seconds())


def rest_after(busy: float, duty: float) -> float:
    """Seconds to rest after `busy` seconds of work so that work takes `duty` of the time."""
    return busy * (1 / duty - 1)


async def _recompute(
    conn: AsyncConnection,
    level: Level,
    series_ids: Sequence[int],
    start: int,
    end: int,
    *,
    duty: float = 1.0,
    series_at_once: int = _SERIES_CHUNK,
) -> int:
    """Recompute `level`'s buckets in [start, end) (both aligned to it) from the finer level."""
    written = 0
    for chunk_start in range(0, len(series_ids), series_at_once):
        chunk = series_ids[chunk_start : chunk_start + series_at_once]
        window, window_start = _FIRST_WINDOW[level], start
        while window_start < end:
            window_end = min(window_start + window, end)
            began = time.perf_counter()
            async with conn.begin():
                source = await _read_source(conn, level.source, chunk, window_start, window_end)
                # up to _ROW_BUDGET rows of numpy work: in a thread, so requests are served meanwhile
                # (the sorts and reductions release the GIL: they run on another core)
                if isinstance(source, tuple):
                    rows, read = await asyncio.to_thread(summarize_points, *source, level), len(source[0])
                else:
                    rows, read = await asyncio.to_thread(merge_buckets, source, level), len(source)
                written += await _upsert(conn, TABLES[level], rows)
            if duty < 1:
                await asyncio.sleep(rest_after(time.perf_counter() - began, duty))
            window_start = window_end
            # windows stay whole multiples of the level's buckets, so no bucket spans two windows
            if read < _ROW_BUDGET // 4:
                window = min(window * 2, _LONGEST_WINDOW)
            elif read > _ROW_BUDGET and window > 12 * level.width_ms:
                window = max(12 * level.width_ms, level.floor(window // 2))
    return written


async def _read_source(
    conn: AsyncConnection, level: Level, series: Sequence[int], start: int, end: int
) -> tuple[Ints, Ints, Floats] | BucketRows:
    if level is Level.RAW:
        if conn.dialect.name == "postgresql":
            return await _copy_raw(conn, series, start, end)
        p = metric_points.c
        query = select(p.series_id, p.ts, p.value).where(p.series_id.in_(series), p.ts >= start, p.ts < end)
        rows = (await conn.execute(query)).all()
        columns = list(zip(*rows, strict=True)) if rows else [(), (), ()]
        return (
            np.array(columns[0], dtype=np.int64),
            np.array(columns[1], dtype=np.int64),
            np.array(columns[2], dtype=np.float64),
        )
    c = TABLES[level].c
    bucket_query = select(c.series_id, c.bucket, c.count, c.sum, c.min, c.max, c.sketch).where(
        c.series_id.in_(series), c.bucket >= start // 1000, c.bucket < end // 1000
    )
    found = (await conn.execute(bucket_query)).all()
    # positional: a Row's `.count` is tuple.count, not the column
    series_id, bucket, count, total, low, high, sketch = zip(*found, strict=True) if found else [()] * 7
    return BucketRows(
        series_id=np.array(series_id, dtype=np.int64),
        bucket=np.array(bucket, dtype=np.int64),
        count=np.array(count, dtype=np.int64),
        sum=np.array(total, dtype=np.float64),
        min=np.array(low, dtype=np.float64),
        max=np.array(high, dtype=np.float64),
        sketch=[bytes(s) for s in sketch],
    )


_COPY_RAW = (  # asyncpg runs it as COPY (...) TO STDOUT
    "SELECT series_id, ts, value FROM metric_points "
    "WHERE series_id = ANY($1::bigint[]) AND ts >= $2 AND ts < $3"
)


async def _copy_raw(
    conn: AsyncConnection, series: Sequence[int], start: int, end: int
) -> tuple[Ints, Ints, Floats]:
    """Raw points by binary COPY into numpy: about 10 times cheaper for this process than rows."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the database connection is closed")
    chunks: list[bytes] = []

    async def keep(chunk: bytes) -> None:
        chunks.append(bytes(chunk))

    await driver.copy_from_query(_COPY_RAW, list(series), start, end, output=keep, format="binary")
    return point_copy.decode(b"".join(chunks))


async def _upsert(conn: AsyncConnection, table: Table, rows: BucketRows) -> int:
    if not len(rows):
        return 0
    if conn.dialect.name == "postgresql":
        # one statement with array parameters: an order of magnitude faster than executemany
        await conn.execute(
            _unnest_upsert(table.name),
            {
                "series_ids": rows.series_id.tolist(),
                "buckets": rows.bucket.tolist(),
                "counts": rows.count.tolist(),
                "sums": rows.sum.tolist(),
                "mins": rows.min.tolist(),
                "maxs": rows.max.tolist(),
                "sketches": rows.sketch,
            },
        )
    else:
        # the driver's executemany with plain tuples: SQLAlchemy's per-row parameter handling would
        # cost more than SQLite spends storing the rows
        await conn.exec_driver_sql(_sqlite_upsert(table.name), list(rows.tuples()))
    return len(rows)


def _sqlite_upsert(table_name: str) -> str:
    # table_name comes from TABLES, never from input
    return (
        f"INSERT INTO {table_name} (series_id, bucket, count, sum, min, max, sketch) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_id, bucket) DO UPDATE SET "
        "count = excluded.count, sum = excluded.sum, min = excluded.min, max = excluded.max, "
        "sketch = excluded.sketch"
    )


def _unnest_upsert(table_name: str) -> TextClause:
    # table_name comes from TABLES, never from input
    return text(
        f"INSERT INTO {table_name} (series_id, bucket, count, sum, min, max, sketch) "  # noqa: S608
        "SELECT * FROM unnest(:series_ids, :buckets, :counts, :sums, :mins, :maxs, :sketches) "
        "ON CONFLICT (series_id, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum, "
        "min = excluded.min, max = excluded.max, sketch = excluded.sketch"
    ).bindparams(
        bindparam("series_ids", type_=ARRAY(BigInteger)),
        bindparam("buckets", type_=ARRAY(BigInteger)),
        bindparam("counts", type_=ARRAY(BigInteger)),
        bindparam("sums", type_=ARRAY(Float)),
        bindparam("mins", type_=ARRAY(Float)),
        bindparam("maxs", type_=ARRAY(Float)),
        bindparam("sketches", type_=ARRAY(LargeBinary)),
    )


async def _oldest_source_ms(conn: AsyncConnection, level: Level) -> int | None:
    if level is Level.RAW:
        # each series' first point through the (series, ts) key: min(ts) over the table would read
        # every point (on PostgreSQL a parallel scan that took both cores from ingestion for 0.3 s
        # at 5 million points, in the first run after the service starts on a fresh database)
        first = (
            select(metric_points.c.ts)
            .where(metric_points.c.series_id == metric_series.c.id)
            .order_by(metric_points.c.ts)
            .limit(1)
            .scalar_subquery()
        )
        oldest = await conn.scalar(select(func.min(first)).select_from(metric_series))
        return None if oldest is None else int(oldest)
    oldest = await conn.scalar(select(func.min(TABLES[level].c.bucket)))
    return None if oldest is None else int(oldest) * 1000


async def _delete_before(conn: AsyncConnection, level: Level, cutoff_ms: int) -> int:
    if level is not Level.RAW:
        table = TABLES[level]
        result = await conn.execute(delete(table).where(table.c.bucket < cutoff_ms // 1000))
        return max(result.rowcount, 0)
    # metric_points is indexed by (series, ts) only: delete series by series to use that index
    series_ids = [int(i) for i in (await conn.execute(select(metric_series.c.id))).scalars()]
    deleted = 0
    for start in range(0, len(series_ids), _SERIES_CHUNK):
        chunk = series_ids[start : start + _SERIES_CHUNK]
        result = await conn.execute(
            delete(metric_points).where(metric_points.c.series_id.in_(chunk), metric_points.c.ts < cutoff_ms)
        )
        deleted += max(result.rowcount, 0)
    return deleted
