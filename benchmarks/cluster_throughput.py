"""Throughput and latency of dedup + clustering with many incidents open.

    .venv/bin/python benchmarks/cluster_throughput.py [--open 1000] [--alerts 20000] [--rate 1] [--seed 1]

A synthetic estate (280 services in a layered catalog: datastores, services calling them and each
other, edge services calling many) starts with `--open` incidents restored as open and still
firing, opened over the previous `--spread-min` minutes (default two hours: most are past their
join window, as on a bad day). Then a stream of Alertmanager deliveries arrives: outages (a failing
component and some of its dependents alerting within minutes) and isolated alerts, at `--rate` new
alert instances per second of alert time (default 1/s, about 86,000 alerts a day: a storm), each
firing alert re-delivered about every two minutes until it resolves 10 to 60 minutes later (the
cadence of the shared scenarios: some 20 deliveries per alert).

Every delivery goes through `AlertCorrelator.ingest` one call at a time and is timed. Reported:
deliveries per second over the whole stream with p50/p99 per call, and p50/p99 of the calls that
carried a new alert instance (the ones that are clustered). Targets: >= 20,000 alerts/s and
p99 < 1 ms. Alerts are built before timing: parsing JSON is the webhook's cost, not the engine's.
`--spread-min 3` restores all open incidents inside the join window instead (the worst case for
candidate lookup: none has been sealed out of the index).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import timeit
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from engine.catalog import Catalog  # noqa: E402
from engine.clustering import AlertCorrelator, ClusteringConfig, StoredIncident, label_fingerprint  # noqa: E402
from engine.models import Alert, AlertSource, AlertStatus, Service, Severity  # noqa: E402

ALERT_NAMES = [
    "HighErrorRate", "HighLatencyP99", "PodCrashLooping", "SLOBurnRateHigh", "UpstreamTimeouts",
    "DatabaseHighLatency", "ReplicationLagHigh", "ConnectionsNearLimit", "DiskSpaceLow", "QueueBacklog",
    "CacheEvictionsHigh", "CertificateExpiringSoon", "BackupJobFailed", "ClockSkewDetected", "OOMKilled",
    "ThreadPoolExhausted", "GCPauseLong", "CircuitBreakerOpen", "RateLimited", "DNSFailures",
]
START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TARGET_RATE = 20_000.0
TARGET_P99_MS = 1.0


def build_catalog(rng: random.Random, stores: int = 40, services: int = 220, edges: int = 20) -> Catalog:
    entries: list[Service] = [Service(f"store-{i:02d}", kind="database") for i in range(stores)]
    middle: list[str] = []
    for i in range(services):
        deps = rng.sample([s.name for s in entries[:stores]], k=rng.randint(1, 3))
        if middle and rng.random() < 0.3:
            deps.append(rng.choice(middle))
        name = f"svc-{i:03d}"
        entries.append(Service(name, depends_on=tuple(sorted(set(deps)))))
        middle.append(name)
    for i in range(edges):
        calls = tuple(sorted(rng.sample(middle, k=rng.randint(5, 10))))
        entries.append(Service(f"edge-{i:02d}", depends_on=calls))
    return Catalog.from_services(entries)


def make_alert(rng: random.Random, service: str, at: datetime) -> Alert:
    name = rng.choice(ALERT_NAMES)
    pod = f"{service}-{rng.getrandbits(20):05x}"
    labels = {
        "alertname": name, "service": service, "pod": pod, "instance": f"node-{rng.randint(1, 60)}:9100",
        "cluster": "prod-1", "severity": rng.choice(["warning", "critical"]),
    }
    summary = f"{service}: {name} at {rng.randint(1, 999)} on {pod}"
    return Alert(
        fingerprint=label_fingerprint(labels), name=name, status=AlertStatus.FIRING,
        severity=Severity.parse(labels["severity"]), labels=labels, annotations={"summary": summary},
        starts_at=at, source=AlertSource.ALERTMANAGER,
    )


def seeded_engine(
    rng: random.Random, catalog: Catalog, open_incidents: int, spread: float
) -> AlertCorrelator:
    """An engine holding `open_incidents` incidents of three firing alerts, opened over `spread` s."""
    engine = AlertCorrelator(ClusteringConfig(), catalog)
    services = sorted(catalog.services)
    stored = []
    for incident_id in range(1, open_incidents + 1):
        opened = START - timedelta(seconds=rng.uniform(0, spread))
        service = rng.choice(services)
        alerts = [make_alert(rng, service, opened + timedelta(seconds=i * 5)) for i in range(3)]
        stored.append(StoredIncident(incident_id, alerts))
    engine.restore(stored, START)
    return engine


@dataclass(frozen=True)
class Delivery:
    alert: Alert
    at: datetime
    new: bool  # the first delivery of its instance


def outage_stream(rng: random.Random, catalog: Catalog, new_alerts: int, rate: float) -> list[Delivery]:
    """Deliveries of `new_alerts` alert instances, arriving at `rate` new instances per second."""
    services = sorted(catalog.services)
    dependents = {name: sorted(catalog.dependents(name)) for name in services}
    deliveries: list[Delivery] = []
    clock = START
    made = 0
    while made < new_alerts:
        if rng.random() < 0.7:  # an outage: the component, then some of what depends on it
            root = rng.choice(services)
            hit = [root, *rng.sample(dependents[root], k=min(len(dependents[root]), rng.randint(0, 6)))]
            starts = [(service, clock + timedelta(seconds=rng.uniform(0, 150))) for service in hit]
        else:  # an isolated alert
            starts = [(rng.choice(services), clock)]
        for service, started in starts:
            alert = make_alert(rng, service, started)
            deliveries.extend(_lifecycle(rng, alert))
            made += 1
        clock += timedelta(seconds=rng.expovariate(rate / len(starts)))
    deliveries.sort(key=lambda d: d.at)
    return deliveries


def _lifecycle(rng: random.Random, alert: Alert) -> list[Delivery]:
    """First delivery, re-deliveries while firing, then the resolution.

    Cadence as in the shared scenarios: an alert fires for 10 to 60 minutes and is re-delivered
    about every two minutes, some 20 deliveries per alert.
    """
    ends = alert.starts_at + timedelta(minutes=rng.uniform(10, 60))
    at = alert.starts_at + timedelta(seconds=rng.uniform(5, 30))
    out = [Delivery(alert, at, True)]
    at += timedelta(seconds=rng.uniform(90, 150))
    while at < ends:
        out.append(Delivery(alert, at, False))
        at += timedelta(seconds=rng.uniform(90, 150))
    resolved = Alert(alert.fingerprint, alert.name, AlertStatus.RESOLVED, alert.severity, alert.labels,
                     alert.annotations, alert.starts_at, ends, alert.source)
    out.append(Delivery(resolved, ends, False))
    return out


def percentile(ordered: Sequence[int], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1e6


@dataclass
class Clock:
    """Per-call times on one clock, for every delivery and for those carrying a new instance."""

    name: str
    every: list[int]
    new: list[int]
    total_ns: int = 0

    def summary(self) -> tuple[str, float, float]:
        every = sorted(self.every)
        new = sorted(self.new)
        rate = len(every) / (self.total_ns / 1e9)
        p99 = percentile(every, 0.99)
        text = (
            f"{self.name:<5} deliveries {len(every):>7} {rate:>9,.0f} alerts/s  "
            f"p50 {percentile(every, 0.5):.3f} ms  p99 {p99:.3f} ms | "
            f"new instances {len(new):>6}  p50 {percentile(new, 0.5):.3f} ms  "
            f"p99 {percentile(new, 0.99):.3f} ms  mean {statistics.fmean(new) / 1e6:.3f} ms"
        )
        return text, rate, p99


def run(engine: AlertCorrelator, stream: Sequence[Delivery]) -> tuple[Clock, Clock]:
    """Time every call on the wall clock and on this thread's CPU clock.

    On a shared machine the wall clock also counts time spent descheduled for other processes;
    the CPU clock is the engine's own work.
    """
    ingest = engine.ingest
    wall_clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    wall = Clock("wall", [], [])
    cpu = Clock("cpu", [], [])
    wall_began, cpu_began = wall_clock(), cpu_clock()
    for delivery in stream:
        wall_before, cpu_before = wall_clock(), cpu_clock()
        ingest(delivery.alert, delivery.at)
        cpu_spent, wall_spent = cpu_clock() - cpu_before, wall_clock() - wall_before
        wall.every.append(wall_spent)
        cpu.every.append(cpu_spent)
        if delivery.new:
            wall.new.append(wall_spent)
            cpu.new.append(cpu_spent)
    wall.total_ns = wall_clock() - wall_began
    cpu.total_ns = cpu_clock() - cpu_began
    return wall, cpu


def machine_speed() -> float:
    """Microseconds for sum(range(1000)): about 8-10 on a recent laptop, to read the figures against."""
    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--open", type=int, default=1000, help="open incidents before the stream")
    parser.add_argument("--alerts", type=int, default=20_000, help="new alert instances in the stream")
    parser.add_argument("--rate", type=float, default=1.0,
                        help="new alert instances per second of alert time")
    parser.add_argument("--spread-min", type=float, default=120.0,
                        help="the open incidents were opened over this many minutes before the stream")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    catalog = build_catalog(rng)
    engine = seeded_engine(rng, catalog, args.open, args.spread_min * 60)
    stream = outage_stream(rng, catalog, args.alerts, args.rate)
    wall, cpu = run(engine, stream)
    sizes = engine.memory()
    print(f"estate: {len(catalog)} services; {args.open} open incidents restored (opened over the last "
          f"{args.spread_min:g} min); {len(cpu.new)} new alerts at {args.rate:g}/s of alert time")
    print(f"machine: sum(range(1000)) takes {machine_speed():.1f} us (about 8-10 us on a recent laptop)")
    results = [clock.summary() for clock in (wall, cpu)]
    for text, _, _ in results:
        print(text)
    print(f"after: {sizes['open_incidents']} open incidents, {sizes['indexed_incidents']} taking new alerts, "
          f"{sizes['instances']} alert instances held")
    _, rate, p99 = results[0]
    passed = rate >= TARGET_RATE and p99 < TARGET_P99_MS
    verdict = "ok" if passed else "MISSED"
    print(f"target on the wall clock (>= {TARGET_RATE:,.0f} alerts/s, p99 < {TARGET_P99_MS:g} ms): {verdict}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
