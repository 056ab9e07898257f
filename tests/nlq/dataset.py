"""A deterministic data set for the question tests: 60 days of metrics for 6 hosts, and incidents.

Plain numpy and dicts, nothing from nlq: `reference.py` computes expected answers from these raw
values, and the test loads the very same values into each database.

Points are every hour until two days before END, then every two minutes (with jitter, so they are
not all on bucket boundaries): old ranges exercise the hourly and daily rollups, recent ones the
5-minute rollups and raw points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np

END = datetime(2026, 4, 8, 10, 0, tzinfo=UTC)  # a Wednesday; questions are asked at this time
START = END - timedelta(days=60)
DENSE_FROM = END - timedelta(days=2)
# the rollup runs a little before END, so the newest points are answered from raw
ROLLED_UP_AT = END - timedelta(minutes=25)

HOSTS: dict[str, tuple[str, str]] = {  # host → (service, region)
    "web-1": ("checkout", "eu-west"),
    "web-2": ("checkout", "us-east"),
    "web-3": ("search", "eu-west"),
    "db-1": ("payments", "eu-west"),
    "db-2": ("search", "us-east"),
    "cache-1": ("inventory", "us-east"),
}
SERVICES = ("checkout", "search", "payments", "inventory")
PLAYBOOKS = ("restart-service", "scale-out", "flush-cache", "failover-db")
ALERT_NAMES = ("HighCPU", "HighLatency", "DiskFilling", "ErrorBudgetBurn", "PodCrashLooping")
LATENCY_SCALE = {"web-1": 80.0, "web-2": 130.0, "web-3": 210.0}


@dataclass(frozen=True, eq=False)
class Series:
    metric: str
    labels: dict[str, str]
    ts_ms: np.ndarray
    values: np.ndarray


@cache
def series() -> tuple[Series, ...]:
    rng = np.random.default_rng(20261126)
    sparse = np.arange(int(START.timestamp()), int(DENSE_FROM.timestamp()), 3600, dtype=np.int64)
    dense = np.arange(int(DENSE_FROM.timestamp()), int(END.timestamp()), 120, dtype=np.int64)
    out: list[Series] = []
    for index, (host, (service, region)) in enumerate(HOSTS.items()):
        labels = {"host": host, "service": service, "region": region}
        for metric in _metrics_of(host):
            jitter = (rng.integers(0, 3600, len(sparse)), rng.integers(0, 120, len(dense)))
            seconds = np.concatenate([sparse + jitter[0], dense + jitter[1]])
            seconds = np.unique(seconds)
            values = _values(metric, host, index, seconds, rng)
            out.append(Series(metric, labels, seconds * 1000 + rng.integers(0, 1000, len(seconds)), values))
    return tuple(out)


def _metrics_of(host: str) -> list[str]:
    metrics = ["cpu_usage", "memory_used_bytes"]
    if host.startswith("web"):
        metrics.append("http_request_latency_ms")
    if host.startswith("db"):
        metrics.append("fan_speed_rpm")
    if not host.startswith("web"):
        metrics.append("disk_used_percent")
    return metrics


def _values(metric: str, host: str, index: int, seconds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    hour = (seconds % 86_400) / 3600
    days = (seconds - int(START.timestamp())) / 86_400
    n = len(seconds)
    if metric == "cpu_usage":
        base = 35 + 5 * index + 18 * np.sin(2 * np.pi * (hour - 8) / 24) + rng.normal(0, 6, n)
        # web-1 runs hot on some afternoons: hours above 90 % for the threshold questions
        hot = (host == "web-1") & ((days.astype(int) % 3) == 0) & (hour >= 13) & (hour < 17)
        return np.clip(np.where(hot, base + 45, base), 0, 100)
    if metric == "memory_used_bytes":
        return 4e9 * (1 + 0.1 * index) + 2e7 * days + rng.normal(0, 5e7, n)
    if metric == "http_request_latency_ms":
        return rng.lognormal(np.log(LATENCY_SCALE[host]), 0.35, n)
    if metric == "fan_speed_rpm":
        return 3000 + 200 * index + 300 * np.sin(2 * np.pi * hour / 24) + rng.normal(0, 40, n)
    return 40 + 3 * index + 0.3 * days + rng.normal(0, 0.5, n)


@cache
def incidents() -> tuple[dict[str, Any], ...]:
    rng = np.random.default_rng(7)
    rows: list[dict[str, Any]] = []
    span = (END - START).total_seconds()
    for number in range(420):
        opened = START + timedelta(seconds=int(rng.integers(0, int(span))))
        service = SERVICES[int(rng.choice(4, p=[0.4, 0.3, 0.2, 0.1]))]
        priority = int(rng.choice(5, p=[0.08, 0.17, 0.35, 0.25, 0.15])) + 1
        acknowledged = (
            opened + timedelta(seconds=int(rng.exponential(600)) + 30) if rng.random() < 0.9 else None
        )
        resolved = None
        if rng.random() < 0.85:
            after = acknowledged or opened
            resolved = after + timedelta(seconds=int(rng.exponential(3600)) + 60)
        if resolved is not None and resolved > END:
            resolved = None
        if acknowledged is not None and acknowledged > END:
            acknowledged = None
        auto = resolved is not None and rng.random() < 0.3
        playbook = PLAYBOOKS[int(rng.integers(0, 4))] if rng.random() < 0.4 else None
        status = "resolved" if resolved else "acknowledged" if acknowledged else "open"
        rows.append(
            {
                "title": f"incident {number}",
                "status": status,
                "origin": "imported",
                "external_id": f"INC-{number}",
                "service": service,
                "services": [service],
                "priority": priority,
                "reasons": [],
                "enrichment": {},
                "alert_count": 1,
                "opened_at": opened,
                "acknowledged_at": acknowledged,
                "resolved_at": resolved,
                "auto_resolved": auto,
                "playbook": playbook,
                "updated_at": END,
                "version": 1,
            }
        )
    return tuple(rows)


@cache
def alerts() -> tuple[dict[str, Any], ...]:
    rng = np.random.default_rng(11)
    span = (END - START).total_seconds()
    rows: list[dict[str, Any]] = []
    for number in range(1500):
        starts = START + timedelta(seconds=int(rng.integers(0, int(span))))
        service = SERVICES[int(rng.choice(4, p=[0.35, 0.3, 0.25, 0.1]))]
        name = ALERT_NAMES[int(rng.integers(0, len(ALERT_NAMES)))]
        rows.append(
            {
                "fingerprint": f"{number:016x}",
                "starts_at": starts,
                "status": "firing",
                "name": name,
                "severity": 2,
                "source": "api",
                "service": service,
                "labels": {"alertname": name, "service": service},
                "annotations": {},
                "received_at": starts,
                "updated_at": starts,
            }
        )
    return tuple(rows)


def playbook_runs(incident_ids: dict[str, int]) -> list[dict[str, Any]]:
    """One run per incident that used a playbook, requested two minutes after it opened."""
    return [
        {
            "incident_id": incident_ids[row["external_id"]],
            "playbook": row["playbook"],
            "params": {},
            "status": "succeeded",
            "requested_by": "nocbot",
            "requested_at": row["opened_at"] + timedelta(minutes=2),
        }
        for row in incidents()
        if row["playbook"] is not None
    ]
