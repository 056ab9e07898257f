"""Generate the demo scenario: four hours of a small web shop's morning, compressed for `nocbot demo`.

Nothing here is real data, but every story is shaped like a real one. The estate is the catalog in
`examples/services.yaml` (frontend → checkout → payments → payments-db, search and inventory on
catalog-db, auth, orders-queue); its metric series carry background noise throughout.

Stories, in event minutes from the start (08:00 UTC on a Tuesday):

* **Disk fill** (search-2): at 0:45 a config change turns on debug logging; the data volume grows
  ~0.45 %/min from 61 %. `disk_used_percent>=95` is a configured limit, so nocbot forecasts the breach
  about 50 minutes ahead; the disk crosses 95 % at ~2:00, Alertmanager and search alert, indexing is
  rejected, and at 2:02 the logging is turned off and old logs deleted.
* **Flapping alert**: 0:18-1:16 the orders queue hovers around its 1000-message alert threshold,
  so `QueueDepthHigh` fires and resolves ten times.
* **The outage**: at 2:58 payments 4.12.0 ships a reconciliation query without its index. From 3:00
  payments-db saturates (slow queries, connections, CPU, replica lag), payments times out, checkout
  errors, the storefront serves 5xx: 36 alerts from four services within eight minutes, one
  incident. Rolled back at 3:16; everything resolves by 3:26.
* **Background**: a certificate expiring in 9 days, a failed nightly backup, clock skew on a node,
  an OOM-killed inventory pod, autovacuum saturating catalog-db (inventory and search slow down),
  a maxed-out autoscaler, and routine deploys that break nothing.

Writes, next to this script: `events.jsonl` (the `nocbot replay` recording: alertmanager webhooks,
metric batches and change events in delivery order), `history.csv` (120 days of resolved incidents
in the `import-incidents` format) and `scenario.json` (the manifest: catalog, metric limits, and
which alert fingerprints belong to which story, for tests and benchmarks).

Run `python examples/scenario/generate.py` after changing it; the output is committed, and a test
checks that regenerating gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from engine.fingerprint import label_fingerprint

HERE = Path(__file__).resolve().parent
SEED = 20260310
START = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)
MINUTES = 240
REDELIVERY_MINUTES = 10  # Alertmanager re-sends firing alerts (repeat/group interval)
METRIC_LIMITS = ("disk_used_percent>=95",)
DISK_LIMIT = 95.0
HISTORY_DAYS = 120
RUNBOOKS = "https://runbooks.shop.example"


@dataclass
class AlertSpec:
    story: str
    labels: dict[str, str]
    summary: str
    start: float  # minutes from START
    end: float | None  # None: still firing when the scenario ends
    description: str = ""

    @property
    def fingerprint(self) -> str:
        return label_fingerprint(self.labels)


@dataclass
class Series:
    metric: str
    labels: dict[str, str]
    values: list[float]


@dataclass
class Change:
    minute: float
    service: str
    kind: str
    who: str
    what: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Scenario:
    alerts: list[AlertSpec] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)

    def alert(
        self,
        story: str,
        name: str,
        severity: str,
        summary: str,
        start: float,
        end: float | None,
        **labels: str,
    ) -> None:
        self.alerts.append(
            AlertSpec(story, {"alertname": name, "severity": severity, **labels}, summary, start, end)
        )

    def find(self, metric: str, **labels: str) -> Series:
        for series in self.series:
            if series.metric == metric and all(series.labels.get(k) == v for k, v in labels.items()):
                return series
        raise KeyError(metric)


# -- metric series -------------------------------------------------------------------------------


def _noise(rng: random.Random, n: int, sd: float, phi: float = 0.6) -> list[float]:
    """AR(1) noise: real series wander a little rather than jumping independently every minute."""
    out, x = [], 0.0
    scale = sd * math.sqrt(1 - phi * phi)
    for _ in range(n):
        x = phi * x + rng.gauss(0.0, scale)
        out.append(x)
    return out


def _baseline(rng: random.Random, level: float, relative_sd: float) -> list[float]:
    return [level * (1.0 + e) for e in _noise(rng, MINUTES + 1, relative_sd)]


def _ramp(values: list[float], start: float, full: float, end: float, back: float, factor: float) -> None:
    """Multiply the series by `factor`, ramping in from `start` to `full`, out from `end` to `back`."""
    for minute in range(len(values)):
        if minute <= start or minute >= back:
            continue
        if minute < full:
            weight = (minute - start) / (full - start)
        elif minute <= end:
            weight = 1.0
        else:
            weight = (back - minute) / (back - end)
        values[minute] *= 1.0 + (factor - 1.0) * weight


def build_series(rng: random.Random) -> list[Series]:
    series: list[Series] = []
    for db, query, conns, cpu in (("payments-db", 12.0, 45.0, 30.0), ("catalog-db", 9.0, 30.0, 25.0)):
        host = {"service": db, "host": f"{db}-1"}
        series.append(Series("pg_query_p95_ms", host, _baseline(rng, query, 0.05)))
        series.append(Series("pg_connections", host, _baseline(rng, conns, 0.04)))
        series.append(Series("node_cpu_percent", host, _baseline(rng, cpu, 0.05)))
    latency = {"frontend": 180.0, "checkout": 240.0, "payments": 150.0, "inventory": 60.0, "search": 95.0}
    latency["auth"] = 35.0
    for service, level in latency.items():
        series.append(
            Series("http_request_duration_p95_ms", {"service": service}, _baseline(rng, level, 0.04))
        )
    for service, level in {"frontend": 0.4, "checkout": 0.3, "payments": 0.2}.items():
        series.append(Series("http_errors_percent", {"service": service}, _baseline(rng, level, 0.08)))
    for host, level in (("search-1", 54.0), ("search-2", 61.0), ("search-3", 57.0)):
        labels = {"service": "search", "host": host, "mountpoint": "/var/lib/search"}
        # data volumes grow slowly and steadily (indexing), with little noise
        values = [level + 0.002 * m + e for m, e in enumerate(_noise(rng, MINUTES + 1, 0.08, 0.3))]
        series.append(Series("disk_used_percent", labels, values))
    series.append(
        Series(
            "queue_depth",
            {"service": "orders-queue", "queue": "orders.created"},
            _baseline(rng, 140.0, 0.1),
        )
    )
    return series


# -- stories -------------------------------------------------------------------------------------


def disk_fill(s: Scenario, rng: random.Random) -> None:
    s.changes.append(
        Change(45, "search", "config", "bob", "search: log level DEBUG on search-2 (chasing slow queries)")
    )
    disk = s.find("disk_used_percent", host="search-2")
    for minute in range(46, 123):
        disk.values[minute] += 0.45 * (minute - 45) + rng.gauss(0.0, 0.05)
    for minute in range(123, MINUTES + 1):
        disk.values[minute] = 47.5 + 0.002 * minute + rng.gauss(0.0, 0.08)
    crossing = next(m for m, v in enumerate(disk.values) if v >= DISK_LIMIT)
    s.alert(
        "disk-fill",
        "ElasticsearchDiskWatermarkHigh",
        "critical",
        "search-2 passed the high disk watermark: shards are moving off it",
        crossing + 0.5,
        124.5,
        service="search",
        instance="search-2:9200",
    )
    s.alert(
        "disk-fill",
        "NodeFilesystemAlmostOutOfSpace",
        "critical",
        "Filesystem /var/lib/search on search-2 has less than 5% space left",
        crossing + 1.0,
        124,
        service="search",
        instance="search-2:9100",
        mountpoint="/var/lib/search",
        device="/dev/nvme1n1",
    )
    for index, pod in enumerate(("search-5c9d7-kx2lp", "search-5c9d7-q8wzt")):
        s.alert(
            "disk-fill",
            "SearchIndexingRejected",
            "error",
            f"{pod} rejects index writes: disk usage above the flood-stage watermark",
            crossing + 1.0 + index * 0.5,
            125,
            service="search",
            pod=pod,
        )
    s.changes.append(
        Change(
            122, "search", "config", "bob", "search: log level back to INFO; deleted debug logs on search-2"
        )
    )


def flapping_queue(s: Scenario, rng: random.Random) -> None:
    depth = s.find("queue_depth")
    firings = [(18, 21), (25, 27), (31, 35), (39, 41), (46, 49), (53, 55), (60, 63), (67, 69), (72, 74)]
    firings.append((76, 78))
    for minute in range(15, 80):
        depth.values[minute] = 860.0 + rng.gauss(0.0, 60.0)
    for start, end in firings:
        for minute in range(start - 1, end):
            depth.values[minute] = 1080.0 + rng.gauss(0.0, 40.0)
        s.alert(
            "flapping",
            "QueueDepthHigh",
            "warning",
            "orders.created has more than 1000 messages waiting",
            start,
            end,
            service="orders-queue",
            queue="orders.created",
        )


def outage(s: Scenario, rng: random.Random) -> None:
    s.changes.append(
        Change(
            178,
            "payments",
            "deploy",
            "ci/github-actions",
            "payments 4.12.0: nightly reconciliation query moved into the capture path (#2231)",
            {"version": "4.12.0"},
        )
    )
    # the database saturates first; its callers' symptoms follow a minute later
    for metric, service, factor, lag in (
        ("pg_query_p95_ms", "payments-db", 38.0, 0),
        ("pg_connections", "payments-db", 4.3, 0),
        ("node_cpu_percent", "payments-db", 3.1, 0),
        ("http_request_duration_p95_ms", "payments", 16.0, 1),
        ("http_errors_percent", "payments", 40.0, 1),
        ("http_request_duration_p95_ms", "checkout", 12.0, 1),
        ("http_errors_percent", "checkout", 45.0, 1),
        ("http_request_duration_p95_ms", "frontend", 9.0, 2),
        ("http_errors_percent", "frontend", 15.0, 2),
    ):
        _ramp(s.find(metric, service=service).values, 179 + lag, 183 + lag, 197, 203, factor)
    db = {"service": "payments-db"}
    a = s.alert
    a(
        "outage",
        "PostgresSlowQueries",
        "warning",
        "payments-db: p95 query time 450 ms (usually 12 ms)",
        181.5,
        204,
        **db,
        instance="payments-db-1:9187",
    )
    a(
        "outage",
        "PostgresHighCPU",
        "warning",
        "payments-db-1 CPU above 90% for 2 minutes",
        182.5,
        204.5,
        **db,
        instance="payments-db-1:9100",
    )
    a(
        "outage",
        "PostgresConnectionsNearLimit",
        "critical",
        "payments-db: 193 of 200 connections in use",
        183,
        205,
        **db,
        instance="payments-db-1:9187",
    )
    a(
        "outage",
        "PostgresReplicationLag",
        "warning",
        "payments-db-2 replica is 48 s behind the primary",
        183.5,
        206,
        **db,
        instance="payments-db-2:9187",
    )
    pods = {
        "payments": [
            "payments-7f6c9-2xkqd",
            "payments-7f6c9-9bmnr",
            "payments-7f6c9-hq4tw",
            "payments-7f6c9-zl5vp",
        ],
        "checkout": [
            "checkout-64d8b-4mf2c",
            "checkout-64d8b-8tqxz",
            "checkout-64d8b-c7wlp",
            "checkout-64d8b-jn2rd",
            "checkout-64d8b-rv6hs",
            "checkout-64d8b-x9kbt",
        ],
        "frontend": [
            "frontend-5b7d4-6wq9n",
            "frontend-5b7d4-bz8lm",
            "frontend-5b7d4-kp3vx",
            "frontend-5b7d4-t2hcr",
        ],
    }
    for i, pod in enumerate(pods["payments"]):
        a(
            "outage",
            "HighLatencyP95",
            "error",
            f"payments p95 latency 2.4 s on {pod} (SLO 300 ms)",
            184 + 0.25 * i,
            205 + 0.5 * i,
            service="payments",
            pod=pod,
        )
    for i, pod in enumerate(pods["payments"]):
        a(
            "outage",
            "DBConnectionPoolExhausted",
            "error",
            f"{pod}: all 25 payments-db connections busy, requests queueing",
            184.75 + 0.25 * i,
            204 + i * 0.5,
            service="payments",
            pod=pod,
        )
    for i, pod in enumerate(pods["payments"]):
        a(
            "outage",
            "KubePodNotReady",
            "warning",
            f"{pod} fails its readiness probe (database check)",
            185.5 + 0.25 * i,
            204.5 + 0.25 * i,
            service="payments",
            pod=pod,
        )
    for i, pod in enumerate(pods["checkout"]):
        a(
            "outage",
            "HighLatencyP95",
            "error",
            f"checkout p95 latency 2.9 s on {pod} (SLO 800 ms)",
            185.75 + 0.25 * i,
            205 + 0.25 * i,
            service="checkout",
            pod=pod,
        )
    for i, pod in enumerate(pods["checkout"]):
        a(
            "outage",
            "HighErrorRate",
            "critical",
            f"checkout 5xx rate 14% on {pod}",
            186 + 0.25 * i,
            205.5 + 0.25 * i,
            service="checkout",
            pod=pod,
        )
    a(
        "outage",
        "UpstreamTimeouts",
        "error",
        "checkout → payments: 31% of calls time out after 2 s",
        186.5,
        205,
        service="checkout",
        upstream="payments",
    )
    a(
        "outage",
        "CheckoutOrderRateDrop",
        "critical",
        "orders placed per minute down 78% from last week",
        187.5,
        207,
        service="checkout",
    )
    for i, pod in enumerate(pods["frontend"]):
        a(
            "outage",
            "HighErrorRate",
            "error",
            f"frontend 5xx rate 6% on {pod}",
            188 + 0.25 * i,
            206 + 0.25 * i,
            service="frontend",
            pod=pod,
        )
    a(
        "outage",
        "SLOBurnRateHigh",
        "critical",
        "checkout-availability SLO burning error budget at 14x",
        189,
        208,
        service="checkout",
        slo="checkout-availability",
    )
    a(
        "outage",
        "SyntheticCheckFailed",
        "critical",
        "synthetic checkout journey failed from 3 regions",
        189.5,
        206.5,
        service="frontend",
        probe="checkout-journey",
    )
    s.changes.append(
        Change(196, "payments", "rollback", "alice", "payments rolled back to 4.11.3", {"version": "4.11.3"})
    )


def background(s: Scenario, rng: random.Random) -> None:
    a = s.alert
    a(
        "cert-expiry",
        "TLSCertificateExpiringSoon",
        "warning",
        "certificate for auth.shop.example expires in 9 days",
        2,
        None,
        service="auth",
        certificate="auth-tls",
    )
    a(
        "backup",
        "BackupJobFailed",
        "warning",
        "nightly backup of catalog-db failed: WAL archive volume full",
        31,
        58,
        service="catalog-db",
        job="pg-backup",
    )
    a(
        "clock-skew",
        "NodeClockSkewDetected",
        "warning",
        "clock on node-7 is 2.3 s off NTP",
        88,
        97,
        instance="node-7:9100",
    )
    oom = {"service": "inventory"}
    a(
        "inventory-oom",
        "KubeContainerOOMKilled",
        "warning",
        "inventory-7d9f8-4jx2m was OOM-killed (512Mi)",
        141,
        150,
        **oom,
        pod="inventory-7d9f8-4jx2m",
    )
    a(
        "inventory-oom",
        "KubePodCrashLooping",
        "warning",
        "inventory-7d9f8-4jx2m is restarting (3 in 5 min)",
        142.5,
        151,
        **oom,
        pod="inventory-7d9f8-4jx2m",
    )
    a(
        "inventory-oom",
        "KubeContainerOOMKilled",
        "warning",
        "inventory-7d9f8-n8vqc was OOM-killed (512Mi)",
        143.5,
        150,
        **oom,
        pod="inventory-7d9f8-n8vqc",
    )
    a(
        "inventory-oom",
        "KubeDeploymentReplicasMismatch",
        "warning",
        "inventory: 4 of 6 replicas available",
        144,
        151.5,
        **oom,
        deployment="inventory",
    )
    # autovacuum on the products table saturates catalog-db's disk; its dependents slow down
    for metric, service, factor, lag in (
        ("pg_query_p95_ms", "catalog-db", 9.0, 0),
        ("node_cpu_percent", "catalog-db", 2.6, 0),
        ("http_request_duration_p95_ms", "inventory", 6.0, 1),
        ("http_request_duration_p95_ms", "search", 4.0, 1),
    ):
        _ramp(s.find(metric, service=service).values, 209 + lag, 212 + lag, 219, 223, factor)
    cdb = {"service": "catalog-db", "instance": "catalog-db-1:9100"}
    a(
        "catalog-db-io",
        "NodeDiskIOSaturation",
        "warning",
        "catalog-db-1 disk busy 98% (autovacuum on products)",
        211,
        222,
        **cdb,
    )
    a(
        "catalog-db-io",
        "PostgresSlowQueries",
        "warning",
        "catalog-db: p95 query time 80 ms (usually 9 ms)",
        212,
        223,
        service="catalog-db",
        instance="catalog-db-1:9187",
    )
    for i, pod in enumerate(("inventory-7d9f8-4jx2m", "inventory-7d9f8-wq7zd")):
        a(
            "catalog-db-io",
            "HighLatencyP95",
            "warning",
            f"inventory p95 latency 360 ms on {pod}",
            213 + 0.5 * i,
            223,
            service="inventory",
            pod=pod,
        )
    for i, pod in enumerate(("search-5c9d7-kx2lp", "search-5c9d7-q8wzt")):
        a(
            "catalog-db-io",
            "HighLatencyP95",
            "warning",
            f"search p95 latency 380 ms on {pod}",
            214 + 0.5 * i,
            224,
            service="search",
            pod=pod,
        )
    a(
        "hpa-maxed",
        "KubeHpaMaxedOut",
        "info",
        "auth has run at its maximum of 8 replicas for 15 minutes",
        229,
        None,
        service="auth",
        horizontalpodautoscaler="auth",
    )
    for minute, service, who, what in (
        (12, "frontend", "ci/github-actions", "frontend 2.31.0: new product card layout"),
        (64, "inventory", "ci/github-actions", "inventory 1.18.2: stock sync retries"),
        (137, "auth", "ci/github-actions", "auth 5.4.1: session cookie SameSite=Lax"),
        (165, "checkout", "ci/github-actions", "checkout 3.9.0: gift card copy"),
    ):
        s.changes.append(Change(minute, service, "deploy", who, what))


def build(seed: int = SEED) -> Scenario:
    rng = random.Random(seed)
    scenario = Scenario(series=build_series(rng))
    disk_fill(scenario, rng)
    flapping_queue(scenario, rng)
    outage(scenario, rng)
    background(scenario, rng)
    return scenario


# -- output --------------------------------------------------------------------------------------


def _at(minute: float) -> datetime:
    return START + timedelta(minutes=minute)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _am_alert(spec: AlertSpec, resolved: bool) -> dict[str, Any]:
    name = spec.labels["alertname"]
    return {
        "status": "resolved" if resolved else "firing",
        "labels": spec.labels,
        "annotations": {
            "summary": spec.summary,
            "runbook_url": f"{RUNBOOKS}/alerts/{name}",
        },
        "startsAt": _iso(_at(spec.start)),
        "endsAt": _iso(_at(spec.end)) if resolved and spec.end is not None else "0001-01-01T00:00:00Z",
        "generatorURL": f"https://prometheus.shop.example/graph?g0.expr=ALERTS%7Balertname%3D%22{name}%22%7D",
        "fingerprint": spec.fingerprint,
    }


def events(scenario: Scenario) -> list[dict[str, Any]]:
    """The recording, in delivery order; ties: changes, then metrics, then alerts."""
    timed: list[tuple[float, int, dict[str, Any]]] = []
    for change in scenario.changes:
        body = {
            "id": f"chg-{label_fingerprint({'service': change.service, 'what': change.what})[:12]}",
            "service": change.service,
            "kind": change.kind,
            "who": change.who,
            "what": change.what,
            "at": _iso(_at(change.minute)),
            "labels": change.labels,
        }
        timed.append((change.minute * 60, 0, {"at": body["at"], "kind": "changes", "body": body}))
    for minute in range(MINUTES + 1):
        ts = int(_at(minute).timestamp())
        points = [
            {"metric": s.metric, "labels": s.labels, "ts": ts, "value": round(s.values[minute], 3)}
            for s in scenario.series
        ]
        timed.append((minute * 60, 1, {"at": ts, "kind": "metrics", "body": points}))
    deliveries: dict[float, list[dict[str, Any]]] = defaultdict(list)
    for spec in scenario.alerts:
        deliveries[spec.start * 60].append(_am_alert(spec, resolved=False))
        last = spec.end if spec.end is not None else MINUTES
        again = spec.start + REDELIVERY_MINUTES
        while again < last:
            deliveries[again * 60].append(_am_alert(spec, resolved=False))
            again += REDELIVERY_MINUTES
        if spec.end is not None:
            deliveries[spec.end * 60].append(_am_alert(spec, resolved=True))
    for second, alerts in deliveries.items():
        body = {
            "version": "4",
            "status": "firing" if any(x["status"] == "firing" for x in alerts) else "resolved",
            "receiver": "nocbot",
            "groupLabels": {},
            "alerts": alerts,
        }
        at = _iso(START + timedelta(seconds=second))
        timed.append((second, 2, {"at": at, "kind": "alertmanager", "body": body}))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in timed]


# -- history -------------------------------------------------------------------------------------

# service, title, priorities to draw from, how many in the history, resolutions, playbook
_FAMILIES: tuple[tuple[str, str, str, int, tuple[str, ...], str], ...] = (
    (
        "payments-db",
        "payments-db: p95 query time {n} ms, checkout errors after a payments deploy",
        "112",
        3,
        (
            "Rolled back the payments deploy: a new query ran without its index; indexed, then redeployed",
            "Rolled back payments; killed the long-running queries",
        ),
        "payments-db-slow-queries",
    ),
    (
        "payments",
        "payments p95 latency above {n} ms",
        "223",
        5,
        ("Scaled payments from 4 to 8 pods", "Restarted a payments pod stuck on GC"),
        "high-latency",
    ),
    (
        "checkout",
        "checkout 5xx rate {n}% after a checkout deploy",
        "1223",
        4,
        ("Rolled back checkout", "Feature flag new-cart-flow turned off"),
        "high-error-rate",
    ),
    (
        "search",
        "Filesystem /var/lib/search on search-{h} is more than 90% full",
        "334",
        4,
        (
            "Turned debug logging off and deleted old logs",
            "Expanded the volume to 500 GiB",
            "Removed stale snapshots",
        ),
        "disk-full",
    ),
    (
        "orders-queue",
        "orders.created has more than 1000 messages waiting",
        "4455",
        11,
        (
            "Scaled order consumers from 4 to 8",
            "Nothing to do: drained on its own",
            "Skipped a poison message",
        ),
        "queue-backlog",
    ),
    (
        "auth",
        "certificate for auth.shop.example expires in {n} days",
        "445",
        2,
        ("Renewed the certificate; fixed the cert-manager ClusterIssuer",),
        "cert-renewal",
    ),
    (
        "catalog-db",
        "nightly backup of catalog-db failed",
        "344",
        6,
        ("Re-ran the backup after freeing the WAL archive volume", "Re-ran the backup"),
        "backup-failed",
    ),
    (
        "inventory",
        "inventory pod OOM-killed (512 MiB limit)",
        "334",
        8,
        ("Raised the inventory memory limit to 1 GiB", "Restarted inventory"),
        "memory-pressure",
    ),
    (
        "catalog-db",
        "catalog-db disk busy: autovacuum on products",
        "334",
        4,
        ("Moved autovacuum of products to the night window", "Nothing to do: vacuum finished"),
        "db-io",
    ),
    (
        "frontend",
        "frontend 5xx rate {n}% on product pages",
        "223",
        5,
        ("Rolled back frontend", "Purged the CDN cache"),
        "high-error-rate",
    ),
    (
        "search",
        "search p95 latency above {n}0 ms",
        "334",
        6,
        ("Scaled search", "Rebuilt a hot shard"),
        "high-latency",
    ),
    ("auth", "auth at maximum replicas", "45", 5, ("Raised the HPA maximum to 12",), "capacity"),
)
_ACK_MINUTES = {1: 4.0, 2: 8.0, 3: 20.0, 4: 45.0, 5: 90.0}
_RESOLVE_MINUTES = {1: 55.0, 2: 80.0, 3: 120.0, 4: 240.0, 5: 480.0}


def history(seed: int = SEED) -> list[tuple[str, ...]]:
    rng = random.Random(seed + 1)
    rows: list[tuple[datetime, str, str, int, str, str]] = []
    for service, title, priorities, count, resolutions, playbook in _FAMILIES:
        for _ in range(count):
            opened = START - timedelta(days=rng.uniform(1.5, HISTORY_DAYS))
            opened = opened.replace(second=0, microsecond=0)
            text = title.format(n=rng.randint(3, 9) * (50 if "ms" in title else 1), h=rng.randint(1, 3))
            rows.append(
                (opened, text, service, int(rng.choice(priorities)), rng.choice(resolutions), playbook)
            )
    rows.sort()
    out = []
    for number, (opened, text, service, priority, resolution, playbook) in enumerate(rows, start=1):
        ack = opened + timedelta(minutes=_ACK_MINUTES[priority] * rng.lognormvariate(0, 0.5))
        resolved = ack + timedelta(minutes=_RESOLVE_MINUTES[priority] * rng.lognormvariate(0, 0.6))
        out.append(
            (
                f"SHOP-{number:04d}",
                text,
                service,
                f"P{priority}",
                _iso(opened),
                _iso(ack.replace(microsecond=0)),
                _iso(resolved.replace(microsecond=0)),
                resolution,
                playbook,
            )
        )
    return out


def history_csv(rows: Sequence[tuple[str, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        (
            "id",
            "title",
            "service",
            "priority",
            "opened_at",
            "acknowledged_at",
            "resolved_at",
            "resolution",
            "playbook",
        )
    )
    writer.writerows(rows)
    return buffer.getvalue()


def manifest(scenario: Scenario, recording: list[dict[str, Any]], history_rows: int) -> dict[str, Any]:
    stories: dict[str, list[str]] = defaultdict(list)
    for spec in scenario.alerts:
        key = f"{spec.fingerprint}@{_iso(_at(spec.start))}"
        stories[spec.story].append(key)
    disk = scenario.find("disk_used_percent", host="search-2")
    return {
        "name": "shop-morning",
        "description": "Four hours of a small web shop: a deploy slows payments-db and checkout fails "
        "(one incident from ~30 alerts), a disk filling on search-2 (predicted before it breaches), "
        "a flapping queue alert, and background noise.",
        "start": _iso(START),
        "minutes": MINUTES,
        "catalog": "../services.yaml",
        "metric_limits": list(METRIC_LIMITS),
        "events": "events.jsonl",
        "history": "history.csv",
        "counts": {
            "events": len(recording),
            "alerts": len(scenario.alerts),
            "metric_points": len(scenario.series) * (MINUTES + 1),
            "changes": len(scenario.changes),
            "history_incidents": history_rows,
            "true_incidents": len(stories),
        },
        # alert instances (fingerprint@startsAt) of each true incident
        "stories": dict(sorted(stories.items())),
        "predicted_breach": {
            "metric": disk.metric,
            "labels": disk.labels,
            "limit": DISK_LIMIT,
        },
    }


def write(directory: Path = HERE, seed: int = SEED) -> dict[str, Path]:
    scenario = build(seed)
    recording = events(scenario)
    rows = history(seed)
    paths = {
        "events": directory / "events.jsonl",
        "history": directory / "history.csv",
        "manifest": directory / "scenario.json",
    }
    paths["events"].write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in recording))
    paths["history"].write_text(history_csv(rows), encoding="utf-8", newline="")
    paths["manifest"].write_bytes(
        orjson.dumps(manifest(scenario, recording, len(rows)), option=orjson.OPT_INDENT_2) + b"\n"
    )
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write into")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for name, path in write(args.out, args.seed).items():
        print(f"wrote {name}: {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
