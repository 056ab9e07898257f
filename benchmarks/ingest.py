"""Ingestion load benchmark: alerts/s and points/s accepted, p50/p99 request latency.

Starts `nocbot serve` on the given database (or targets a running server with --url) and sends, on
loopback, new Alertmanager alerts and then new metric points for a fixed time each, from several
concurrent clients. Bodies are generated before the clock starts so the client measures the server.

    python benchmarks/ingest.py --db sqlite+aiosqlite:////tmp/bench.db
    python benchmarks/ingest.py --db postgresql+asyncpg://postgres@127.0.0.1:5432/nocbot_bench

Open loop at a set rate (latency counted from when each request was due), points stamped as a live
feed would stamp them, and every request's latency written out to see when the tail happens:

    python benchmarks/ingest.py --db ... --phases mixed,points --concurrency 8 \
        --alert-rate 5000 --point-rate 100000 --live --timeline /tmp/timeline.csv

Each phase also reports how fast the machine's cores were meanwhile (`cpu_canary`): on a VM whose
cores slow down now and then, the seconds they were slow are where the tail is.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import numpy as np
import orjson
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.cpu_canary import CpuCanary

TOKEN = "bench-token"


@dataclass
class PhaseResult:
    name: str
    items: int = 0
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    due: list[float] = field(default_factory=list)  # seconds into the phase each answered body was due
    started_at: float = 0.0  # epoch seconds
    cpu: dict[str, float] = field(default_factory=dict)  # who → cores busy on average
    settle: float | None = None
    """Seconds after the phase until every accepted alert was decided (a busy deciding replica
    answers once a batch is stored and queued, and decides the queue afterwards)."""

    def decided_rate(self) -> float:
        return self.items / (self.seconds + self.settle) if self.settle is not None else float("nan")

    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q) * 1000) if self.latencies else float("nan")


async def queue_drained(db: str, within: float = 300.0) -> float:
    """Seconds until the correlation queue is empty (every accepted alert decided)."""
    from engine.storage import correlation_queue_rows
    from engine.storage.database import open_engine

    engine = open_engine(db)
    began = time.perf_counter()
    try:
        while time.perf_counter() - began < within:
            async with engine.connect() as conn:
                if await correlation_queue_rows.size(conn) == 0:
                    break
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()
    return time.perf_counter() - began


def alert_bodies(per_request: int, seed: int, new_fraction: float = 1.0) -> Iterator[bytes]:
    """Webhooks where `new_fraction` of the alerts were never seen before and the rest re-deliver
    firing ones, as Alertmanager does every group_interval. 1.0 is an alert storm: the costliest case.
    """
    start = datetime(2026, 11, 1, tzinfo=UTC)
    services = [f"svc-{i}" for i in range(40)]
    sent: list[dict[str, object]] = []
    n = 0
    carry = 0.0
    while True:
        alerts: list[dict[str, object]] = []
        for _ in range(per_request):
            carry += new_fraction
            if carry < 1.0 and sent:
                alerts.append(sent[(n * 7919 + len(alerts)) % len(sent)])
                continue
            carry -= 1.0
            n += 1
            alerts.append(
                {
                    "status": "firing",
                    "labels": {
                        "alertname": f"Alert{n % 50}",
                        "service": services[n % len(services)],
                        "instance": f"node-{n % 300}:9100",
                        "severity": ("warning", "critical", "info")[n % 3],
                        "run": str(seed),
                    },
                    "annotations": {"summary": f"something is wrong on node-{n % 300}"},
                    "startsAt": (start + timedelta(milliseconds=n)).isoformat().replace("+00:00", "Z"),
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": f"{seed:04x}{n:012x}",
                }
            )
            sent.append(alerts[-1])
        yield orjson.dumps({"version": "4", "status": "firing", "alerts": alerts})


def _series_prefixes(series: int) -> list[bytes]:
    """Each series' JSON up to its timestamp, encoded once."""
    return [
        orjson.dumps(
            {
                "metric": ("cpu_usage", "latency_ms", "error_rate")[s % 3],
                "labels": {"host": f"host-{s}", "service": f"svc-{s % 40}"},
            }
        )[:-1]
        + b',"ts":'
        for s in range(series)
    ]


