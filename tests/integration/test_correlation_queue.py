"""The deciding replica's queue keeps deliveries in order: a queued batch is decided as it was
delivered and before any later batch of the same replica, so a replay that runs minutes of alerts a
second (the correlator's clock is then the alerts' own time) groups them as the live stream would.

The decider loop is held off in these tests (`decide_queued` replaced on the instance) and the
queue decided by hand, so what is queued when is not left to the loop's timing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.keys import INGEST
from bot.settings import Settings
from engine import ingest as ingest_module
from engine.clock import FixedClock
from engine.clustering.records import Decision
from engine.ingest import IngestService
from engine.models import Alert
from engine.storage import correlation_queue_rows
from integrations import alertmanager
from tests.conftest import TOKEN, AppClient, auth


def latency(host: str, starts: datetime, ends: datetime | None = None) -> list[Alert]:
    """One Alertmanager delivery of CheckoutLatencyHigh on `host`: firing, or resolved at `ends`."""
    item: dict[str, Any] = {
        "status": "firing" if ends is None else "resolved",
        "labels": {"alertname": "CheckoutLatencyHigh", "service": "checkout", "host": host},
        "annotations": {"summary": f"checkout p95 latency high on {host}"},
        "startsAt": starts.isoformat(),
    }
    if ends is not None:
        item["endsAt"] = ends.isoformat()
    webhook = {"version": "4", "status": item["status"], "alerts": [item]}
    return alertmanager.parse_webhook(webhook, now=starts)


async def incident_by_host(client: AppClient) -> dict[str, int | None]:
    page = await (await client.get("/api/v1/alerts?limit=100", headers=auth())).json()
    return {a["labels"]["host"]: a["incident_id"] for a in page["items"]}


async def hold_off_the_loop(ingest: IngestService) -> None:
    async def nothing(limit: int = 0) -> int:
        return 0

    ingest.decide_queued = nothing  # type: ignore[method-assign]


async def decide_all(ingest: IngestService) -> None:
    while await IngestService.decide_queued(ingest):
        pass


async def test_a_queued_firing_delivery_is_decided_firing_though_its_resolution_was_stored_first(
    make_client: Callable[..., Awaitable[AppClient]], database_url: str, clock: FixedClock
) -> None:
    client = await make_client(Settings(database_url=database_url, ingest_token=TOKEN), clock)
    ingest = client.app[INGEST]
    await hold_off_the_loop(ingest)
    start = clock.now() + timedelta(hours=2)  # a replay: the alerts' time is ahead of the wall clock

    await ingest.alerts(latency("co-1", start))  # decided at once: nothing is queued
    await ingest.alerts(latency("co-2", start + timedelta(minutes=1)), queue=True)
    # its resolution arrives before the decider took it: queued behind it, and the row now says resolved
    await ingest.alerts(latency("co-2", start + timedelta(minutes=1), ends=start + timedelta(minutes=30)))
    assert (await incident_by_host(client))["co-2"] is None, "held in the queue"

    await decide_all(ingest)
    incidents = await incident_by_host(client)
    # decided as resolved, at 30 min, it would find co-1's incident long out of its time window
    assert incidents["co-2"] == incidents["co-1"] is not None


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_batch_queued_while_the_decider_takes_the_queue_is_still_decided_before_later_ones(
    make_client: Callable[..., Awaitable[AppClient]],
    database_url: str,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL only: there a batch can commit to the queue after the decider's read of it began,
    which the read does not see. (SQLite writes one transaction at a time.)"""
    client = await make_client(Settings(database_url=database_url, ingest_token=TOKEN), clock)
    ingest = client.app[INGEST]
    await hold_off_the_loop(ingest)
    start = clock.now() + timedelta(hours=2)
    await ingest.alerts(latency("co-1", start), queue=True)

    take = correlation_queue_rows.take

    async def take_while_another_batch_commits(conn: Any, limit: int) -> Any:
        taken = await take(conn, limit)
        await ingest.alerts(latency("co-2", start + timedelta(minutes=1)))  # queued: co-1 waits
        return taken

    monkeypatch.setattr(correlation_queue_rows, "take", take_while_another_batch_commits)
    assert await IngestService.decide_queued(ingest) == 1  # co-1 only: co-2 came after its read
    monkeypatch.setattr(correlation_queue_rows, "take", take)

    await ingest.alerts(latency("co-3", start + timedelta(minutes=2)))
    incidents = await incident_by_host(client)
    assert incidents["co-1"] is not None
    assert incidents["co-2"] is None and incidents["co-3"] is None, "co-3 went ahead of co-2, still queued"

    await decide_all(ingest)
    incidents = await incident_by_host(client)
    assert incidents["co-1"] == incidents["co-2"] == incidents["co-3"]


async def test_the_loop_runs_between_pieces_of_a_large_decision(
    make_client: Callable[..., Awaitable[AppClient]],
    database_url: str,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A queue taken during an alert storm is correlated in slices: requests are served between
    them (before, 2,000 deliveries held the event loop 0.9-1.9 s), and the decisions are the same."""
    client = await make_client(Settings(database_url=database_url, ingest_token=TOKEN), clock)
    ingest = client.app[INGEST]
    await hold_off_the_loop(ingest)
    start = clock.now()
    hosts = [f"co-{n}" for n in range(30)]
    for second, host in enumerate(hosts):
        await ingest.alerts(latency(host, start + timedelta(seconds=second)), queue=True)

    monkeypatch.setattr(ingest_module, "CORRELATION_SLICE", 0.0)  # a slice ends after each delivery
    turns = 0
    seen_at: list[int] = []
    correlate = ingest.correlator.ingest

    def counting(alert: Alert, now: datetime) -> Decision:
        seen_at.append(turns)
        return correlate(alert, now)

    monkeypatch.setattr(ingest.correlator, "ingest", counting)

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(other_work())
    try:
        await decide_all(ingest)
    finally:
        other.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await other
    assert len(seen_at) == len(hosts)
    assert len(set(seen_at)) == len(hosts), "other work ran between every two deliveries"
    incidents = await incident_by_host(client)
    assert set(incidents) == set(hosts)
    assert len(set(incidents.values())) == 1 and None not in incidents.values()
