"""Prometheus metrics of the service itself, on a registry owned by the app (no process globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from engine.detection_feed import Detected


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.ingested = Counter(
            "nocbot_ingested_total",
            "Items accepted by the ingestion API, by kind and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "nocbot_rejected_requests_total",
            "Requests refused, by route and HTTP status.",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "nocbot_http_request_seconds",
            "Time to serve a request, by route.",
            ["route", "method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )

        self.detection_lag = Histogram(
            "nocbot_detection_lag_seconds",
            "Time from a point batch being stored to the detector's alerts for it being raised.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.detection_failures = Counter(
            "nocbot_detection_failures_total",
            "Point batches stored whose detection failed (their points stay stored, unlearned).",
            registry=self.registry,
        )

    def detected(self, outcome: Detected) -> None:
        if outcome.failed:
            self.detection_failures.inc()
        else:
            self.detection_lag.observe(outcome.lag)

    def render(self) -> bytes:
        return generate_latest(self.registry)
