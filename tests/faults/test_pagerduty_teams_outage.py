"""PagerDuty's Events API and Teams' Bot Connector answering 429s and 500s for a while under a running
`nocbot serve`, while incidents open, are escalated from Teams, acknowledged and resolved: once they
recover, every incident's card is in Teams once, showing its last state, its thread in order, and
PagerDuty got each incident's trigger, acknowledge and resolve in that order under one dedup key,
each sent until PagerDuty took it and never after; nothing is left in the outbox.

Teams has no idempotency key to find a post by: a post or thread reply whose answer was lost may be
posted again, and `bot.teams.outbox` says so (at least once there). So Teams fails here with 429s and
with 500s where it did nothing, and with 500s after an update took effect (updating a card twice
is harmless). PagerDuty also answers 500 after accepting an event: it folds repeats by dedup key.

The acknowledge and resolve come while the trigger is still failing: sent before it, PagerDuty would
drop them (no alert with that key yet) and then open the alert for good.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.storage import conversation_rows
from engine.storage.database import open_engine
from engine.storage.schema import escalations, incidents, outbox
from engine.view import ActionKind, ActionValue
from tests.conftest import TOKEN
from tests.fakes.pagerduty_events import FakePagerDuty
from tests.fakes.teams_connector import APP_ID, APP_PASSWORD, TENANT_ID, FakeTeams, Message
from tests.faults.replicas import Replica, send
from tests.faults.teams_serve import IDENTITY_URL
from tests.integration.test_teams_surface import DB_CRITICAL, MESSAGES, TEAM, bot_added, execute
from tests.integration.test_teams_surface import INCIDENTS as INCIDENTS_CHANNEL

pytestmark = pytest.mark.postgres

OUTAGE_SECONDS = 8.0  # the 60 s, shortened for CI
INCIDENTS = 4
ROUTING_KEY = "R" * 32
# two channels: Teams paces each conversation on its own (bot.teams.pacing)
CHANNEL_OF = {"svc1": INCIDENTS_CHANNEL, "svc2": DB_CRITICAL, "svc3": INCIDENTS_CHANNEL, "svc4": DB_CRITICAL}
BEFORE = ("svc1", "svc2")  # opened, and carded, before the outage: it updates their cards
DURING = ("svc3", "svc4")  # opened during it: it fails their posts
ROUTES = "service=svc2:DB critical;service=svc4:DB critical;*:Incidents"
ACTIVITIES = ["send", "reply", "update"]  # the Bot Connector calls of delivery (not tokens or channels)
ROOT = Path(__file__).resolve().parents[2]  # `python -m tests.faults.teams_serve` imports from here


async def until(condition: Callable[[], Awaitable[bool]], within: float, what: Callable[[], str]) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:g} s: {what()}")
        await asyncio.sleep(0.2)


def services_of(card: Message) -> str:
    """The Services fact of a posted incident card."""
    body = card.activity["attachments"][0]["content"]["body"]
    facts = next(part["facts"] for part in body if part.get("type") == "FactSet")
    return str(next(fact["value"] for fact in facts if fact["title"] == "Services"))


def status_of(card: Message) -> str:
    body = card.activity["attachments"][0]["content"]["body"]
    facts = next(part["facts"] for part in body if part.get("type") == "FactSet")
    return str(next(fact["value"] for fact in facts if fact["title"] == "Status"))


def alert(service: str, started: datetime) -> dict[str, Any]:
    return {
        "name": f"{service.capitalize()}Down",
        "severity": "critical",
        "labels": {"service": service, "host": f"{service}-1"},
        "starts_at": started.isoformat(),
    }


async def test_pagerduty_and_teams_outages_delay_but_neither_lose_reorder_nor_repeat(
    pg_url: str, tmp_path: Path
) -> None:
    async with FakeTeams() as teams, FakePagerDuty() as pagerduty, aiohttp.ClientSession() as session:
        teams.add_team(TEAM, [(TEAM, None), (INCIDENTS_CHANNEL, "Incidents"), (DB_CRITICAL, "DB critical")])
        env = {
            "NOCBOT_DATABASE_URL": pg_url,
            "NOCBOT_INGEST_TOKEN": TOKEN,
            "NOCBOT_TEAMS_APP_ID": APP_ID,
            "NOCBOT_TEAMS_APP_PASSWORD": APP_PASSWORD,
            "NOCBOT_TEAMS_TENANT_ID": TENANT_ID,
            "NOCBOT_TEAMS_ROUTES": ROUTES,
            "NOCBOT_PAGERDUTY_ROUTING_KEYS": f"default={ROUTING_KEY}",
            "NOCBOT_PAGERDUTY_EVENTS_URL": pagerduty.url,
            IDENTITY_URL: teams.url,
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        }
        log = str(tmp_path / "only.log")  # the service's log, to read when this fails
        replica = Replica("only", env, log_path=log, module="tests.faults.teams_serve")
        await replica.start(session)
        engine = open_engine(pg_url)
        try:
            await _run(replica, session, engine, teams, pagerduty)
        finally:
            await replica.stop()
            await engine.dispose()


async def _run(
    replica: Replica,
    session: aiohttp.ClientSession,
    engine: AsyncEngine,
    teams: FakeTeams,
    pagerduty: FakePagerDuty,
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}

    async def to_bot(activity: dict[str, Any]) -> int:
        signed = {"Authorization": f"Bearer {teams.channel_token()}"}
        async with session.post(replica.url + MESSAGES, json=activity, headers=signed) as response:
            return response.status

    # the bot is added to the team: it stores the General channel, then learns the team's others
    assert await to_bot(bot_added(teams)) == 202

    async def channels_known() -> bool:
        async with engine.connect() as conn:
            known = {ref.channel for ref in await conversation_rows.all_of(conn, "teams")}
        return {INCIDENTS_CHANNEL, DB_CRITICAL} <= known

    await until(channels_known, within=20, what=lambda: "the bot learnt the team's channels")

    opened = datetime.now(UTC) - timedelta(minutes=1)

    async def open_incidents(services: tuple[str, ...]) -> None:
        for service in services:
            body = [alert(service, opened)]
            assert await send(session, [replica], "/api/v1/alerts", body, headers) in (200, 202)

    await open_incidents(BEFORE)
    await teams.wait_until(lambda: len(teams.posts()) == len(BEFORE), within=20)

    # in turn (the first fault that applies answers): 429s, then 500s where nothing was done, then
    # 500s after the work was done — for Teams only for updates (see the module docstring)
    started = time.monotonic()
    pagerduty.fail(429, seconds=OUTAGE_SECONDS / 3, retry_after="1")
    pagerduty.fail(500, seconds=OUTAGE_SECONDS * 2 / 3)
    pagerduty.fail(500, seconds=OUTAGE_SECONDS, after_processing=True)
    teams.rate_limit(seconds=OUTAGE_SECONDS / 3, retry_after=1, kinds=ACTIVITIES)
    teams.fail(seconds=OUTAGE_SECONDS * 2 / 3, kinds=ACTIVITIES)
    teams.fail(seconds=OUTAGE_SECONDS, kinds=["send", "reply"])
    teams.fail(seconds=OUTAGE_SECONDS, after_processing=True, kinds=["update"])

    await open_incidents(DURING)
    for incident_id in range(1, INCIDENTS + 1):
        escalate = execute(teams, ActionValue(incident_id, 1, ActionKind.ESCALATE))
        assert await to_bot(escalate) == 200

    async def all_escalated() -> bool:
        async with engine.connect() as conn:
            escalated = await conn.scalar(select(func.count()).select_from(escalations))
        return bool(escalated == INCIDENTS)

    await until(all_escalated, within=20, what=lambda: "every incident escalated")

    # acknowledged and resolved while the triggers are still failing: what PagerDuty gets must
    # still be trigger, acknowledge, resolve
    for action, at in (("acknowledge", OUTAGE_SECONDS / 2), ("resolve", OUTAGE_SECONDS * 3 / 4)):
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        for incident_id in range(1, INCIDENTS + 1):
            path = f"/api/v1/incidents/{incident_id}/{action}"
            assert await send(session, [replica], path, {"actor": "ana"}, headers) == 200

    async with engine.connect() as conn:
        opened_rows = (await conn.execute(select(incidents.c.id, incidents.c.service))).all()
        paged_rows = (await conn.execute(select(escalations.c.incident_id, escalations.c.dedup_key))).all()
    service_of = {int(incident_id): str(service) for incident_id, service in opened_rows}
    dedup_of = {int(incident_id): str(dedup_key) for incident_id, dedup_key in paged_rows}
    assert sorted(service_of.values()) == sorted(CHANNEL_OF), "one incident per service"

    def taken(action: str, dedup_key: str) -> int:
        """How many times PagerDuty answered 202 to this event."""
        return sum(
            1
            for event, status in pagerduty.requests
            if status == 202 and event is not None
            and (event["event_action"], event["dedup_key"]) == (action, dedup_key)
        )  # fmt: skip

    def cards_of(service: str) -> list[Message]:
        return [card for card in teams.posts() if services_of(card) == service]

    async def settled() -> bool:
        if not all(taken("resolve", key) for key in dedup_of.values()):
            return False
        for service in CHANNEL_OF:
            cards = cards_of(service)
            if not cards or len(teams.replies(cards[0].id)) < 3 or "Resolved" not in status_of(cards[0]):
                return False
        async with engine.connect() as conn:
            unsent = await conn.scalar(select(func.count()).where(outbox.c.status != "sent"))
        return bool(unsent == 0)

    def progress() -> str:
        return f"pagerduty {pagerduty.actions()}; teams posts {len(teams.posts())}"

    await until(settled, within=OUTAGE_SECONDS + 45, what=progress)
    await asyncio.sleep(2)  # anything still queued, or sent again, would show up now

    # Teams: one card per incident, in its routed channel, threads in order, each once
    assert len(teams.posts()) == INCIDENTS, [services_of(card) for card in teams.posts()]
    for incident_id, service in service_of.items():
        (card,) = cards_of(service)
        assert card.conversation == CHANNEL_OF[service]
        texts = [str(reply.activity.get("text")) for reply in teams.replies(card.id)]
        assert len(texts) == 3, texts
        assert texts[0] == "Escalated to PagerDuty by Ana Lima", texts
        assert texts[1] == "Acknowledged by ana", texts
        assert texts[2].startswith("closed by ana"), texts
        assert status_of(card).startswith("Resolved"), f"#{incident_id} shows its last state"
        if service in BEFORE:
            assert card.updates >= 1, "posted before the outage, updated through it"
    refused = [(call.kind, call.status) for call in teams.calls if call.status in (401, 403, 404)]
    assert not refused, "every call had a token and every update was of a posted card"
    assert {429, 500} <= {call.status for call in teams.calls if call.kind in ACTIVITIES}, "an outage"

    # PagerDuty: one dedup key per incident, its events in order, each taken once
    assert len(set(dedup_of.values())) == INCIDENTS
    assert {key for _, key in pagerduty.actions()} == set(dedup_of.values()), "nothing else paged"
    for incident_id, dedup_key in dedup_of.items():
        events = [event for event in pagerduty.events if event["dedup_key"] == dedup_key]
        actions = [event["event_action"] for event in events]
        # a repeat is only ever the same event again, right after itself (its answer was lost)
        in_order = [action for n, action in enumerate(actions) if n == 0 or actions[n - 1] != action]
        assert in_order == ["trigger", "acknowledge", "resolve"], (incident_id, actions)
        assert events[0]["payload"]["custom_details"]["nocbot_incident"] == incident_id
        assert events[0]["routing_key"] == ROUTING_KEY
        for action in ("trigger", "acknowledge", "resolve"):
            assert taken(action, dedup_key) == 1, f"#{incident_id} {action}: not sent after PagerDuty took it"
    assert {429, 500} <= {status for _, status in pagerduty.requests}, "an outage"
