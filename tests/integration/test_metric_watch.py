"""Points through the API → the streaming detector → anomaly / predicted-breach alerts → incidents."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from bot.keys import DETECTOR_PARTITIONS, INGEST, STORE
from bot.settings import Settings
from engine.clock import FixedClock
from engine.detector_host import DetectorProcess
from engine.storage.schema import detector_state
from tests.conftest import AppClient, auth

START = 1794355200  # 2026-11-11T00:00:00Z


async def send(client: AppClient, points: list[dict[str, Any]]) -> None:
    for offset in range(0, len(points), 500):
        response = await client.post("/api/v1/metrics", json=points[offset : offset + 500], headers=auth())
        assert response.status == 200, await response.text()
    # answered once stored: the detector takes the points after the answer
    detection = client.app[INGEST].detection
    assert detection is not None
    await detection.settled()


def latency_minutes(
    rng: random.Random, labels: dict[str, str]
) -> Callable[[int, int, float], list[dict[str, Any]]]:
    """Points of one latency series a minute apart: (first minute, how many, level) → points."""

    def points(first: int, count: int, level: float) -> list[dict[str, Any]]:
        return [
            {"metric": "latency_ms", "labels": labels, "ts": START + i * 60, "value": level + rng.gauss(0, 3)}
            for i in range(first, first + count)
        ]

    return points


async def alerts_named(client: AppClient, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await (await client.get("/api/v1/alerts?limit=1000", headers=auth())).json()
    )["items"]
    return [a for a in items if a["name"] == name]


async def clustered(client: AppClient, alert_id: int, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        alert = next(a for a in await alerts_named(client, "MetricAnomaly") if a["id"] == alert_id)
        if alert["incident_id"] is not None:
            return
        assert asyncio.get_running_loop().time() < deadline, f"alert {alert_id} not clustered in {within} s"
        await asyncio.sleep(0.05)


async def test_a_spike_raises_one_anomaly_alert_that_resolves(client: AppClient) -> None:
    rng = random.Random(7)
    labels = {"service": "checkout", "host": "web-1"}
    normal = [
        {
            "metric": "latency_ms",
            "labels": labels,
            "ts": START + i * 60,
            "value": 120 + rng.gauss(0, 3),
        }
        for i in range(1500)
    ]
    spike = [
        {
            "metric": "latency_ms",
            "labels": labels,
            "ts": START + (1500 + i) * 60,
            "value": 900 + rng.gauss(0, 20),
        }
        for i in range(5)
    ]
    after = [
        {
            "metric": "latency_ms",
            "labels": labels,
            "ts": START + (1505 + i) * 60,
            "value": 120 + rng.gauss(0, 3),
        }
        for i in range(120)
    ]
    await send(client, normal)
    before = {a["id"] for a in await alerts_named(client, "MetricAnomaly")}
    # the points request stores the alert it raises and leaves its decision to the decider loop:
    # it is answered while the correlator is busy (held here), and the alert waits, unclustered
    async with client.app[INGEST]._lock:
        await asyncio.wait_for(send(client, spike), timeout=10)
        raised = [a for a in await alerts_named(client, "MetricAnomaly") if a["id"] not in before]
        assert [a["incident_id"] for a in raised] == [None]
    assert len(raised) == 1  # one alert per episode, not one per anomalous point
    anomaly = raised[0]
    assert anomaly["source"] == "anomaly" and anomaly["status"] == "firing"
    assert anomaly["labels"]["service"] == "checkout" and anomaly["labels"]["metric"] == "latency_ms"
    assert float(anomaly["annotations"]["observed"]) > 800
    assert float(anomaly["annotations"]["expected_high"]) < 800
    # it entered the alert pipeline: clustered by the decider loop once the correlator is free
    await clustered(client, anomaly["id"])
    await send(client, after)
    settled = {a["id"]: a for a in await alerts_named(client, "MetricAnomaly")}
    assert settled[anomaly["id"]]["status"] == "resolved"


async def test_a_points_request_is_answered_before_its_points_are_detected(client: AppClient) -> None:
    points = latency_minutes(random.Random(5), {"service": "checkout", "host": "web-3"})

    await send(client, points(0, 1500, 120))
    before = {a["id"] for a in await alerts_named(client, "MetricAnomaly")}
    watch, detection = client.app[INGEST].watch, client.app[INGEST].detection
    assert watch is not None and detection is not None
    async with watch._lock:  # the detector is busy: the spike is stored and answered all the same
        response = await asyncio.wait_for(
            client.post("/api/v1/metrics", json=points(1500, 5, 900), headers=auth()), timeout=10
        )
        assert response.status == 200 and (await response.json())["stored"] == 5
        assert detection.backlog == 1
        assert [a for a in await alerts_named(client, "MetricAnomaly") if a["id"] not in before] == []
    await detection.settled()
    raised = [a for a in await alerts_named(client, "MetricAnomaly") if a["id"] not in before]
    assert len(raised) == 1 and raised[0]["status"] == "firing"
    telemetry = await (await client.get("/metrics")).text()
    assert "nocbot_detection_lag_seconds_count" in telemetry
    assert "nocbot_detection_failures_total 0.0" in telemetry


async def test_a_disk_fill_is_predicted_before_it_breaches(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock
) -> None:
    client = await make_client(settings.replace(metric_limits=("disk_used_percent>=95",)), clock)
    rng = random.Random(3)
    labels = {"service": "search", "host": "search-3"}
    flat = [
        {
            "metric": "disk_used_percent",
            "labels": labels,
            "ts": START + i * 60,
            "value": 50 + rng.gauss(0, 0.3),
        }
        for i in range(240)
    ]
    fill_start = START + 240 * 60
    # rising 0.5 % a minute: crosses 95 % ninety minutes after the fill starts
    fill = [
        {
            "metric": "disk_used_percent",
            "labels": labels,
            "ts": fill_start + i * 60,
            "value": 50 + 0.5 * i + rng.gauss(0, 0.3),
        }
        for i in range(90)
    ]
    await send(client, flat)
    assert await alerts_named(client, "PredictedBreach") == []
    await send(client, fill)
    predicted = await alerts_named(client, "PredictedBreach")
    assert len(predicted) == 1
    breach_at = fill_start + 90 * 60
    raised_at = predicted[0]["starts_at"]
    from datetime import datetime

    lead_minutes = (breach_at - datetime.fromisoformat(raised_at.replace("Z", "+00:00")).timestamp()) / 60
    assert lead_minutes >= 15, f"predicted only {lead_minutes:.0f} min ahead"
    assert predicted[0]["source"] == "prediction"


async def test_detector_state_is_saved_on_shutdown(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock
) -> None:
    client = await make_client(settings, clock)
    points = [
        {"metric": "cpu", "labels": {"host": f"h{i % 3}"}, "ts": START + i, "value": 1.0} for i in range(30)
    ]
    response = await client.post("/api/v1/metrics", json=points, headers=auth())
    assert response.status == 200
    store = client.app[STORE]
    # runs cleanup_ctx: the points answered but not yet detected are detected, and what the
    # detector learned is saved
    await client.close()
    async with store.engine.connect() as conn:
        saved = (await conn.execute(select(func.count()).select_from(detector_state))).scalar_one()
    assert saved == 3


async def test_a_killed_detector_worker_is_replaced_and_series_resume_from_their_saved_state(
    client: AppClient,
) -> None:
    points = latency_minutes(random.Random(11), {"service": "checkout", "host": "web-2"})

    await send(client, points(0, 1500, 120))
    before = {a["id"] for a in await alerts_named(client, "MetricAnomaly")}
    assert await client.app[DETECTOR_PARTITIONS].save() >= 1
    watch = client.app[INGEST].watch
    assert watch is not None and isinstance(watch.detector, DetectorProcess)
    pid = watch.detector.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # the batch that finds the worker gone is scored by a new one, into which the series' saved
    # baseline was loaded: a blank detector would still be warming up and raise nothing
    await send(client, points(1500, 5, 900))
    raised = [a for a in await alerts_named(client, "MetricAnomaly") if a["id"] not in before]
    assert len(raised) == 1 and raised[0]["status"] == "firing"
    assert watch.detector.pid not in (None, pid)
