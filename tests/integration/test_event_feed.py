"""The event feed over HTTP: what ingestion and responders do arrives on /api/v1/events, in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.feed import FEED
from bot.settings import Settings
from engine.clock import FixedClock
from tests.conftest import TOKEN, AppClient, auth


@pytest.fixture
async def feed_client(settings: Settings, clock: FixedClock) -> AsyncIterator[AppClient]:
    client: AppClient = TestClient(TestServer(create_app(settings, clock=clock)))
    await client.start_server()
    yield client
    await client.close()


async def next_event(stream: ClientResponse, within: float = 5.0) -> tuple[str, str, dict[str, Any]]:
    """The next event frame: (id, type, data); comments and the retry line are skipped."""
    fields: dict[str, str] = {}
    async with asyncio.timeout(within):
        while True:
            line = (await stream.content.readline()).decode()
            if line == "":
                raise AssertionError("the stream ended")
            line = line.rstrip("\n")
            if not line:
                if "data" in fields:
                    return fields["id"], fields["event"], json.loads(fields["data"])
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = value


async def events_until(stream: ClientResponse, wanted: str) -> list[tuple[str, str, dict[str, Any]]]:
    seen = []
    while True:
        seen.append(await next_event(stream))
        if seen[-1][1] == wanted:
            return seen


def alert(name: str, service: str, severity: str = "critical") -> dict[str, Any]:
    return {"name": name, "severity": severity, "labels": {"service": service, "instance": f"{service}-1"}}


async def test_the_stream_needs_the_bearer_token(feed_client: AppClient) -> None:
    assert (await feed_client.get("/api/v1/events")).status == 401
    assert (await feed_client.get("/api/v1/events", headers=auth("wrong"))).status == 401


async def test_alerts_and_incident_lifecycle_arrive_as_events(feed_client: AppClient) -> None:
    stream = await feed_client.get("/api/v1/events", headers=auth())
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")

    response = await feed_client.post("/api/v1/alerts", json=[alert("DiskFull", "db")], headers=auth())
    assert response.status == 200
    received = await events_until(stream, "incident.opened")
    assert [kind for _, kind, _ in received] == ["alerts.received", "incident.opened"]
    alerts_event, opened = received[0][2], received[1][2]
    assert alerts_event["count"] == 1 and alerts_event["alerts"][0]["name"] == "DiskFull"
    incident_id = opened["incident_id"]
    assert alerts_event["alerts"][0]["incident_id"] == incident_id
    assert opened["incident"]["status"] == "open" and opened["incident"]["services"] == ["db"]

    second = {**alert("DiskFull", "db"), "labels": {"service": "db", "instance": "db-2"}}
    await feed_client.post("/api/v1/alerts", json=[second], headers=auth())
    grew = await events_until(stream, "incident.grew")
    assert grew[-1][2]["incident_id"] == incident_id and grew[-1][2]["new_alerts"] == 1

    ack = await feed_client.post(
        f"/api/v1/incidents/{incident_id}/acknowledge", json={"actor": "bob"}, headers=auth()
    )
    assert ack.status == 200
    acknowledged = (await events_until(stream, "incident.acknowledged"))[-1][2]
    assert acknowledged["by"] == "bob" and acknowledged["incident"]["status"] == "acknowledged"

    await feed_client.post(f"/api/v1/incidents/{incident_id}/resolve", json={"actor": "bob"}, headers=auth())
    resolved = (await events_until(stream, "incident.resolved"))[-1][2]
    assert resolved["by"] == "bob" and resolved["automatically"] is False
    stream.close()


async def test_other_parts_publish_and_a_reconnect_resumes(feed_client: AppClient) -> None:
    feed = feed_client.app[FEED]
    first = await feed_client.get("/api/v1/events", headers=auth())
    step = feed.publish("playbook.step", {"incident_id": 7, "run": 3, "step": "restart", "text": "restarted"})
    event_id, kind, data = await next_event(first)
    assert (event_id, kind) == (step.id, "playbook.step")
    assert data["run"] == 3 and data["incident_id"] == 7 and data["at"]
    first.close()

    feed.publish("incident.escalated", {"incident_id": 7, "text": "paged alice"})
    feed.publish("incident.escalated", {"incident_id": 8, "text": "paged bob"})
    again = await feed_client.get("/api/v1/events", headers={**auth(), "Last-Event-ID": step.id})
    missed = [await next_event(again), await next_event(again)]
    assert [data["text"] for _, _, data in missed] == ["paged alice", "paged bob"]
    again.close()

    stranger = await feed_client.get("/api/v1/events?last_event_id=0badf00d-12", headers=auth())
    assert (await next_event(stranger))[1] == "feed.reset"
    stranger.close()


async def test_shutdown_ends_open_streams(settings: Settings, clock: FixedClock) -> None:
    app = create_app(settings, clock=clock)
    runner = web.AppRunner(app, shutdown_timeout=30)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession() as session:
        stream = await session.get(
            f"http://127.0.0.1:{port}/api/v1/events", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        await stream.content.readline()
        async with asyncio.timeout(10):  # far less than the shutdown timeout: the stream was ended
            await runner.cleanup()
        assert app[FEED].subscribers == 0
