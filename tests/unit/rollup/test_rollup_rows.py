"""Rollups in the database, on both backends: exact totals of complete buckets, idempotent runs,
late points, pruning, lock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.clock import FixedClock
from engine.models import MetricPoint, PointBatch
from engine.rollup.levels import Level, Retention, RollupConfig
from engine.storage import migrate, rollup_rows
from engine.storage.database import open_engine
from engine.storage.metric_rows import insert_points, late_threshold
from engine.storage.rollup_rows import (
    TABLES,
    prune,
    read_watermarks,
    roll_up,
    rollup_lock,
    run_rollups,
)
from engine.storage.schema import metric_points, rollup_late_points, rollup_state
from engine.storage.store import Store

NOW = datetime(2026, 4, 8, 10, 0, tzinfo=UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    opened = open_engine(database_url)
    await migrate.upgrade(opened)
    yield opened
    await opened.dispose()


async def add_points(
    engine: AsyncEngine, start: datetime, hours: float, every_s: int = 30
) -> list[MetricPoint]:
    rng = np.random.default_rng(int(start.timestamp()) % 1000)
    points = [
        MetricPoint(
            "cpu_usage", {"host": host}, start.timestamp() + i * every_s + 0.25, float(rng.normal(50, 9))
        )
        for host in ("web-1", "web-2")
        for i in range(int(hours * 3600 / every_s))
    ]
    await Store(engine).ingest_points(PointBatch.from_points(points), NOW)
    return points


async def totals(engine: AsyncEngine) -> dict[str, tuple[int, float]]:
    async with engine.connect() as conn:
        found = {
            "raw": tuple((await conn.execute(select(func.count(), func.sum(metric_points.c.value)))).one())
        }
        for level, table in TABLES.items():
            row = (await conn.execute(select(func.sum(table.c.count), func.sum(table.c.sum)))).one()
            found[level.label] = (int(row[0] or 0), float(row[1] or 0.0))
    return {k: (int(v[0]), round(float(v[1] or 0.0), 6)) for k, v in found.items()}


async def check_complete_levels(engine: AsyncEngine) -> dict[str, tuple[int, float]]:
    """Each level holds exactly the raw points before its watermark, and nothing after it."""
    async with engine.connect() as conn:
        marks = await read_watermarks(conn)
        found: dict[str, tuple[int, float]] = {}
        for level, table in TABLES.items():
            mark = marks.get(level, 0)
            raw = (
                await conn.execute(
                    select(func.count(), func.sum(metric_points.c.value)).where(metric_points.c.ts < mark)
                )
            ).one()
            rolled = (await conn.execute(select(func.sum(table.c.count), func.sum(table.c.sum)))).one()
            assert (int(rolled[0] or 0), round(float(rolled[1] or 0.0), 6)) == (
                int(raw[0]),
                round(float(raw[1] or 0.0), 6),
            ), level
            assert await conn.scalar(select(func.count()).where(table.c.bucket >= mark // 1000)) == 0
            found[level.label] = (int(raw[0]), round(float(raw[1] or 0.0), 6))
    return found


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[object, ...]]]:
    async with engine.connect() as conn:
        return {
            level.label: [
                tuple(r)
                for r in await conn.execute(select(table).order_by(table.c.series_id, table.c.bucket))
            ]
            for level, table in TABLES.items()
        }


async def run_rollup(engine: AsyncEngine, at: datetime) -> rollup_rows.RollupReport:
    async with rollup_lock(engine) as conn:
        assert conn is not None
        return await roll_up(conn, at)


async def test_every_level_counts_every_point_of_its_complete_buckets_once(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(hours=30), 30)
    report = await run_rollup(engine, NOW)
    # a 5-minute bucket is complete 2 minutes after it ends; an hour or a day once all of it is
    assert report.complete_until == {
        "5m": NOW - timedelta(minutes=5),
        "1h": NOW - timedelta(hours=1),
        "1d": datetime(2026, 4, 8, tzinfo=UTC),
    }
    by_level = await check_complete_levels(engine)
    assert by_level["5m"][0] == 2 * (30 * 120 - 10)  # all but the open bucket's 10 points a host
    await run_rollup(engine, NOW + timedelta(days=1))
    found = await totals(engine)
    assert found["5m"] == found["1h"] == found["1d"] == found["raw"]
    assert found["raw"][0] == 2 * 30 * 120


async def paced_run_rests(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch, **paced: Any) -> list[float]:
    """Roll up again from nothing with `roll_up(..., **paced)`: the rests it took (none slept), after
    checking it wrote what the run before it wrote."""
    before = await snapshot(engine)
    async with engine.begin() as conn:
        for table in TABLES.values():
            await conn.execute(table.delete())
        await conn.execute(rollup_state.delete())
    rests: list[float] = []
    sleep = asyncio.sleep

    async def recorded(seconds: float) -> None:
        rests.append(seconds)
        await sleep(0)

    with monkeypatch.context() as patched:
        patched.setattr(rollup_rows.asyncio, "sleep", recorded)
        async with rollup_lock(engine) as conn:
            assert conn is not None
            await roll_up(conn, NOW, **paced)
    assert await snapshot(engine) == before
    return rests


async def test_a_paced_run_rests_between_chunks_and_rolls_up_the_same(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's rollup works a share of the time (`duty`), so a large bucket does not hold
    ingestion up while it is read; what it writes is what a full-speed run writes."""
    await add_points(engine, NOW - timedelta(hours=30), 30)
    await run_rollup(engine, NOW)
    rests = await paced_run_rests(engine, monkeypatch, duty=0.25)
    assert len(rests) >= 3 and all(r > 0 for r in rests)  # after each chunk, one for each level


