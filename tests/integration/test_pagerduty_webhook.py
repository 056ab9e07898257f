"""PagerDuty webhooks v3 through the HTTP route, on both databases: real bodies signed with a test
secret, applied to the escalated incident; forged or altered deliveries change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.http.middleware import bearer_auth, json_errors
from bot.keys import CATALOG, CLOCK, RESPONDERS, SETTINGS, STORE, TIMELINE
from bot.pagerduty.keys import ESCALATION
from bot.pagerduty.routes import WEBHOOK_PATH
from bot.pagerduty.settings import PagerDutySettings
from bot.pagerduty.wiring import install_pagerduty
from bot.settings import Settings
from engine.catalog import Catalog
from engine.storage.schema import audit_log, escalations, incident_events, incidents, outbox
from integrations.pagerduty import signature
from tests.conftest import TOKEN
from tests.integration.test_pagerduty import DEFAULT_KEY, World, world  # noqa: F401 (fixture)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pagerduty"
SECRET = "test-webhook-secret"
PD_INCIDENT = "PQ1K5C8"

Client = TestClient[web.Request, web.Application]


def body_of(name: str, **data: Any) -> bytes:
    """A recorded body, its incident data changed as given (e.g. linked to our dedup key)."""
    document = json.loads((FIXTURES / name).read_text())
    target = document["event"]["data"]
    if "incident" in data:
        target["incident"].update(data.pop("incident"))
    target.update(data)
    return json.dumps(document).encode()


def event_id(body: bytes, new_id: str) -> bytes:
    document = json.loads(body)
    document["event"]["id"] = new_id
    return json.dumps(document).encode()


async def post(client: Client, body: bytes, header: str | None = "sign") -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if header == "sign":
        headers["X-PagerDuty-Signature"] = signature(body, SECRET)
    elif header is not None:
        headers["X-PagerDuty-Signature"] = header
    response = await client.post(WEBHOOK_PATH, data=body, headers=headers)
    return response.status, await response.json()


MakeClient = Callable[[PagerDutySettings], Awaitable[Client]]


@pytest.fixture
async def make_client(world: World) -> AsyncIterator[MakeClient]:  # noqa: F811
    clients: list[Client] = []

    async def make(settings: PagerDutySettings) -> Client:
        # the route and wiring of the service, over the world's store/clock/timeline/responders
        world.timeline.followers.remove(world.service)
        app = web.Application(middlewares=[json_errors, bearer_auth])
        app[SETTINGS] = Settings(ingest_token=TOKEN, public_url="https://nocbot.example")
        app[STORE] = world.store
        app[CLOCK] = world.clock
        app[TIMELINE] = world.timeline
        app[RESPONDERS] = world.responders
        app[CATALOG] = Catalog.empty()
        install_pagerduty(app, settings)
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client(
        PagerDutySettings(routing_keys={"default": DEFAULT_KEY}, webhook_secrets=("old", SECRET))
    )


async def escalated(world: World, client: Client) -> tuple[int, str]:  # noqa: F811
    """An incident escalated through the app's service, its trigger delivered, and PagerDuty's
    incident.triggered webhook linking PagerDuty's incident id to it."""
    incident_id = await world.incident()
    outcome = await client.app[ESCALATION].escalate(
        incident_id, actor="slack:U1", surface="slack", name="Ana"
    )
    assert outcome.dedup_key is not None
    await world.deliver()
    status, answer = await post(
        client, body_of("triggered_v3.json", id=PD_INCIDENT, incident_key=outcome.dedup_key)
    )
    assert (status, answer["result"]) == (200, "applied")
    return incident_id, outcome.dedup_key


async def snapshot(world: World) -> dict[str, Any]:  # noqa: F811
    return {
        table.name: await world.rows(table)
        for table in (incidents, escalations, incident_events, outbox, audit_log)
    }


