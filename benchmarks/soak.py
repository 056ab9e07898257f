"""Soak: two `nocbot serve` replicas on one PostgreSQL under a steady alert and metric load, with
Slack (a fake on loopback) receiving the cards. Prints achieved rates, ingest latency percentiles,
each replica's memory over time, the outbox lag, and the delivery audit: alerts stored vs sent,
cards posted twice (duplicates) and incidents without a card (lost).

    python benchmarks/soak.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/nocbot_soak \\
        --minutes 10 --alerts-per-second 1000 --points-per-second 20000

The database is dropped and created again (it must be one the user may drop). Alerts are
Alertmanager webhooks where 5 % of the alerts are new and the rest re-deliveries, as Alertmanager
sends them every group_interval; incidents are routed to one Slack channel per service (Slack
allows about one message a second per channel).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import asyncpg
import numpy as np
import orjson
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.ingest import point_bodies
from engine.storage import correlation_queue_rows, migrate
from engine.storage.database import open_engine
from engine.storage.schema import alerts, incident_alerts, incidents, outbox
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET
from tests.faults.replicas import Replica

TOKEN = "soak-token"
SERVICES = 40  # benchmarks.ingest spreads alerts over svc-0 … svc-39


def alert_lifecycles(per_request: int, seed: int, new_fraction: float, active: int) -> Iterator[bytes]:
    """Alertmanager webhooks where `new_fraction` of the alerts are new, the rest re-deliver the
    `active` newest firing ones, and each alert pushed out of that set is sent once more, resolved:
    alerts come and go as in production, so incidents close and memory can level off."""
    services = [f"svc-{i}" for i in range(SERVICES)]
    firing: deque[dict[str, object]] = deque()
    resolved: list[dict[str, object]] = []
    n = 0
    carry = 0.0
    while True:
        now = datetime.now(UTC)
        body: list[dict[str, object]] = []
        while resolved and len(body) < per_request:
            body.append(resolved.pop())
        while len(body) < per_request:
            carry += new_fraction
            if carry < 1.0 and firing:
                body.append(firing[(n * 7919 + len(body)) % len(firing)])
                continue
            carry -= 1.0
            n += 1
            alert: dict[str, object] = {
                "status": "firing",
                "labels": {
                    "alertname": f"Alert{n % 50}",
                    "service": services[n % len(services)],
                    "instance": f"node-{n % 300}:9100",
                    "severity": ("warning", "critical", "info")[n % 3],
                    "run": str(seed),
                },
                "annotations": {"summary": f"something is wrong on node-{n % 300}"},
                "startsAt": _stamp(now),
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": f"{seed:04x}{n:012x}",
            }
            firing.append(alert)
            body.append(alert)
            if len(firing) > active:
                gone = firing.popleft()
                resolved.append({**gone, "status": "resolved", "endsAt": _stamp(now)})
        yield orjson.dumps({"version": "4", "status": "firing", "alerts": body})


def _stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@dataclass
class Stream:
    name: str
    sent_items: int = 0
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)


async def paced(
    session: aiohttp.ClientSession,
    replicas: list[Replica],
    path: str,
    bodies: Iterator[bytes],
    items_per_body: int,
    per_second: float,
    seconds: float,
    stream: Stream,
    in_flight: int = 8,
) -> None:
    """Send at `per_second` items, round-robin over the replicas, at most `in_flight` at once; when
    the service cannot keep up the achieved rate shows it."""
    gate = asyncio.Semaphore(in_flight)
    interval = items_per_body / per_second
    started = time.perf_counter()
    tasks: set[asyncio.Task[None]] = set()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    async def one(body: bytes, replica: Replica) -> None:
        try:
            began = time.perf_counter()
            async with session.post(replica.url + path, data=body, headers=headers) as response:
                await response.read()
                stream.requests += 1
                if response.status == 200:
                    stream.sent_items += items_per_body
                    stream.latencies.append(time.perf_counter() - began)
                else:
                    stream.errors += 1
        except aiohttp.ClientError:
            stream.errors += 1
        finally:
            gate.release()

    n = 0
    while time.perf_counter() - started < seconds:
        due = started + n * interval
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await gate.acquire()
        task = asyncio.create_task(one(next(bodies), replicas[n % len(replicas)]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
    await asyncio.gather(*tasks)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def recreate(db: str) -> None:
    url = make_url(db)
    admin = await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        database="postgres",
    )
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {url.database} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {url.database}")
    finally:
        await admin.close()
    engine = open_engine(db)
    await migrate.upgrade(engine)
    await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    console = Console()
    await recreate(args.db)
    seconds = args.minutes * 60
    async with FakeSlack() as slack, aiohttp.ClientSession() as session:
        for n in range(SERVICES):
            slack.add_channel(f"svc-{n}")
        routes = ";".join(f"service=svc-{n}:#svc-{n}" for n in range(SERVICES)) + ";*:#svc-0"
        env = {
            "NOCBOT_DATABASE_URL": args.db,
            "NOCBOT_INGEST_TOKEN": TOKEN,
            "NOCBOT_SLACK_BOT_TOKEN": BOT_TOKEN,
            "NOCBOT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "NOCBOT_SLACK_ROUTES": routes,
            "NOCBOT_SLACK_API_URL": slack.api_url,
        }
        replicas = [Replica("a", env), Replica("b", env)]
        if args.log_dir:
            args.log_dir.mkdir(parents=True, exist_ok=True)
            for replica in replicas:
                replica.log_path = str(args.log_dir / f"{replica.name}.log")
                replica.env = {**replica.env, "NOCBOT_LOG_LEVEL": "INFO"}
        await asyncio.gather(*(replica.start(session) for replica in replicas))
        engine = open_engine(args.db)
        memory: list[tuple[float, list[float]]] = []
        lags: list[float] = []
        stop = asyncio.Event()

        async def watch() -> None:
            began = time.perf_counter()
            while not stop.is_set():
                async with engine.connect() as conn:
                    oldest = await conn.scalar(
                        select(func.min(outbox.c.created_at)).where(outbox.c.status == "pending")
                    )
                lags.append((datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0)
                elapsed = time.perf_counter() - began
                if not memory or elapsed - memory[-1][0] >= 30:
                    memory.append((elapsed, [rss_mib(r.process.pid) for r in replicas if r.process]))
                await asyncio.sleep(1)

        watching = asyncio.create_task(watch())
        alert_stream, point_stream = Stream("alerts"), Stream("points")
        # --sticky: each source to one replica, as README advises; otherwise round-robin over both
        alert_targets = replicas[:1] if args.sticky else replicas
        point_targets = replicas[1:] if args.sticky else replicas
        await asyncio.gather(
            paced(session, alert_targets, "/api/v1/alerts/alertmanager",
                  alert_lifecycles(100, 7, 0.05, args.active_alerts), 100, args.alerts_per_second, seconds,
                  alert_stream),
            paced(session, point_targets, "/api/v1/metrics", point_bodies(2000, 10_000, 7), 2000,
                  args.points_per_second, seconds, point_stream),
        )  # fmt: skip
        drain_started = time.perf_counter()
        while time.perf_counter() - drain_started < args.drain_seconds:
            async with engine.connect() as conn:
                pending = await conn.scalar(select(func.count()).where(outbox.c.status == "pending"))
                undecided = await correlation_queue_rows.size(conn)
            if not pending and not undecided:
                break
            await asyncio.sleep(1)
        drained = time.perf_counter() - drain_started
        stop.set()
        await watching
        memory.append((seconds + drained, [rss_mib(r.process.pid) for r in replicas if r.process]))
        async with engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).select_from(alerts))
            incident_ids = set((await conn.scalars(select(incidents.c.id))).all())
            pending = await conn.scalar(select(func.count()).where(outbox.c.status == "pending"))
            dead = await conn.scalar(select(func.count()).where(outbox.c.status == "dead"))
            undecided = await correlation_queue_rows.size(conn)
            still_open = await conn.scalar(select(func.count()).where(incidents.c.status != "resolved"))
            unclustered = await conn.scalar(
                select(func.count())
                .select_from(alerts)
                .where(~alerts.c.id.in_(select(incident_alerts.c.alert_id)))
            )
        await engine.dispose()
        await asyncio.gather(*(replica.stop() for replica in replicas))
        keys = [
            message["metadata"]["event_payload"]["key"]
            for channel in slack.channels
            for message in slack.messages(channel)
        ]

    table = Table(
        title=f"soak: {args.minutes:g} min, 2 replicas ({'sticky' if args.sticky else 'round-robin'}), "
        f"{platform.node()}, {datetime.now(UTC):%Y-%m-%d}"
    )
    table.add_column("what")
    table.add_column("result", justify="right")
    for stream, target in ((alert_stream, args.alerts_per_second), (point_stream, args.points_per_second)):
        lat = np.array(stream.latencies) * 1000 if stream.latencies else np.array([np.nan])
        table.add_row(
            f"{stream.name}/s (target {target:,.0f})",
            f"{stream.sent_items / seconds:,.0f}  (errors {stream.errors}, "
            f"p50 {np.percentile(lat, 50):.0f} ms, p99 {np.percentile(lat, 99):.0f} ms)",
        )
    table.add_row("alerts stored (unique)", f"{stored:,}")
    table.add_row(
        "alerts in no incident / still queued", f"{unclustered} / {undecided}"
    )
    table.add_row("incidents (still open)", f"{len(incident_ids):,} ({still_open:,})")
    table.add_row("cards posted", f"{len(keys):,}")
    table.add_row("duplicates (a card posted twice)", f"{len(keys) - len(set(keys))}")
    lost = len({f"card:slack:{i}" for i in incident_ids} - set(keys))
    table.add_row(
        "lost (incident without a card) after drain", f"{lost}  (outbox pending {pending}, dead {dead})"
    )
    table.add_row(
        "outbox lag: max / p95 during the run", f"{max(lags):.1f} s / {np.percentile(lags, 95):.1f} s"
    )
    table.add_row("drain after the load stopped", f"{drained:.0f} s")
    for label, index in (("replica a", 0), ("replica b", 1)):
        values = [m[1][index] for m in memory if len(m[1]) > index]
        table.add_row(
            f"{label} RSS start → max → end", f"{values[0]:.0f} → {max(values):.0f} → {values[-1]:.0f} MiB"
        )
        # every minute, to tell warm-up (detector baselines, caches) from steady growth
        timeline = [f"{m[1][index]:.0f}" for m in memory if len(m[1]) > index and round(m[0]) % 60 < 30]
        table.add_row(f"{label} RSS each minute (MiB)", " ".join(timeline))
    console.print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="postgresql+asyncpg://postgres@127.0.0.1:5432/nocbot_soak")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--alerts-per-second", type=float, default=1000)
    parser.add_argument("--points-per-second", type=float, default=20000)
    parser.add_argument("--drain-seconds", type=float, default=600)
    parser.add_argument(
        "--active-alerts", type=int, default=3000, help="firing alerts at a time; older ones resolve"
    )
    parser.add_argument("--log-dir", type=Path, help="keep each replica's log (INFO) here")
    parser.add_argument(
        "--sticky", action="store_true", help="alerts to one replica, points to the other (else round-robin)"
    )
    asyncio.run(main(parser.parse_args()))
