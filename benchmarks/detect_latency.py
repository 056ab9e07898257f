"""Arrival-to-alert latency of streaming anomaly detection in the running service.

    .venv/bin/python benchmarks/detect_latency.py [--db URL] [--series 1000] [--seconds 60]

Starts `nocbot serve`, teaches it `--series` series (`--warmup` points each, one a second, sent as
fast as the server takes them), then feeds one point per series every second in real time for
`--seconds`, spiking a few series (×4) each second. For every spike the client notes when it sent
the request; the service stores the `MetricAnomaly` alert with its own `received_at`. Latency is
`received_at - sent` on the same machine's clock. Also reported: spikes detected (recall) and
anomaly alerts on points that were not spiked. Default database: a fresh SQLite file; with a
PostgreSQL URL the database is dropped and recreated first.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np
import orjson
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import TOKEN, start_server
from benchmarks.soak import recreate
from engine.storage.database import open_engine
from engine.storage.schema import alerts

BATCH = 2_000
SPIKES_PER_SECOND = 5
REST_SECONDS = 30  # a spiked series is left alone this long, so its episode can end first


def level(series: int) -> float:
    return 100.0 + 10.0 * (series % 50)


def points(series: range, ts: float, rng: np.random.Generator, spiked: set[int]) -> list[dict[str, object]]:
    noise = rng.normal(0.0, 0.02, len(series))
    return [
        {
            "metric": "latency_ms",
            "labels": {"service": f"svc-{s % 40}", "instance": f"i-{s}"},
            "ts": ts,
            "value": level(s) * (4.0 if s in spiked else 1.0 + float(noise[k])),
        }
        for k, s in enumerate(series)
    ]


async def post(session: aiohttp.ClientSession, url: str, body: list[dict[str, object]]) -> float:
    """Send one request; returns when it was sent (epoch seconds)."""
    sent = time.time()
    async with session.post(
        f"{url}/api/v1/metrics",
        data=orjson.dumps(body),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    ) as response:
        if response.status != 200:
            raise SystemExit(f"server answered {response.status}: {await response.text()}")
    return sent


async def post_all(session: aiohttp.ClientSession, url: str, body: list[dict[str, object]]) -> list[float]:
    """Send `body` in requests of BATCH points at once, as a scraper's parallel writers do; returns
    when each request was sent."""
    return list(
        await asyncio.gather(
            *(post(session, url, body[start : start + BATCH]) for start in range(0, len(body), BATCH))
        )
    )


async def run(args: argparse.Namespace) -> None:
    if args.db.startswith("postgresql"):
        await recreate(args.db)
    process, url = start_server(args.db)
    rng = np.random.default_rng(1)
    pick = random.Random(1)
    series = range(args.series)
    sent: dict[tuple[str, float], float] = {}
    try:
        async with aiohttp.ClientSession() as session:
            start_ts = time.time() - args.warmup - 1
            began = time.perf_counter()
            for k in range(args.warmup):
                await post_all(session, url, points(series, float(int(start_ts) + k), rng, set()))
            print(
                f"taught {args.series} series {args.warmup} points each in "
                f"{time.perf_counter() - began:.1f} s",
                flush=True,
            )
            rested: dict[int, float] = {}
            behind = 0.0
            deadline = time.monotonic() + args.seconds
            while time.monotonic() < deadline:
                tick = time.monotonic()
                ts = float(int(time.time()))
                ready = [s for s in series if rested.get(s, -1e9) <= tick]
                spiked = set(pick.sample(ready, min(SPIKES_PER_SECOND, len(ready))))
                for s in spiked:
                    rested[s] = tick + REST_SECONDS
                started = await post_all(session, url, points(series, ts, rng, spiked))
                for s in spiked:
                    sent[(f"i-{s}", ts)] = started[s // BATCH]
                behind = max(behind, time.monotonic() - tick - 1.0)
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        await asyncio.sleep(2.0)
    finally:
        process.terminate()
        process.wait(timeout=60)
    engine = open_engine(args.db)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(alerts.c.labels, alerts.c.starts_at, alerts.c.received_at).where(
                        alerts.c.source == "anomaly"
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    latencies = []
    unexpected = 0
    live_from = min((ts for _, ts in sent), default=0.0)
    for row in rows:
        key = (row.labels.get("instance"), row.starts_at.timestamp())
        if key in sent:
            latencies.append(row.received_at.timestamp() - sent[key])
        elif row.starts_at.timestamp() >= live_from:
            unexpected += 1
    print(f"live phase: one point per series a second; the slowest second took {1.0 + behind:.2f} s")
    print(f"spikes sent: {len(sent)}, detected: {len(latencies)} ({len(latencies) / max(1, len(sent)):.1%})")
    print(f"anomaly alerts on points that were not spiked (live phase): {unexpected}")
    if latencies:
        values = np.array(latencies) * 1000.0
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        print(
            f"arrival-to-alert latency: p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms, "
            f"max {values.max():.0f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--series", type=int, default=1_000)
    parser.add_argument("--warmup", type=int, default=300, help="points per series before the live phase")
    parser.add_argument("--seconds", type=int, default=60, help="length of the live phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        if args.db is None:
            args.db = f"sqlite+aiosqlite:///{directory}/latency.db"
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
