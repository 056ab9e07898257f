"""Question benchmark: parse + compile latency, and query latency over rollups on PostgreSQL.

1. Parse + compile (pure, no database) of typical questions against a vocabulary of 1,000 series:
   median and p99 per question. The vocabulary index (nlq.Lexicon) is built once per vocabulary,
   as the chat service does; its build time is reported separately.
2. Query latency on PostgreSQL with 1,000 series (10 metrics × 100 hosts in 10 services): daily
   rollups for two years and 5-minute rollups for 14 days, written straight into the rollup tables
   (sketches drawn from a pool of real ones). Reported per question: the SQL alone, and the whole
   `answer()` (plan, SQL, sketch merging, sentence) with a prebuilt lexicon.

    python benchmarks/nlq.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/nocbot_nlq_bench

The database is dropped and created afresh.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import numpy as np
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

# Run as a script, this file (benchmarks/nlq.py) would shadow the nlq package: search the project
# root instead of the script's directory.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from engine.rollup.buckets import BucketRows, summarize_points  # noqa: E402
from engine.rollup.levels import ROLLUP_LEVELS, Level, Retention  # noqa: E402
from engine.rollup.plan import Availability  # noqa: E402
from engine.storage import migrate  # noqa: E402
from engine.storage.database import open_engine  # noqa: E402
from engine.storage.metric_rows import series_key  # noqa: E402
from nlq.answer import answer  # noqa: E402
from nlq.compile import Context, compile_question  # noqa: E402
from nlq.lexicon import Lexicon  # noqa: E402
from nlq.parser import parse  # noqa: E402
from nlq.vocabulary import Vocabulary  # noqa: E402

NOW = datetime(2026, 4, 8, tzinfo=UTC)
METRICS = (
    "cpu_usage",
    "memory_used_bytes",
    "http_request_latency_ms",
    "http_requests_total",
    "disk_used_percent",
    "disk_read_bytes",
    "network_receive_bytes",
    "fan_speed_rpm",
    "gc_pause_seconds",
    "queue_depth",
)
HOSTS = 100
TWO_YEARS = "between 2024-04-08 and 2026-04-07"
PURE_QUESTIONS = (
    "average cpu yesterday",
    "p95 latency by service last week",
    "hourly average cpu for svc-3 yesterday",
    "top 5 hosts by cpu last 30 days",
    "which service had the highest latency yesterday",
    "when was cpu highest on host-0042 yesterday",
    "how many hours was cpu above 90 on host-0042 yesterday",
    "p95 latency this week vs last week",
    "daily max memory last week",
    "how many P1 incidents last month",
    "MTTR by service last month",
    "which playbooks ran most last month",
    "auto-resolved share since March 1",
    f"daily average cpu on host-0042 {TWO_YEARS}",
)
# (question, time zone): the time zone decides which rollup answers a daily question
QUERIES = (
    (f"daily average cpu on host-0042 {TWO_YEARS}", "UTC"),
    (f"p95 cpu on host-0042 {TWO_YEARS}", "UTC"),
    (f"max cpu by service {TWO_YEARS}", "UTC"),
    ("daily average cpu on host-0042 last 14 days", "Asia/Kolkata"),
    ("daily p95 cpu on host-0042 last 14 days", "Asia/Kolkata"),
)


def vocabulary() -> Vocabulary:
    hosts = [f"host-{i:04d}" for i in range(HOSTS)]
    services = [f"svc-{i}" for i in range(10)]
    return Vocabulary.build(METRICS, {"host": hosts, "service": services, "region": ["eu-west", "us-east"]})


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.99 * (len(ordered) - 1))] * 1000


def bench_parse_compile(console: Console, rounds: int) -> None:
    began = time.perf_counter()
    lexicon = Lexicon(vocabulary())
    console.print(f"vocabulary index for 1,000 series built in {(time.perf_counter() - began) * 1000:.1f} ms")
    now_ms = int(NOW.timestamp() * 1000)
    available = Availability.at(now_ms, Retention(), 3_600_000, dict.fromkeys(ROLLUP_LEVELS, now_ms))
    context = Context(NOW, ZoneInfo("UTC"), available)
    parse(PURE_QUESTIONS[0], lexicon)  # loads the grammar once
    table = Table("question", "median ms", "p99 ms")
    everything: list[float] = []
    for question in PURE_QUESTIONS:
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            compile_question(parse(question, lexicon), context)
            samples.append(time.perf_counter() - start)
        everything += samples
        median, p99 = percentiles(samples)
        table.add_row(question, f"{median:.3f}", f"{p99:.3f}")
    console.print(table)
    median, p99 = percentiles(everything)
    console.print(
        f"parse + compile, all questions: median {median:.3f} ms, p99 {p99:.3f} ms (target median ≤ 1 ms)"
    )


def sketch_pool(size: int, points: int, seed: int) -> BucketRows:
    """`size` real bucket rows (count, sum, min, max, sketch) of `points` cpu-like values each."""
    rng = np.random.default_rng(seed)
    series = np.repeat(np.arange(size), points)
    ts = np.tile(np.arange(points) * 1000, size)
    values = rng.uniform(20, 60, size)[series] + rng.gamma(2.0, 4.0, size * points)
    return summarize_points(series, ts, values, Level.D1)


def rollup_records(
    ids: list[int], level: Level, buckets: int, pool: BucketRows
) -> Iterator[tuple[object, ...]]:
    newest = int(NOW.timestamp()) - level.width_s
    for position, series_id in enumerate(ids):
        for step in range(buckets):
            j = (position * 7919 + step) % len(pool)
            yield (
                series_id,
                newest - step * level.width_s,
                int(pool.count[j]),
                float(pool.sum[j]),
                float(pool.min[j]),
                float(pool.max[j]),
                pool.sketch[j],
            )


async def prepare(url: str, console: Console) -> None:
    parsed = make_url(url)
    dsn = dict(host=parsed.host or "127.0.0.1", port=parsed.port or 5432, user=parsed.username or "postgres")
    admin = await asyncpg.connect(database="postgres", **dsn)  # type: ignore[arg-type]
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()
    engine = open_engine(url)
    await migrate.upgrade(engine)
    await engine.dispose()
    conn = await asyncpg.connect(database=parsed.database, **dsn)  # type: ignore[arg-type]
    try:
        series = [
            (series_key(m, labels), m, labels)
            for m in METRICS
            for i in range(HOSTS)
            for labels in [{"host": f"host-{i:04d}", "service": f"svc-{i % 10}", "region": "eu-west"}]
        ]
        ids = []
        for key, metric, labels in series:
            ids.append(
                await conn.fetchval(
                    "INSERT INTO metric_series (series_key, metric, labels, created_at) "
                    "VALUES ($1, $2, $3::jsonb, 0) RETURNING id",
                    key,
                    metric,
                    json.dumps(labels),
                )
            )
        columns = ["series_id", "bucket", "count", "sum", "min", "max", "sketch"]
        began = time.perf_counter()
        daily = sketch_pool(400, 8640, 1)
        await conn.copy_records_to_table(
            "rollup_1d", records=rollup_records(ids, Level.D1, 730, daily), columns=columns
        )
        five = sketch_pool(4000, 30, 2)
        chunk = 100
        for start in range(0, len(ids), chunk):
            records = rollup_records(ids[start : start + chunk], Level.M5, 14 * 288, five)
            await conn.copy_records_to_table("rollup_5m", records=records, columns=columns)
        for level in ROLLUP_LEVELS:
            await conn.execute(
                "INSERT INTO rollup_state (level, watermark, updated_at) VALUES ($1, $2, 0)",
                level.label,
                int(NOW.timestamp() * 1000),
            )
        await conn.execute("VACUUM ANALYZE")
        rows = await conn.fetchval(
            "SELECT (SELECT count(*) FROM rollup_1d) + (SELECT count(*) FROM rollup_5m)"
        )
        console.print(
            f"wrote {rows:,} rollup rows for {len(ids):,} series in {time.perf_counter() - began:.0f} s"
        )
    finally:
        await conn.close()


async def bench_queries(url: str, console: Console, rounds: int) -> None:
    engine = open_engine(url)
    lexicon = Lexicon(vocabulary())
    table = Table(
        "question", "tz", "resolution", "rows read", "SQL median", "SQL p99", "answer median", "answer p99"
    )
    try:
        for question, tz in QUERIES:
            first = await answer(question, engine, NOW, tz, lexicon=lexicon)
            now_ms = int(NOW.timestamp() * 1000)
            marks = dict.fromkeys(ROLLUP_LEVELS, now_ms)
            context = Context(NOW, ZoneInfo(tz), Availability.at(now_ms, Retention(), 3_600_000, marks))
            statement = compile_question(parse(question, lexicon), context).statement
            sql_samples, answer_samples, read = [], [], 0
            async with engine.connect() as conn:
                for _ in range(rounds):
                    start = time.perf_counter()
                    read = len((await conn.execute(statement)).all())
                    sql_samples.append(time.perf_counter() - start)
            for _ in range(rounds):
                start = time.perf_counter()
                await answer(question, engine, NOW, tz, lexicon=lexicon)
                answer_samples.append(time.perf_counter() - start)
            sql_median, sql_p99 = percentiles(sql_samples)
            answer_median, answer_p99 = percentiles(answer_samples)
            table.add_row(
                question,
                tz,
                first.resolution,
                f"{read:,}",
                f"{sql_median:.1f} ms",
                f"{sql_p99:.1f} ms",
                f"{answer_median:.1f} ms",
                f"{answer_p99:.1f} ms",
            )
    finally:
        await engine.dispose()
    console.print(table)
    console.print("target: 2-year daily query p99 ≤ 20 ms")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="postgresql+asyncpg://postgres@127.0.0.1:5432/nocbot_nlq_bench")
    parser.add_argument("--rounds", type=int, default=200, help="repetitions per question")
    parser.add_argument("--skip-load", action="store_true", help="reuse the data of a previous run")
    args = parser.parse_args()
    console = Console()
    bench_parse_compile(console, args.rounds * 5)
    if not args.skip_load:
        await prepare(args.db, console)
    await bench_queries(args.db, console, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
