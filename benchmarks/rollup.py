"""Rollup benchmark: throughput, stored bytes per level against raw points, quantile accuracy.

Generates raw points (default: 100 series × 2 days every 10 s = 1.7 M points) into a fresh
PostgreSQL database, rolls them up, and reports

* rollup throughput (points/s),
* table + index bytes of each level against the raw points of the same span, and what keeping
  raw points for two years would cost against the default retention (5m 14 d, 1h 90 d, 1d 2 y),
* p95 (and p50, p99) from the rollups through `nlq.answer` against numpy over the raw values.

    python benchmarks/rollup.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/nocbot_rollup_bench
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url

# Run as a script, benchmarks/nlq.py next to this file would shadow the nlq package: search the
# project root instead of the script's directory.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from engine.models import PointBatch, SeriesRef  # noqa: E402
from engine.rollup.levels import Retention  # noqa: E402
from engine.storage import migrate  # noqa: E402
from engine.storage.database import open_engine  # noqa: E402
from engine.storage.rollup_rows import roll_up, rollup_lock  # noqa: E402
from engine.storage.store import Store  # noqa: E402
from nlq.answer import answer  # noqa: E402

NOW = datetime(2026, 4, 8, 0, 0, tzinfo=UTC)
TABLES = ("metric_points", "rollup_5m", "rollup_1h", "rollup_1d")


def generate(
    series: int, days: int, every_s: int
) -> tuple[list[SeriesRef], np.ndarray, np.ndarray, np.ndarray]:
    """Columns (series index, ts seconds, value) of cpu-like series: daily cycle, noise, spikes."""
    rng = np.random.default_rng(42)
    refs = [
        SeriesRef("cpu_usage", {"host": f"host-{i:04d}", "service": f"svc-{i % 10}"}) for i in range(series)
    ]
    stamps = np.arange(
        int((NOW - timedelta(days=days)).timestamp()), int(NOW.timestamp()), every_s, dtype=np.int64
    )
    index = np.repeat(np.arange(series), len(stamps))
    ts = np.tile(stamps, series)
    phase = rng.uniform(0, 24, series)[index]
    level = rng.uniform(20, 60, series)[index]
    hour = (ts % 86_400) / 3600
    values = level + 15 * np.sin(2 * np.pi * (hour - phase) / 24) + rng.gamma(2.0, 3.0, len(ts))
    return refs, index, ts, np.round(values, 2)


async def load(
    url: str, refs: list[SeriesRef], index: np.ndarray, ts: np.ndarray, values: np.ndarray
) -> float:
    engine = open_engine(url)
    try:
        await migrate.upgrade(engine)
        store = Store(engine)
        step = 200_000
        for start in range(0, len(ts), step):
            batch = PointBatch(
                series=tuple(refs),
                series_index=index[start : start + step].tolist(),
                ts=ts[start : start + step].astype(float).tolist(),
                values=values[start : start + step].tolist(),
            )
            await store.ingest_points(batch, NOW)
        began = time.perf_counter()
        async with rollup_lock(engine) as conn:
            assert conn is not None
            await roll_up(conn, NOW)
        elapsed = time.perf_counter() - began
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
        return elapsed
    finally:
        await engine.dispose()


async def stored_bytes(url: str) -> dict[str, tuple[int, int]]:
    """(rows, table + index bytes) of each level."""
    engine = open_engine(url)
    try:
        async with engine.connect() as conn:
            found = {}
            for table in TABLES:
                rows = int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)
                size = int(await conn.scalar(text(f"SELECT pg_total_relation_size('{table}')")) or 0)
                found[table] = (rows, size)
            return found
    finally:
        await engine.dispose()


async def accuracy(
    url: str, refs: list[SeriesRef], index: np.ndarray, ts: np.ndarray, values: np.ndarray
) -> list[tuple[str, float, float]]:
    """Quantiles through nlq (rollups and sketches) against numpy over the raw values."""
    engine = open_engine(url)
    rng = np.random.default_rng(7)
    results = []
    try:
        spans = ("yesterday", "last 30 hours", "last 90 minutes", "last 2 days")
        for trial in range(16):
            host = int(rng.integers(0, len(refs)))
            q = ("p50", "p95", "p99", "p95")[trial % 4]
            question = f"{q} cpu on {refs[host].labels['host']} {spans[trial // 4]}"
            reply = await answer(question, engine, NOW)
            start = datetime.fromisoformat(reply.to_json()["time_range"]["start"]).timestamp()
            end = datetime.fromisoformat(reply.to_json()["time_range"]["end"]).timestamp()
            mask = (index == host) & (ts >= start) & (ts < end)
            exact = float(np.quantile(values[mask], int(q[1:]) / 100))
            results.append((f"{question} [{reply.resolution}]", exact, float(reply.rows[0][0])))
        return results
    finally:
        await engine.dispose()


async def recreate(url: str) -> None:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        database="postgres",
    )
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="postgresql+asyncpg://postgres@127.0.0.1:5432/nocbot_rollup_bench")
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--every", type=int, default=10, help="seconds between points (scrape interval)")
    args = parser.parse_args()
    console = Console()
    await recreate(args.db)
    refs, index, ts, values = generate(args.series, args.days, args.every)
    console.print(f"{len(ts):,} points: {args.series} series × {args.days} days every {args.every} s")
    seconds = await load(args.db, refs, index, ts, values)
    console.print(f"rollup: {seconds:.1f} s ({len(ts) / seconds:,.0f} points/s)")

    sizes = await stored_bytes(args.db)
    raw_bytes = sizes["metric_points"][1]
    per_day = {table: size / args.days for table, (_rows, size) in sizes.items()}
    table = Table("level", "rows", "bytes", "bytes/row", "vs raw (same span)")
    for name, (rows, size) in sizes.items():
        table.add_row(name, f"{rows:,}", f"{size:,}", f"{size / max(rows, 1):.0f}", f"{size / raw_bytes:.2%}")
    console.print(table)
    retention = Retention()
    kept = {
        "rollup_5m": retention.m5.days,
        "rollup_1h": retention.h1.days,
        "rollup_1d": retention.d1.days,
    }
    rollup_total = sum(per_day[name] * days for name, days in kept.items())
    raw_two_years = per_day["metric_points"] * retention.d1.days
    console.print(
        f"two years kept as rollups (5m 14 d + 1h 90 d + 1d 730 d): {rollup_total / 1e6:,.1f} MB for "
        f"{args.series} series, against {raw_two_years / 1e6:,.1f} MB as raw points: "
        f"{rollup_total / raw_two_years:.2%}"
    )

    table = Table("question", "exact", "from rollups", "error")
    worst = 0.0
    for question, exact, estimate in await accuracy(args.db, refs, index, ts, values):
        error = abs(estimate - exact) / abs(exact)
        worst = max(worst, error)
        table.add_row(question, f"{exact:.3f}", f"{estimate:.3f}", f"{error:.3%}")
    console.print(table)
    console.print(f"worst quantile error: {worst:.3%} (target ≤ 1 %)")


if __name__ == "__main__":
    asyncio.run(main())