async def test_acknowledged_in_pagerduty_acknowledges_the_incident(world: World, client: Client) -> None:  # noqa: F811
    incident_id, dedup_key = await escalated(world, client)
    (row,) = await world.rows(escalations)
    assert row["external_incident_id"] == PD_INCIDENT
    notes = [n["text"] for n in await world.rows(incident_events, incident_events.c.kind == "pagerduty")]
    assert notes == ["Paged in PagerDuty as incident #9: https://pig208.pagerduty.com/incidents/PFQZPSY"]
    before = await world.count(outbox, outbox.c.destination == "slack", outbox.c.kind == "reply")

    # the recorded body has no incident_key: it is found by PagerDuty's incident id
    acknowledged = body_of("acknowledged_v3.json")
    status, answer = await post(client, acknowledged)
    assert (status, answer["result"]) == (200, "applied")
    found = await world.incident_row(incident_id)
    assert (found["status"], found["acknowledged_by"]) == ("acknowledged", "PIG 208 (PagerDuty)")
    (audit,) = await world.rows(audit_log, audit_log.c.action == "acknowledge")
    assert (audit["actor"], audit["surface"]) == ("PIG 208 (PagerDuty)", "pagerduty")
    (row,) = await world.rows(escalations)
    assert row["status"] == "acknowledged"
    # the timeline note goes to the chat thread and the card is queued for a redraw
    assert await world.count(outbox, outbox.c.destination == "slack", outbox.c.kind == "reply") == before + 1
    card = await world.rows(outbox, outbox.c.kind == "card", outbox.c.incident_id == incident_id)
    assert card and card[0]["status"] == "pending"
    # nothing echoes back to PagerDuty
    await world.deliver()
    assert world.fake.actions() == [("trigger", dedup_key)]

    # a re-delivery changes nothing
    state = await snapshot(world)
    status, answer = await post(client, acknowledged)
    assert (status, answer["result"]) == (200, "unchanged")
    assert await snapshot(world) == state


async def test_forged_unsigned_and_altered_deliveries_are_401_and_change_nothing(
    world: World,  # noqa: F811
    client: Client,
) -> None:
    incident_id, _ = await escalated(world, client)
    acknowledged = body_of("acknowledged_v3.json")
    state = await snapshot(world)
    assert (await post(client, acknowledged, header=None))[0] == 401
    assert (await post(client, acknowledged, header=""))[0] == 401
    assert (await post(client, acknowledged, header=signature(acknowledged, "not-our-secret")))[0] == 401
    # a replay of a genuine signature over a body changed on the way
    altered = acknowledged.replace(b"PIG 208", b"Mallory")
    assert (await post(client, altered, header=signature(acknowledged, SECRET)))[0] == 401
    assert (await post(client, b"{}", header=signature(acknowledged, SECRET)))[0] == 401
    assert await snapshot(world) == state
    assert (await world.incident_row(incident_id))["status"] == "open"


async def test_malformed_and_unknown_deliveries(world: World, client: Client) -> None:  # noqa: F811
    await escalated(world, client)
    state = await snapshot(world)
    status, answer = await post(client, b"{not json")
    assert status == 400 and "JSON" in answer["error"]
    assert (await post(client, b'{"event": []}'))[0] == 400
    status, answer = await post(client, body_of("acknowledged_v3.json", id="PUNKNOWN"))
    assert (status, answer["result"]) == (200, "unknown_incident")
    ping = b'{"event":{"id":"01P","event_type":"pagey.ping","resource_type":"pagey","data":{}}}'
    assert (await post(client, ping))[1]["result"] == "ignored"
    assert await snapshot(world) == state


async def test_resolved_in_pagerduty_resolves_the_incident(world: World, client: Client) -> None:  # noqa: F811
    incident_id, dedup_key = await escalated(world, client)
    resolved = body_of("resolved_v3.json", id=PD_INCIDENT)
    assert (await post(client, resolved))[1]["result"] == "applied"
    found = await world.incident_row(incident_id)
    assert (found["status"], found["resolved_by"]) == ("resolved", "PIG 208 (PagerDuty)")
    await world.deliver()
    assert world.fake.actions() == [("trigger", dedup_key)]
    state = await snapshot(world)
    assert (await post(client, resolved))[1]["result"] == "unchanged"
    assert await snapshot(world) == state