def _series_levels(series: int) -> np.ndarray:
    return np.array([20 + s % 80 for s in range(series)], dtype=np.float64)


def _points_body(
    prefixes: list[bytes],
    levels: np.ndarray,
    which: np.ndarray,
    stamps: list[float],
    rng: np.random.Generator,
) -> bytes:
    noise = np.clip(rng.normal(0.0, 0.007, len(which)), -0.02, 0.02)
    values = (levels[which] * (1 + noise)).tolist()
    return (
        b'{"points":['
        + b",".join(
            b'%s%.3f,"value":%r}' % (prefixes[s], t, v)
            for s, t, v in zip(which.tolist(), stamps, values, strict=True)
        )
        + b"]}"
    )


def point_bodies(
    per_request: int, series: int, seed: int, start: float | None = None, step: float = 15.0
) -> Iterator[bytes]:
    """Batches that advance every series by one step (`step` seconds), as a scrape-and-forward agent
    sends them, from `start` (epoch seconds; default: a time derived from the seed).

    Each series holds its own level with Gaussian noise (σ 0.7 %, cut at ±2 %): healthy metrics,
    so the phase measures ingestion and detection, not the alert pipeline. (A sawtooth used before
    made every series drop from 99 to 0 every 100 steps; after it, a "noise" of `(s·7919 + t·104729)
    mod 1000` repeated with a period the detector learned, and its turn made 5 % of the series
    anomalous at the same step, a burst of 500 alerts in the middle of the phase.)

    Each series' metric and labels are encoded once, so a body costs ~3 ms: cheap enough for a live
    phase to make its bodies as it sends them."""
    base = start if start is not None else 1_790_000_000 + (seed % 1000) * 100_000
    prefixes, levels = _series_prefixes(series), _series_levels(series)
    rng = np.random.default_rng(seed)
    for batch in itertools.count():
        index = batch * per_request + np.arange(per_request)
        which, tick = index % series, index // series
        yield _points_body(prefixes, levels, which, (base + tick * step).tolist(), rng)


def history_point_bodies(
    per_request: int, series: int, seed: int, end: float, step: float, depth: int
) -> Iterator[bytes]:
    """Earlier points of the same series, each series a random number of them (0 to `depth` - 1,
    one `step` apart, the newest one `step` before `end`), oldest first: the series of a database
    that has been running, which began (or last restarted) at different times.

    Sent before a live phase, this makes each series' newest page of the (series, ts) index as full
    as its own history leaves it. On a fresh database all series start together, so at 100,000
    points/s their pages fill, and split, all in the same moment every ~30 s, every insert then
    waiting on the index's extension lock (README, Performance)."""
    prefixes, levels = _series_prefixes(series), _series_levels(series)
    rng = np.random.default_rng(seed + 3)
    ages = rng.integers(0, depth, series)
    rounds = np.arange(depth - 1, 0, -1)  # steps back from `end`, oldest first
    members = [np.flatnonzero(ages >= back) for back in rounds]
    which = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
    backs = np.repeat(rounds, [len(m) for m in members])
    for first in range(0, len(which), per_request):
        chunk = slice(first, first + per_request)
        yield _points_body(prefixes, levels, which[chunk], (end - backs[chunk] * step).tolist(), rng)


