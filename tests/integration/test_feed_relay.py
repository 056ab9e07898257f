"""Two replicas on one PostgreSQL share the live feed: a console on either sees every event."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.feed import FEED, INCIDENT_OPENED
from bot.feed_relay import FEED_RELAY, MAX_PAYLOAD_BYTES
from bot.keys import INGEST
from bot.settings import Settings
from tests.conftest import TOKEN, AppClient, auth, template_copy
from tests.pg_server import PgServer


@pytest.fixture
async def replicas(pg: PgServer) -> AsyncIterator[tuple[AppClient, AppClient]]:
    async with template_copy(pg, f"nocbot_relay{os.getpid()}") as url:
        settings = Settings(database_url=url, ingest_token=TOKEN)
        clients: list[AppClient] = []
        try:
            for _ in range(2):
                client: AppClient = TestClient(TestServer(create_app(settings)))
                await client.start_server()
                clients.append(client)
                await asyncio.wait_for(client.app[FEED_RELAY].connected.wait(), 10)
            yield clients[0], clients[1]
        finally:
            for client in clients:
                await client.close()


async def events_for(subscription: Any, seconds: float) -> list[Any]:
    """Every event the subscription gets within `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    events = []
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        event = await subscription.next(within=left)
        if event is not None:
            events.append(event)
    return events


async def next_of(subscription: Any, type_: str, within: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + within
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        event = await subscription.next(within=left)
        if event is not None and event.type == type_:
            return event
    raise AssertionError(f"no {type_} event within {within} s")


async def test_a_console_on_the_replica_that_does_not_decide_sees_the_incident_once(
    replicas: tuple[AppClient, AppClient],
) -> None:
    deciding, other = replicas
    assert deciding.app[INGEST].deciding and not other.app[INGEST].deciding
    async with other.app[FEED].subscription() as on_other, deciding.app[FEED].subscription() as on_deciding:
        body = {"name": "DiskFull", "severity": "critical", "labels": {"service": "db", "host": "db-1"}}
        response = await other.post("/api/v1/alerts", json=body, headers=auth())
        assert response.status == 200, await response.text()
        # the other replica only queued the alert; the decider opened the incident and told it
        opened = await next_of(on_other, INCIDENT_OPENED)
        assert isinstance(opened.data["incident_id"], int)
        seen_by_decider = [e for e in await events_for(on_deciding, 1.0) if e.type == INCIDENT_OPENED]
        later_on_other = [e for e in await events_for(on_other, 0.5) if e.type == INCIDENT_OPENED]
    # once on each replica: the decider's own event is not echoed back to it
    assert [e.data for e in seen_by_decider] == [opened.data] and later_on_other == []


async def test_an_event_too_large_for_notify_arrives_as_its_type_and_incident(
    replicas: tuple[AppClient, AppClient],
) -> None:
    first, second = replicas
    async with second.app[FEED].subscription() as on_second:
        first.app[FEED].publish("incident.updated", {"incident_id": 7, "note": "x" * MAX_PAYLOAD_BYTES})
        slim = await next_of(on_second, "incident.updated")
    assert slim.data == {"incident_id": 7, "truncated": True}
