"""Incident enrichment latency on PostgreSQL with a large history: p50/p95/p99 of one `enrich()`.

Creates (drops first) its own database, fills it with COPY — 100,000 resolved past incidents,
1,000,000 change events, resolved and firing alerts, metric series with six hours of points — then
enriches open incidents of varied size and services, one at a time on a pooled connection, as the
ingest pipeline does. The chart is timed separately (it is drawn when a surface asks for it).

    python benchmarks/enrich.py                          # postgres@127.0.0.1:5432, trust auth
    python benchmarks/enrich.py --reuse --runs 500       # keep the filled database from a previous run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy import select
from sqlalchemy.engine import make_url

from engine.catalog import Catalog, load_catalog
from engine.enrichment import Enrichment, MetricContext
from engine.enrichment.chart import render_metric_context
from engine.models import Alert, AlertSource, AlertStatus, Service, Severity
from engine.storage import alert_rows, migrate
from engine.storage.database import open_engine
from engine.storage.enrichment_rows import enrich, save_enrichment
from engine.storage.schema import incident_alerts, incidents
from engine.storage.types import to_epoch_us

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HISTORY_DAYS = 730
CHANGE_DAYS = 365
POINT_HOURS = 6
POINT_STEP_S = 60
TARGETS = 60
EXAMPLE_CATALOG = Path(__file__).resolve().parents[1] / "examples" / "services.yaml"

PROBLEMS = [
    "High error rate", "Latency above SLO", "Pods crash looping", "Disk almost full", "Certificate expiring",
    "Queue backlog growing", "DB connection pool exhausted", "Memory leak", "CPU throttling",
    "Replication lag", "Cache hit ratio dropped", "5xx spike after deploy", "Timeouts to upstream",
    "Node not ready", "Kafka consumer lag", "TLS handshake failures", "OOMKilled containers",
    "Slow queries", "Thread pool saturated", "DNS resolution failures", "Health check failing",
    "Rate limit exceeded", "Job failed", "Backup failed", "Index rebuild stuck",
]  # fmt: skip
ALERT_NAMES = [
    "HighErrorRate", "HighLatency", "KubePodCrashLooping", "DiskFull", "CertExpiring", "QueueBacklog",
    "DBConnectionsExhausted", "MemoryHigh", "CPUThrottling", "ReplicationLag", "TargetDown",
]  # fmt: skip
KINDS = ["deploy", "deploy", "deploy", "config", "feature_flag", "scale", "rollback", "infrastructure"]
PEOPLE = [f"engineer{i}" for i in range(60)] + ["ci", "argo", "terraform"]


def estate(rng: random.Random) -> Catalog:
    """The example shop plus 40 more services with a few dependencies each, as estates usually are."""
    shop = load_catalog(EXAMPLE_CATALOG)
    extra: list[Service] = []
    for i in range(40):
        earlier = [s.name for s in extra] + list(shop.services)
        extra.append(
            Service(
                name=f"svc-{i:02d}",
                tier=rng.randint(0, 4),
                owner=f"team-{i % 8}",
                runbook=f"https://runbooks.example/svc-{i:02d}",
                depends_on=tuple(sorted(set(rng.sample(earlier, rng.randint(0, 3))))),
            )
        )
    return Catalog.from_services([*shop.services.values(), *extra])


def history_rows(count: int, services: Sequence[str], rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for n in range(count):
        service = rng.choice(services)
        opened = NOW - timedelta(days=rng.uniform(1, HISTORY_DAYS))
        resolved = opened + timedelta(minutes=rng.expovariate(1 / 90))
        title = f"{rng.choice(PROBLEMS)} on {service}-{rng.getrandbits(24):06x} ({rng.randint(1, 99)}%)"
        yield (
            title, "resolved", "imported", f"HIST-{n}", service, orjson.dumps([service]).decode(),
            rng.randint(1, 5), "imported", "[]", "{}", 0, to_epoch_us(opened), to_epoch_us(resolved), False,
            f"fixed: {rng.choice(['restart', 'rollback', 'scale up', 'config fix', 'failover'])}",
            rng.choice([None, "restart-service", "rollback-deploy", "scale-out"]), to_epoch_us(NOW), 1,
        )  # fmt: skip


HISTORY_COLUMNS = [
    "title", "status", "origin", "external_id", "service", "services", "priority", "priority_source",
    "reasons", "enrichment", "alert_count", "opened_at", "resolved_at", "auto_resolved", "resolution",
    "playbook", "updated_at", "version",
]  # fmt: skip


def change_rows(count: int, services: Sequence[str], rng: random.Random) -> Iterator[tuple[Any, ...]]:
    span_us = CHANGE_DAYS * 86_400 * 1_000_000
    now_us = to_epoch_us(NOW)
    for n in range(count):
        service = rng.choice(services)
        at = now_us - rng.randrange(span_us)
        yield (
            f"chg-{n}", service, rng.choice(KINDS), rng.choice(PEOPLE),
            f"{service} {rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}", at, "{}", at,
        )  # fmt: skip


def alert_rows_(count: int, services: Sequence[str], rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """Alerts of the past (resolved) plus some firing now across the estate."""
    now_us = to_epoch_us(NOW)
    for n in range(count):
        service = rng.choice(services)
        name = rng.choice(ALERT_NAMES)
        firing = n % 100 == 0
        start = now_us - rng.randrange(3_600_000_000 if firing else CHANGE_DAYS * 86_400_000_000)
        labels = {"alertname": name, "service": service, "instance": f"{service}-{n % 7}:9100", "env": "prod"}
        yield (
            f"{n:016x}", start, None if firing else start + 600_000_000, "firing" if firing else "resolved",
            name, 3, "alertmanager", service, orjson.dumps(labels).decode(), '{"summary": "x"}', None,
            start, start,
        )  # fmt: skip


ALERT_COLUMNS = [
    "fingerprint", "starts_at", "ends_at", "status", "name", "severity", "source", "service", "labels",
    "annotations", "generator_url", "received_at", "updated_at",
]  # fmt: skip


async def fill(dsn: str, catalog: Catalog, args: argparse.Namespace) -> None:
    rng = random.Random(7)
    services = sorted(catalog.services)
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "incidents", records=history_rows(args.past, services, rng), columns=HISTORY_COLUMNS
        )
        await conn.copy_records_to_table(
            "change_events",
            records=change_rows(args.changes, services, rng),
            columns=["external_id", "service", "kind", "who", "what", "at", "labels", "received_at"],
        )
        await conn.copy_records_to_table(
            "alerts", records=alert_rows_(args.alerts, services, rng), columns=ALERT_COLUMNS
        )
        await fill_series(conn, services, args.series_per_service)
        await conn.execute("ANALYZE")
        print(f"filled in {time.perf_counter() - started:.1f} s")
    finally:
        await conn.close()


async def fill_series(conn: asyncpg.Connection, services: Sequence[str], per_service: int) -> None:
    """Series of every service with points over the last hours, in one server-side statement."""
    metrics = ["http_requests_total", "http_errors_total", "latency_p99_seconds", "cpu_usage", "memory_bytes"]
    series = [
        (
            f"bench-{service}-{i}",
            metrics[i % len(metrics)],
            orjson.dumps({"service": service, "pod": f"p{i}"}).decode(),
        )
        for service in services
        for i in range(per_service)
    ]
    await conn.copy_records_to_table(
        "metric_series",
        records=[(key, metric, labels, to_epoch_us(NOW)) for key, metric, labels in series],
        columns=["series_key", "metric", "labels", "created_at"],
    )
    end_ms = int(NOW.timestamp() * 1000)
    await conn.execute(
        """
        INSERT INTO metric_points (series_id, ts, value)
        SELECT s.id, t, 10 + 3 * sin(t / 600000.0 + s.id) + random()
        FROM metric_series s, generate_series($1::bigint, $2::bigint, $3::bigint) AS t
        """,
        end_ms - POINT_HOURS * 3_600_000,
        end_ms,
        POINT_STEP_S * 1000,
    )


async def add_targets(url: str, catalog: Catalog) -> list[int]:
    """Open incidents in the last hours: 1-3 services, 2-40 alerts each."""
    rng = random.Random(11)
    services = sorted(catalog.services)
    engine = open_engine(url)
    ids = []
    try:
        async with engine.begin() as conn:
            for n in range(TARGETS):
                chosen = rng.sample(services, rng.choice([1, 1, 2, 3]))
                opened = NOW - timedelta(minutes=rng.uniform(15, 240))
                name = rng.choice(ALERT_NAMES)
                title = f"{name} on {chosen[0]}"
                members = [
                    Alert(
                        fingerprint=f"target-{n}-{k}",
                        name=name if k % 3 else rng.choice(ALERT_NAMES),
                        status=AlertStatus.FIRING if k % 4 else AlertStatus.RESOLVED,
                        severity=Severity.ERROR,
                        labels={
                            "service": chosen[k % len(chosen)],
                            "instance": f"node-{k}:9100",
                            "env": "prod",
                        },
                        annotations={"summary": title},
                        starts_at=opened + timedelta(seconds=20 * k),
                        source=AlertSource.ALERTMANAGER,
                    )
                    for k in range(rng.randint(2, 40))
                ]
                stored = await alert_rows.upsert_alerts(conn, members, NOW)
                row = {
                    "title": title, "status": "open", "origin": "nocbot", "service": chosen[0],
                    "services": chosen, "reasons": [], "enrichment": {}, "alert_count": len(members),
                    "opened_at": opened, "auto_resolved": False, "updated_at": NOW, "version": 1,
                }  # fmt: skip
                incident_id = (
                    await conn.execute(incidents.insert().values(row).returning(incidents.c.id))
                ).scalar_one()
                await conn.execute(
                    incident_alerts.insert(),
                    [
                        {
                            "alert_id": a,
                            "incident_id": incident_id,
                            "joined_at": NOW,
                            "explanation": "",
                            "evidence": {},
                        }
                        for a in stored.ids
                    ],
                )
                ids.append(int(incident_id))
    finally:
        await engine.dispose()
    return ids


async def prepare(url: str, args: argparse.Namespace, catalog: Catalog) -> list[int]:
    parsed = make_url(url)
    admin_dsn = f"postgresql://{parsed.username or 'postgres'}@{parsed.host}:{parsed.port or 5432}/postgres"
    dsn = (
        f"postgresql://{parsed.username or 'postgres'}@{parsed.host}:{parsed.port or 5432}/{parsed.database}"
    )
    admin = await asyncpg.connect(admin_dsn)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", parsed.database)
        if exists and args.reuse:
            engine = open_engine(url)
            try:
                async with engine.connect() as conn:
                    rows = await conn.execute(select(incidents.c.id).where(incidents.c.status == "open"))
                    ids = [int(r.id) for r in rows]
            finally:
                await engine.dispose()
            if ids:
                print(f"reusing {parsed.database} ({len(ids)} open incidents)")
                return ids
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await admin.close()
    engine = open_engine(url)
    try:
        await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    await fill(dsn, catalog, args)
    return await add_targets(url, catalog)


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def spread(samples: Sequence[float]) -> str:
    return (
        "   ".join(f"p{q} {percentile(samples, q):6.1f} ms" for q in (50, 95, 99))
        + f"   max {max(samples):.1f} ms"
    )


async def measure(url: str, ids: Sequence[int], catalog: Catalog, runs: int) -> None:
    engine = open_engine(url)
    timings: list[float] = []
    cpu: list[float] = []  # this process only: what the machine's other load cannot inflate as much
    charts: list[float] = []
    chart_cpu: list[float] = []
    last: dict[int, Enrichment] = {}
    try:
        for n in range(runs + 10):  # the first ten warm the pool, caches and plans
            incident_id = ids[n % len(ids)]
            started, started_cpu = time.perf_counter(), time.process_time()
            async with engine.connect() as conn:
                enrichment = await enrich(conn, incident_id, catalog, NOW)
            elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
            assert enrichment is not None
            if n >= 10:
                timings.append(elapsed * 1000)
                cpu.append(elapsed_cpu * 1000)
                last[incident_id] = enrichment
            if isinstance(enrichment.metric_context, MetricContext) and n >= 10 and n % 5 == 0:
                started, started_cpu = time.perf_counter(), time.process_time()
                render_metric_context(enrichment.metric_context)
                charts.append((time.perf_counter() - started) * 1000)
                chart_cpu.append((time.process_time() - started_cpu) * 1000)
        async with engine.begin() as conn:
            for incident_id, enrichment in last.items():
                await save_enrichment(conn, incident_id, enrichment)
    finally:
        await engine.dispose()
    sample = next(iter(last.values()))
    present = {
        name: sum(1 for e in last.values() if name not in e.notes())
        for name in (
            "related_alerts",
            "recent_changes",
            "similar_incidents",
            "affected_services",
            "metric_context",
        )
    }
    print(f"enrich(): {len(timings)} runs over {len(ids)} incidents")
    print(f"  wall  {spread(timings)}   mean {statistics.fmean(timings):.1f} ms")
    print(f"  cpu   {spread(cpu)}   (client process time)")
    if charts:
        print(f"render_chart(): wall {spread(charts)}; cpu {spread(chart_cpu)}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"sections present (of {len(last)} incidents): {present}")
    print(f"stored JSON of one enrichment: {len(orjson.dumps(sample.to_json()))} bytes")


async def main(args: argparse.Namespace) -> None:
    catalog = estate(random.Random(3))
    ids = await prepare(args.db, args, catalog)
    await measure(args.db, ids, catalog, args.runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="postgresql+asyncpg://postgres@127.0.0.1:5432/nocbot_enrich_bench")
    parser.add_argument("--past", type=int, default=100_000, help="resolved past incidents")
    parser.add_argument("--changes", type=int, default=1_000_000, help="change events")
    parser.add_argument("--alerts", type=int, default=200_000, help="alerts (1 in 100 firing)")
    parser.add_argument("--series-per-service", type=int, default=20, help="metric series per service")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="keep a database filled by an earlier run")
    asyncio.run(main(parser.parse_args()))