def live_point_bodies(args: argparse.Namespace, seed: int, rate: float) -> tuple[Iterator[bytes], float]:
    """Bodies stamped with the time each is due at `rate` points/s (every series advances one step
    every series/rate seconds), and that start time: a live feed, where nothing arrives late, so the
    rollups and the detector see what they would in production rather than hours of history
    replayed 150 times faster than real time. Made as they are sent: a long run's bodies would not
    fit in memory (480 s at 100,000 points/s is 5 GB of JSON)."""
    start_at = time.time() + 2.0
    bodies = point_bodies(args.points_per_request, args.series, seed, start_at, args.series / rate)
    return bodies, start_at


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (Linux /proc; 0 for those gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def child_pids(parent: int) -> list[int]:
    """Processes started by `parent` (the server's detector worker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent:
                pids.append(int(entry.name))
    return pids


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def cpu_meters(server_pid: int | None) -> dict[str, Callable[[], float]]:
    """CPU-seconds counters of the load generator, the server and PostgreSQL (all share the machine)."""
    meters: dict[str, Callable[[], float]] = {"client": time.process_time}
    if server_pid is not None:
        meters["server"] = lambda: process_cpu_seconds([server_pid])
        if sys.platform == "linux":
            meters["detector"] = lambda: process_cpu_seconds(child_pids(server_pid))
    if sys.platform == "linux":
        meters["postgres"] = lambda: process_cpu_seconds(postgres_pids())
    return meters


async def run_phase(
    url: str,
    path: str,
    bodies: Iterable[bytes],
    items_per_body: int,
    seconds: float,
    concurrency: int,
    name: str,
    server_pid: int | None = None,
    rate: float | None = None,
    start_at: float | None = None,
) -> PhaseResult:
    """Send `bodies` for `seconds`: from `concurrency` clients each sending its next body when the last
    is answered, or with `rate` (items/s) one body every items_per_body/rate seconds whatever the
    answers (open loop; at most `concurrency` in flight, the rest wait for a connection). A latency
    is counted from when the body was due, so a server falling behind shows in it. `start_at`
    (epoch seconds): when the first body is due, for bodies stamped with the time they are sent."""
    result = PhaseResult(name)
    meters = cpu_meters(server_pid)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url=url, headers=headers, connector=connector) as session:

        async def send(body: bytes, due: float) -> None:
            async with session.post(path, data=body) as response:
                await response.read()
                result.requests += 1
                if response.status == 200:
                    result.items += items_per_body
                    result.latencies.append(time.perf_counter() - due)
                    result.due.append(due - started)
                else:
                    result.errors += 1

        async def worker() -> None:
            while time.perf_counter() < deadline:
                body = next(queue, None)
                if body is None:
                    return
                await send(body, time.perf_counter())

        async def paced(per_second: float) -> None:
            interval = items_per_body / per_second
            sending: set[asyncio.Task[None]] = set()
            for index, body in enumerate(bodies):
                due = started + index * interval
                if due >= deadline:
                    break
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                task = asyncio.create_task(send(body, due))
                sending.add(task)
                task.add_done_callback(sending.discard)
            await asyncio.gather(*sending)

        if start_at is not None:
            await asyncio.sleep(max(0.0, start_at - time.time()))
        started = time.perf_counter()
        result.started_at = time.time()
        deadline = started + seconds
        cpu_before = {who: meter() for who, meter in meters.items()}
        if rate:
            await paced(rate)
        else:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
        result.cpu = {who: (meter() - cpu_before[who]) / result.seconds for who, meter in meters.items()}
    return result


def write_timeline(path: Path, results: list[PhaseResult]) -> None:
    """Every answered request as CSV (phase, when it was due, its latency), to see when a tail
    happens: steadily, at a burst of anomalies, at a rollup run, at a database stall."""
    with path.open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["phase", "due_epoch_s", "due_offset_s", "latency_ms"])
        for r in results:
            for due, latency in zip(r.due, r.latencies, strict=True):
                rows.writerow([r.name, f"{r.started_at + due:.3f}", f"{due:.3f}", f"{latency * 1000:.1f}"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "NOCBOT_DATABASE_URL": db,
        "NOCBOT_INGEST_TOKEN": TOKEN,
        "NOCBOT_PORT": str(port),
        "NOCBOT_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, url
        except OSError:
            if process.poll() is not None:
                raise SystemExit("server failed to start") from None
            time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start listening")


async def main(args: argparse.Namespace) -> None:
    process = None
    url = args.url
    server_pid = args.server_pid
    if url is None:
        process, url = start_server(args.db)
        server_pid = process.pid
    lag = ""
    try:
        seed = int(time.time()) % 60000
        wanted = {phase.strip() for phase in args.phases.split(",")}
        # only what the phases can send (a closed loop at most 20,000 alerts / 400,000 points a
        # second): 480 s of closed-loop points held ahead would take 21 GB
        n_alert_bodies = int(args.seconds * (args.alert_rate or 20_000) / args.alerts_per_request) + 100
        n_point_bodies = int(args.seconds * (args.point_rate or 400_000) / args.points_per_request) + 100
        storm = (
            list(itertools.islice(alert_bodies(args.alerts_per_request, seed), n_alert_bodies))
            if "storm" in wanted
            else []
        )
        mixed = (
            list(
                itertools.islice(
                    alert_bodies(args.alerts_per_request, seed + 1, args.new_fraction), n_alert_bodies
                )
            )
            if "mixed" in wanted
            else []
        )
        warm = -(-args.series // args.points_per_request)
        if "points" not in wanted or args.live:
            n_point_bodies = warm  # the warm-up's; a live phase makes its own as it sends them
        # stamped so the last point generated is about now: the server's background work (rollups
        # of what completed, recent history) sees what a live feed would give it, not points years
        # ahead (though all but the last minute are stored late, as an import would be); a
        # random millisecond offset keeps one run's points from being another's (already stored)
        ticks = n_point_bodies * args.points_per_request // args.series + 1
        base = int(time.time() - ticks * 15) + random.randrange(15_000) / 1000
        points = list(
            itertools.islice(point_bodies(args.points_per_request, args.series, seed, base), n_point_bodies)
        )
        # warm-up: creates every series and warms connections, not measured (all of its bodies are
        # sent however long the first ones take: a cold start is not part of the measurement)
        await run_phase(url, "/api/v1/metrics", points[:warm], args.points_per_request, 600, 1, "warm-up")
        # the alert path's first decisions compile statements and load the model: 0.1–0.2 s each,
        # once per process, which an open-loop phase would otherwise queue behind (the points
        # phase too: the anomalies it raises take that path)
        warm_alerts = list(itertools.islice(alert_bodies(args.alerts_per_request, seed + 2, 0.5), 20))
        await run_phase(
            url, "/api/v1/alerts/alertmanager", warm_alerts, args.alerts_per_request, 600, 1, "warm-up"
        )
        if args.history:
            step = args.series / args.point_rate if args.live and args.point_rate else 15.0
            history = list(
                history_point_bodies(
                    args.points_per_request, args.series, seed, time.time(), step, args.history
                )
            )
            loaded = await run_phase(
                url, "/api/v1/metrics", history, args.points_per_request, 600, args.concurrency, "history"
            )
            sent = sum(body.count(b'"ts":') for body in history)
            Console().print(
                f"history (not measured): {sent:,} points, 0–{args.history - 1} a series, "
                f"in {loaded.seconds:.1f} s, {loaded.errors} errors"
            )
        phases: dict[str, tuple[str, Iterable[bytes], int, str]] = {
            "mixed": (
                "/api/v1/alerts/alertmanager",
                mixed,
                args.alerts_per_request,
                f"alerts, {args.new_fraction:.0%} new ({args.alerts_per_request}/request)",
            ),
            "storm": (
                "/api/v1/alerts/alertmanager",
                storm,
                args.alerts_per_request,
                f"alert storm, all new ({args.alerts_per_request}/request)",
            ),
            "points": (
                "/api/v1/metrics",
                points[warm:],
                args.points_per_request,
                f"points ({args.points_per_request}/request)",
            ),
        }
        results = []
        windows: list[tuple[str, float, float]] = []
        canary = CpuCanary()
        with canary:
            for phase in args.phases.split(","):
                path, bodies, per_body, name = phases[phase.strip()]
                rate = args.point_rate if phase.strip() == "points" else args.alert_rate
                start_at = None
                if phase.strip() == "points" and rate and args.live:
                    bodies, start_at = live_point_bodies(args, seed, rate)
                    name = f"live {name}"
                began = time.time()
                result = await run_phase(
                    url,
                    path,
                    bodies,
                    per_body,
                    args.seconds,
                    args.concurrency,
                    name,
                    server_pid,
                    rate,
                    start_at,
                )
                windows.append((name, began, time.time()))
                if "alerts" in path and args.url is None:
                    # the next phase must not pay for this one's decisions, and the rate decided counts
                    result.settle = await queue_drained(args.db)
                results.append(result)
        lag = await detection_lag(url)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    table = Table(title=f"ingest benchmark — {args.db if args.url is None else args.url}")
    for column in (
        "phase",
        "items/s",
        "decided/s",
        "requests",
        "errors",
        "p50 ms",
        "p99 ms",
        "max ms",
        "CPU (cores)",
    ):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(
            r.name,
            f"{r.rate():,.0f}",
            "" if r.settle is None else f"{r.decided_rate():,.0f}",
            str(r.requests),
            str(r.errors),
            f"{r.percentile(50):.1f}",
            f"{r.percentile(99):.1f}",
            f"{r.percentile(100):.1f}",
            " ".join(f"{who} {busy:.2f}" for who, busy in r.cpu.items()),
        )
    console = Console()
    console.print(table)
    if args.timeline:
        write_timeline(Path(args.timeline), results)
        speed_file = Path(args.timeline).with_suffix(".speed.csv")
        with speed_file.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["epoch_s", "fixed_work_cpu_ms"])
            writer.writerows((f"{at:.3f}", f"{ms:.2f}") for at, ms in canary.speed.samples)
    console.print(
        f"{platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"{datetime.now(UTC):%Y-%m-%d} · {args.seconds:.0f} s per phase, concurrency {args.concurrency}"
        + (f" · points sent at {args.point_rate:,.0f}/s" if args.point_rate else "")
        + (f" · alerts sent at {args.alert_rate:,.0f}/s" if args.alert_rate else "")
        + writeback_setting()
    )
    if lag:
        console.print(lag)
    for name, began, ended in windows:
        # read beside the latencies: a run in slow seconds is slow whatever nocbot does
        console.print(f"{name}: {canary.speed.between(began, ended).describe()}")


async def detection_lag(url: str) -> str:
    """The server's detection lag (points stored → their alerts raised) over the whole run, read
    from its histogram on /metrics: quantiles as the bucket bound they fall under."""
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    buckets: list[tuple[float, float]] = []
    for line in text.splitlines():
        if line.startswith("nocbot_detection_lag_seconds_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float(bound), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0.0
    if not total:
        return ""

    def under(q: float) -> str:
        bound = next(b for b, count in buckets if count >= q * total)
        return f"≤ {bound * 1000:.0f} ms" if bound != float("inf") else f"> {buckets[-2][0]:.0f} s"

    quantiles = f"p50 {under(0.5)}, p99 {under(0.99)}, max {under(1.0)}"
    return f"detection lag over {total:,.0f} point batches: {quantiles}"


def writeback_setting() -> str:
    """The kernel's background writeback threshold: at its default (10 % of RAM) PostgreSQL's
    extended files are written back every 30 s in one burst, which stalls commits (README)."""
    vm = Path("/proc/sys/vm")
    try:
        size = int((vm / "dirty_background_bytes").read_text())
        ratio = int((vm / "dirty_background_ratio").read_text())
    except (OSError, ValueError):
        return ""
    return (
        f" · background writeback from {size / 2**20:.0f} MiB"
        if size
        else f" · background writeback from {ratio} % of RAM"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default=f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}")
    parser.add_argument("--url", help="target a running server instead of starting one")
    parser.add_argument("--server-pid", type=int, help="with --url: the server's process, to report its CPU")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--alerts-per-request", type=int, default=100)
    parser.add_argument("--points-per-request", type=int, default=2000)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument(
        "--point-rate",
        type=float,
        help="send points at this many a second (open loop) instead of as fast as answered",
    )
    parser.add_argument(
        "--alert-rate",
        type=float,
        help="send alerts at this many a second (open loop) instead of as fast as answered",
    )
    parser.add_argument(
        "--timeline",
        help="write every request's due time and latency to this CSV file (and the core-speed "
        "samples to the same name with .speed.csv)",
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="with --point-rate: stamp points with the time they are sent (a live feed) instead of "
        "replaying 15 s steps as fast as the rate allows",
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="DEPTH",
        help="before the phases (not measured), send each series a random number of earlier points, "
        "0 to DEPTH - 1: series of different ages, as in a database that has been running, instead "
        "of all starting together (one step apart: the live feed's step with --live, else 15 s)",
    )
    parser.add_argument(
        "--new-fraction",
        type=float,
        default=0.05,
        help="share of never-seen alerts in the mixed phase (the rest are re-deliveries)",
    )
    parser.add_argument(
        "--phases",
        default="mixed,storm,points",
        help="comma-separated phases to run, in order: mixed, storm, points",
    )
    asyncio.run(main(parser.parse_args()))
