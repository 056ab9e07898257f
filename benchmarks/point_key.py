"""What the order of `metric_points`' key costs PostgreSQL per COPY of a live feed's points.

    .venv/bin/python benchmarks/point_key.py [--dsn postgresql://postgres@127.0.0.1/test]
        [--series 10000] [--history 300] [--steps 100] [--per-copy 2000]

For each key order, (series, time) as `metric_points` has it and (time, series), a scratch table
is filled with `--history` steps of every series, then `--steps` more are copied in, `--per-copy`
rows at a time in random series order, as a live feed's batches arrive. Reported per COPY: the
CPU the PostgreSQL backend spent (from /proc, so the server must run on this machine) and the
COPY's wall time, p50 and p99. The scratch table is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass

import asyncpg
import numpy as np

KEYS = {"series, time": "series_id, ts", "time, series": "ts, series_id"}
TABLE = "nocbot_point_key_bench"


@dataclass(frozen=True)
class KeyCost:
    key: str
    copies: int
    cpu_ms: float
    p50_ms: float
    p99_ms: float


def backend_cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(conn: asyncpg.Connection, key: str, args: argparse.Namespace) -> KeyCost:
    await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    await conn.execute(
        f"CREATE TABLE {TABLE} (series_id bigint NOT NULL, ts bigint NOT NULL, "
        f"value double precision NOT NULL, PRIMARY KEY ({KEYS[key]}))"
    )
    pid = await conn.fetchval("SELECT pg_backend_pid()")
    rng = np.random.default_rng(args.seed)
    start_ms = 1_790_000_000_000

    async def copy_steps(steps: range) -> list[float]:
        walls: list[float] = []
        for step in steps:
            order = rng.permutation(args.series)
            for first in range(0, args.series, args.per_copy):
                # one step a second, each series at its own millisecond within it
                records = [
                    (int(s), start_ms + step * 1000 + int(s) % 1000, 1.5)
                    for s in order[first : first + args.per_copy]
                ]
                began = time.perf_counter()
                await conn.copy_records_to_table(TABLE, records=records, columns=["series_id", "ts", "value"])
                walls.append(time.perf_counter() - began)
        return walls

    try:
        await copy_steps(range(args.history))
        cpu_before = backend_cpu_seconds(pid)
        walls = sorted(await copy_steps(range(args.history, args.history + args.steps)))
        cpu = backend_cpu_seconds(pid) - cpu_before
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    n = len(walls)
    return KeyCost(key, n, cpu / n * 1000, walls[n // 2] * 1000, walls[min(n - 1, int(n * 0.99))] * 1000)


async def main(args: argparse.Namespace) -> None:
    conn = await asyncpg.connect(args.dsn)
    try:
        for key in KEYS:
            cost = await measure(conn, key, args)
            print(
                f"key ({cost.key}): {cost.copies} COPYs of {args.per_copy} rows after "
                f"{args.history * args.series:,} rows: PostgreSQL CPU {cost.cpu_ms:.2f} ms a COPY, "
                f"wall p50 {cost.p50_ms:.2f} ms, p99 {cost.p99_ms:.2f} ms"
            )
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1/test")
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=300)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--per-copy", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
