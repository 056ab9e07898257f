"""Teams and Slack at once, the whole service: an alert's card reaches the stored Teams channel and
the routed Slack channel, both are updated in place, and an Acknowledge submitted in Teams shows on
the Slack card too — one action layer, two surfaces."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import create_app
from bot.keys import STORE
from bot.settings import Settings
from bot.slack.routing import parse_routes
from bot.slack.settings import SlackSettings
from engine.storage.schema import audit_log
from engine.view import parse_action_value
from tests.conftest import TOKEN, auth
from tests.e2e.test_slack_flow import alert, card_text, channel_id, send_alerts
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET
from tests.fakes.teams_connector import FakeTeams
from tests.integration.test_teams_surface import (
    ANA,
    ANA_AAD,
    DB_CRITICAL,
    INCIDENTS,
    MESSAGES,
    TEAM,
    activity,
    bot_added,
    teams_settings,
    wait_for_channels,
)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel("incidents")
        yield fake


@pytest.fixture
async def teams() -> AsyncIterator[FakeTeams]:
    async with FakeTeams() as fake:
        fake.add_team(TEAM, [(TEAM, None), (INCIDENTS, "Incidents"), (DB_CRITICAL, "DB critical")])
        yield fake


def execute_on(teams: FakeTeams, card_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return activity(
        teams,
        "invoke",
        conversation=f"{INCIDENTS};messageid={card_id}",
        name="adaptiveCard/action",
        replyToId=card_id,
        value={
            "action": {
                "type": "Action.Execute",
                "id": "nocbot.acknowledge",
                "verb": "acknowledge",
                "data": data,
            },
            "trigger": "manual",
        },
    )


def executes(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """verb → data of every Action.Execute on an Adaptive Card (any depth)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.setdefault(node["verb"], node["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def card_of(message: Any) -> dict[str, Any]:
    return message.activity["attachments"][0]["content"]


async def test_a_teams_acknowledge_shows_on_the_teams_and_the_slack_card(
    database_url: str, slack: FakeSlack, teams: FakeTeams
) -> None:
    settings = Settings(
        database_url=database_url,
        ingest_token=TOKEN,
        slack=SlackSettings(
            bot_token=BOT_TOKEN,
            signing_secret=SIGNING_SECRET,
            routes=parse_routes("*:#incidents"),
            api_url=slack.api_url,
        ),
        teams=teams_settings("*:Incidents"),
    )
    client = TestClient(TestServer(create_app(settings, teams_endpoints=teams.endpoints)))
    await client.start_server()
    try:
        headers = {"Authorization": f"Bearer {teams.channel_token()}"}
        response = await client.post(MESSAGES, json=bot_added(teams), headers=headers)
        assert response.status == 202
        await teams.wait_until(lambda: bool(teams.calls_of("channels")), within=10)
        # stored after the channel list came back: a card routed before that waits minutes for it
        await wait_for_channels(client.app[STORE], 3)

        await send_alerts(client, [alert("CheckoutLatencyHigh", "checkout", "co-1", minutes_ago=2)])
        await teams.wait_until(lambda: len(teams.posts(INCIDENTS)) == 1, within=20)
        slack_channel = channel_id(slack, "incidents")
        await slack.wait_until(lambda: len(slack.messages(slack_channel)) == 1, within=20)

        await send_alerts(client, [alert("CheckoutLatencyHigh", "checkout", "co-2")])
        await teams.wait_until(lambda: teams.posts(INCIDENTS)[0].updates >= 1, within=20)
        assert len(teams.posts(INCIDENTS)) == 1, "updated in place, not posted again"

        card = teams.posts(INCIDENTS)[0]
        data = executes(card_of(card))["acknowledge"]
        assert parse_action_value(data).incident_id == 1
        token = {"Authorization": f"Bearer {teams.channel_token()}"}
        response = await client.post(MESSAGES, json=execute_on(teams, card.id, data), headers=token)
        assert response.status == 200
        answer = await response.json()
        assert "Acknowledged by Ana Lima" in json.dumps(answer), "the clicker gets the refreshed card"

        await teams.wait_until(
            lambda: "Acknowledged by Ana Lima" in json.dumps(teams.posts(INCIDENTS)[0].activity), within=20
        )
        await slack.wait_until(
            lambda: "Acknowledged by Ana Lima" in card_text(slack.messages(slack_channel)[0]), within=20
        )
        incident = await (await client.get("/api/v1/incidents/1", headers=auth())).json()
        assert incident["status"] == "acknowledged" and incident["acknowledged_by"] == ANA["name"]
        async with client.app[STORE].engine.connect() as conn:
            query = select(audit_log.c.actor, audit_log.c.surface).where(audit_log.c.action == "acknowledge")
            audited = (await conn.execute(query)).all()
        assert [tuple(row) for row in audited] == [(f"teams:{ANA_AAD}", "teams")], "the AAD identity acted"
    finally:
        await client.close()