async def test_status_changes_and_notes_from_pagerduty(world: World, client: Client) -> None:  # noqa: F811
    incident_id, dedup_key = await escalated(world, client)
    assert (await post(client, body_of("acknowledged_v3.json")))[1]["result"] == "applied"
    sent = [
        body_of("unacknowledged_v3.json"),
        body_of("priority_updated_v3.json", id=PD_INCIDENT, incident_key=dedup_key),
        body_of("escalated_v3.json", id=PD_INCIDENT),
        event_id(
            body_of("escalated_v3.json", id=PD_INCIDENT).replace(
                b"incident.escalated", b"incident.reassigned"
            ),
            "01REASSIGNED",
        ),
        body_of("annotated_v3.json", incident={"id": PD_INCIDENT}),
        body_of("resolved_v3.json", id=PD_INCIDENT),
        body_of("reopened_v3.json", id=PD_INCIDENT),
    ]
    for body in sent:
        status, answer = await post(client, body)
        assert (status, answer["result"]) == (200, "applied"), body[:80]
    notes = [
        n["text"]
        for n in await world.rows(incident_events, incident_events.c.incident_id == incident_id)
        if n["kind"] in ("pagerduty", "acknowledged", "resolved")
    ]
    assert notes[1:] == [
        "Acknowledged by PIG 208 (PagerDuty)",
        "Unacknowledged in PagerDuty incident #10: it pages again",
        "Priority set to P2 in PagerDuty by Harsh Santwani",
        "Escalated in PagerDuty incident #5 to Harsh Santwani",
        "Reassigned in PagerDuty incident #5 to Harsh Santwani",
        "Note in PagerDuty by Harsh Santwani: Running KILL on long-running queries from the reporting"
        "-service.",
        "closed by PIG 208 (PagerDuty)",
        "Reopened in PagerDuty incident #4 by Harsh Santwani",
    ]
    found = await world.incident_row(incident_id)
    assert (found["priority"], found["priority_source"], found["status"]) == (2, "pagerduty", "resolved")
    (row,) = await world.rows(escalations)
    assert row["status"] == "triggered" and row["resolved_at"] is None
    # every one re-delivered: nothing more
    state = await snapshot(world)
    for body in sent:
        assert (await post(client, body))[1]["result"] == "unchanged"
    assert await snapshot(world) == state


async def test_pagerdutys_published_example_is_accepted_and_its_forgery_refused(
    make_client: MakeClient,
) -> None:
    example = json.loads((FIXTURES / "published_signature_example.json").read_text())
    client = await make_client(PagerDutySettings(webhook_secrets=(example["secret"],)))
    body = example["body"].encode()
    status, answer = await post(client, body, header=example["signature"])
    assert (status, answer["result"]) == (200, "unknown_incident")  # verified; not one of ours
    assert (await post(client, body, header=example["forged_signature"]))[0] == 401


async def test_without_a_secret_the_route_is_off(make_client: MakeClient) -> None:
    client = await make_client(PagerDutySettings(routing_keys={"default": DEFAULT_KEY}))
    body = body_of("acknowledged_v3.json")
    assert (await post(client, body))[0] == 404


class FailsOnce:
    """The responders, failing the first call: the webhook stops between its two transactions."""

    def __init__(self, responders: Any) -> None:
        self.responders = responders
        self.failed = False

    async def acknowledge(self, incident_id: int, **kwargs: Any) -> Any:
        if not self.failed:
            self.failed = True
            raise RuntimeError("database went away")
        return await self.responders.acknowledge(incident_id, **kwargs)

    async def resolve(self, incident_id: int, **kwargs: Any) -> Any:
        return await self.responders.resolve(incident_id, **kwargs)


async def test_a_redelivery_finishes_what_a_failed_delivery_started(world: World, client: Client) -> None:  # noqa: F811
    incident_id, _ = await escalated(world, client)
    client.app[ESCALATION].responders = FailsOnce(world.responders)
    acknowledged = body_of("acknowledged_v3.json")
    assert (await post(client, acknowledged))[0] == 500  # PagerDuty retries what is not 2xx
    assert (await world.incident_row(incident_id))["status"] == "open"
    assert (await post(client, acknowledged))[1]["result"] == "applied"
    assert (await world.incident_row(incident_id))["status"] == "acknowledged"
    assert (await post(client, acknowledged))[1]["result"] == "unchanged"
    assert await world.count(audit_log, audit_log.c.action == "acknowledge") == 1