async def test_a_run_a_series_at_a_time_rests_after_each_and_rolls_up_the_same(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service reads a few series at a time (`series_at_once`): shorter pieces of work, each
    followed by its rest, so that no piece holds both cores for long."""
    await add_points(engine, NOW - timedelta(hours=30), 30)
    await run_rollup(engine, NOW)
    together = await paced_run_rests(engine, monkeypatch, duty=0.25, series_at_once=200)
    one_at_a_time = await paced_run_rests(engine, monkeypatch, duty=0.25, series_at_once=1)
    assert len(one_at_a_time) == 2 * len(together)  # two series: each piece is read series by series


def test_rest_is_what_makes_work_its_share_of_the_time() -> None:
    assert rollup_rows.rest_after(0.2, 0.25) == pytest.approx(0.6)
    assert rollup_rows.rest_after(0.2, 1.0) == 0
    assert rollup_rows.rest_after(0.1, 0.5) == pytest.approx(0.1)


async def test_running_again_changes_nothing(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(hours=6), 6)
    await run_rollup(engine, NOW)
    first = await snapshot(engine)
    await run_rollup(engine, NOW)
    assert await snapshot(engine) == first
    await run_rollup(engine, NOW + timedelta(minutes=3))  # completes the 9:55 bucket
    second = await snapshot(engine)
    assert len(second["5m"]) == len(first["5m"]) + 2
    await run_rollup(engine, NOW + timedelta(minutes=3))
    await run_rollup(engine, NOW + timedelta(minutes=4))  # completes nothing more
    assert await snapshot(engine) == second


async def test_a_late_point_re_rolls_its_bucket(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(hours=3), 3)
    await run_rollup(engine, NOW)
    late = MetricPoint(
        "cpu_usage", {"host": "web-1"}, (NOW - timedelta(minutes=20)).timestamp() + 0.5, 1000.0
    )
    await Store(engine).ingest_points(PointBatch.from_points([late]), NOW)
    await run_rollup(engine, NOW + timedelta(minutes=1))
    await check_complete_levels(engine)
    async with engine.connect() as conn:
        peak = await conn.scalar(select(func.max(TABLES[Level.M5].c.max)))
    assert peak == 1000.0


async def test_recompute_since_picks_up_an_old_import(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(hours=2), 2)
    await run_rollup(engine, NOW)
    await add_points(engine, NOW - timedelta(days=5), 1)  # imported history, far behind the watermark
    assert (await totals(engine))["1h"] != (await totals(engine))["raw"]
    async with rollup_lock(engine) as conn:
        assert conn is not None
        await roll_up(conn, NOW, since=NOW - timedelta(days=6))
    found = await check_complete_levels(engine)
    assert found["1d"][0] == 2 * 120  # the imported hour, complete in every level


async def test_nothing_stored_means_nothing_rolled_up(engine: AsyncEngine) -> None:
    async with rollup_lock(engine) as conn:
        assert conn is not None
        report = await roll_up(conn, NOW)
        assert report.rows_written == {}
        async with conn.begin():
            assert await read_watermarks(conn) == {}


async def test_prune_applies_retention_but_keeps_what_is_not_rolled_up(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(days=3), 72, every_s=300)
    config = RollupConfig(Retention(raw=timedelta(hours=48), m5=timedelta(days=2), h1=timedelta(days=90)))
    async with rollup_lock(engine) as conn:
        assert conn is not None
        # before any rollup nothing may go: raw points are the only copy
        assert set((await prune(conn, NOW, config)).rows_deleted.values()) == {0}
        await roll_up(conn, NOW, config)
        pruned = await prune(conn, NOW, config)
    assert pruned.rows_deleted["raw"] > 0 and pruned.rows_deleted["5m"] > 0 and pruned.rows_deleted["1h"] == 0
    async with engine.connect() as conn:
        oldest_raw = await conn.scalar(select(func.min(metric_points.c.ts)))
        oldest_5m = await conn.scalar(select(func.min(TABLES[Level.M5].c.bucket)))
    assert oldest_raw >= (NOW - timedelta(hours=48, minutes=5)).timestamp() * 1000
    assert oldest_5m >= (NOW - timedelta(days=2, hours=1)).timestamp()
    # the coarser levels still hold every point of their complete buckets: 71 h and 62 h of them
    found = await totals(engine)
    assert (found["1h"][0], found["1d"][0]) == (2 * 71 * 12, 2 * 62 * 12)


async def test_one_replica_at_a_time(engine: AsyncEngine, database_url: str) -> None:
    other = open_engine(database_url)
    try:
        async with rollup_lock(engine) as first:
            assert first is not None
            async with rollup_lock(other) as second:
                if engine.dialect.name == "postgresql":
                    assert second is None
                else:
                    assert second is not None  # SQLite: its single writer is the lock
        async with rollup_lock(other) as after:
            assert after is not None
    finally:
        await other.dispose()


async def test_the_service_loop_rolls_up_until_stopped(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(hours=1), 1)
    stop = asyncio.Event()
    loop = asyncio.create_task(
        run_rollups(engine, FixedClock(NOW + timedelta(days=1)), every=timedelta(milliseconds=50), stop=stop)
    )
    for _ in range(200):
        if (await totals(engine))["1d"][0]:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(loop, timeout=10)
    found = await totals(engine)
    assert found["1d"] == found["raw"]


async def feed(engine: AsyncEngine, points: list[MetricPoint], now: datetime) -> None:
    """Store points as the live ingest path does: those stamped well before `now` are recorded late."""
    batch = PointBatch.from_points(points)
    store = Store(engine)
    async with store.transaction() as conn:
        series_ids = await store.series.resolve(conn, batch.series, now)
        await insert_points(conn, series_ids, batch, late_before=late_threshold(now))


async def late_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(rollup_late_points)) or 0)


def cpu(at: datetime, value: float, host: str = "web-1") -> MetricPoint:
    return MetricPoint("cpu_usage", {"host": host}, at.timestamp() + 0.5, value)


async def test_a_periodic_run_reads_only_the_buckets_completed_since_the_last(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(hours=3), 3)
    await run_rollup(engine, NOW)
    await feed(engine, [cpu(NOW + timedelta(seconds=30), 70.0)], NOW + timedelta(seconds=31))
    assert await late_rows(engine) == 0  # a live batch records nothing
    # at 10:01 the 9:55 bucket may still receive points: nothing has completed since 10:00's run
    report = await run_rollup(engine, NOW + timedelta(minutes=1))
    assert report.recomputed_from == {} and set(report.rows_written.values()) == {0}
    # at 10:07 the 9:55 and 10:00 buckets have, not the last hour
    report = await run_rollup(engine, NOW + timedelta(minutes=7))
    assert report.recomputed_from == {"5m": NOW - timedelta(minutes=5), "1h": NOW - timedelta(hours=1)}
    assert report.rows_written["5m"] == 3  # web-1 and web-2 at 9:55, web-1 at 10:00
    assert report.late_batches == 0
    found = await check_complete_levels(engine)
    assert found["5m"] == (await totals(engine))["raw"]


async def test_a_watermark_of_a_version_that_rolled_open_buckets_is_re_read_from_its_margin(
    engine: AsyncEngine,
) -> None:
    await add_points(engine, NOW - timedelta(hours=1), 1)
    await run_rollup(engine, NOW)
    # earlier versions also rolled the open bucket and set the watermark to the run's time: at 10:01
    # the 9:55 bucket was written, and a point stamped 9:59:55 and stored 55 s later was not in it
    async with engine.begin() as conn:
        await conn.execute(
            rollup_state.update()
            .where(rollup_state.c.level == "5m")
            .values(watermark=int((NOW + timedelta(minutes=1)).timestamp() * 1000))
        )
    await feed(engine, [cpu(NOW - timedelta(seconds=5), 500.0)], NOW + timedelta(seconds=50))
    report = await run_rollup(engine, NOW + timedelta(minutes=7))
    assert report.recomputed_from["5m"] == NOW - timedelta(minutes=5)
    found = await check_complete_levels(engine)
    assert found["5m"] == (await totals(engine))["raw"]


async def test_a_point_hours_late_is_recorded_and_re_rolls_its_bucket(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(hours=6), 6)
    await run_rollup(engine, NOW)
    stored_at = NOW + timedelta(seconds=40)
    await feed(
        engine, [cpu(NOW - timedelta(hours=5), 1000.0), cpu(NOW + timedelta(seconds=30), 1.0)], stored_at
    )
    await feed(engine, [cpu(NOW + timedelta(seconds=35), 2.0, host="web-2")], stored_at)
    assert await late_rows(engine) == 1  # only the batch holding the late point
    async with rollup_lock(engine) as conn:
        assert conn is not None
        report = await roll_up(conn, NOW + timedelta(minutes=1))
    assert report.late_batches == 1
    assert report.recomputed_from["5m"] == NOW - timedelta(hours=5)
    assert report.recomputed_from["1h"] == NOW - timedelta(hours=5)
    assert "1d" not in report.recomputed_from  # today is not complete
    assert await late_rows(engine) == 0  # used, so cleared
    await check_complete_levels(engine)
    async with engine.connect() as conn:
        peak = await conn.scalar(select(func.max(TABLES[Level.M5].c.max)))
    assert peak == 1000.0
    async with rollup_lock(engine) as conn:  # the next run is back to the recent window
        assert conn is not None
        report = await roll_up(conn, NOW + timedelta(minutes=2))
    assert report.recomputed_from["5m"] == NOW - timedelta(minutes=5)


async def test_a_run_on_a_clock_behind_the_watermark_still_re_rolls_late_points(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(hours=1), 1)
    await run_rollup(engine, NOW + timedelta(minutes=7))  # the 5-minute level is complete to 10:05
    await feed(engine, [cpu(NOW + timedelta(minutes=1), 800.0)], NOW + timedelta(minutes=7))
    assert await late_rows(engine) == 1
    # another replica, its clock a minute behind: 10:00–10:05 is complete by the watermark, not by
    # its own clock, and the late point's bucket there is re-rolled all the same
    report = await run_rollup(engine, NOW + timedelta(minutes=6))
    assert report.complete_until["5m"] == NOW + timedelta(minutes=5)
    assert report.recomputed_from["5m"] == NOW
    assert await late_rows(engine) == 0
    found = await check_complete_levels(engine)
    assert found["5m"] == (await totals(engine))["raw"]


async def test_late_points_older_than_whole_raw_buckets_are_left_to_since(engine: AsyncEngine) -> None:
    await add_points(engine, NOW - timedelta(hours=2), 2)
    await run_rollup(engine, NOW)
    before = await snapshot(engine)
    # raw points are kept 48 h: a 5-minute bucket older than that may have lost its raw points to
    # pruning, and must not be replaced by the late point alone
    await feed(engine, [cpu(NOW - timedelta(days=3), 1000.0)], NOW)
    assert await late_rows(engine) == 1
    async with rollup_lock(engine) as conn:
        assert conn is not None
        report = await roll_up(conn, NOW + timedelta(minutes=1))
    assert report.recomputed_from == {}
    assert await late_rows(engine) == 0
    assert await snapshot(engine) == before


async def test_a_run_that_fails_keeps_the_late_points_for_the_next(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_points(engine, NOW - timedelta(hours=3), 3)
    await run_rollup(engine, NOW)
    await feed(engine, [cpu(NOW - timedelta(hours=2), 1000.0)], NOW)
    original = rollup_rows._recompute

    async def crash_at_1h(conn: AsyncConnection, level: Level, *args: Any, **kwargs: Any) -> int:
        if level is Level.H1:
            raise OSError("killed")
        return await original(conn, level, *args, **kwargs)

    monkeypatch.setattr(rollup_rows, "_recompute", crash_at_1h)
    with pytest.raises(OSError):
        await run_rollup(engine, NOW + timedelta(minutes=1))
    assert await late_rows(engine) == 1
    monkeypatch.setattr(rollup_rows, "_recompute", original)
    async with rollup_lock(engine) as conn:
        assert conn is not None
        report = await roll_up(conn, NOW + timedelta(minutes=2))
    assert report.recomputed_from["1h"] == NOW - timedelta(hours=2)
    assert await late_rows(engine) == 0
    await check_complete_levels(engine)
