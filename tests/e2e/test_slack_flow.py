"""Slack end to end: alerts in through the API, one card per incident posted to the routed
channel, updated in place, acted on with a signed click, and delivered exactly once through 429s
and 5xx — the whole service (`create_app`) against a fake Slack on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.keys import STORE
from bot.settings import Settings
from bot.slack.routing import parse_routes
from bot.slack.settings import SlackSettings
from engine.storage.schema import audit_log
from tests.conftest import TOKEN, AppClient, auth
from tests.fakes import slack_signing as signing
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET

ANA = "U0ANA0001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        slack.add_channel("incidents")
        slack.add_channel("pay-oncall")
        slack.add_user(ANA, "Ana Lima")
        yield slack


def service_settings(database_url: str, fake: FakeSlack) -> Settings:
    slack = SlackSettings(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        routes=parse_routes("service=payments:#pay-oncall; *:#incidents"),
        api_url=fake.api_url,
    )
    return Settings(database_url=database_url, ingest_token=TOKEN, slack=slack)


def alert(name: str, service: str, host: str, *, minutes_ago: float = 1.0) -> dict[str, Any]:
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "name": name,
        "severity": "critical",
        "labels": {"service": service, "host": host, "env": "prod"},
        "summary": f"{name} on {host}",
        "starts_at": started.isoformat(),
    }


async def send_alerts(client: AppClient, alerts: list[dict[str, Any]]) -> None:
    response = await client.post("/api/v1/alerts", json=alerts, headers=auth())
    assert response.status in (200, 201, 202), await response.text()


def channel_id(fake: FakeSlack, name: str) -> str:
    return next(cid for cid, channel in fake.channels.items() if channel.name == name)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """action_id → value of every button on a card."""
    found: dict[str, str] = {}
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                found[element["action_id"]] = element["value"]
    return found


def card_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks"), ensure_ascii=False)


# Fakes come before make_client in each test's arguments: pytest tears fixtures down in reverse,
# so the service stops while its fakes still answer (else its shutdown waits out deliveries).


async def test_alerts_become_one_card_updated_in_place_and_acknowledged_from_slack(
    fake: FakeSlack, make_client: Any, database_url: str
) -> None:
    client = await make_client(service_settings(database_url, fake))
    pay = channel_id(fake, "pay-oncall")

    await send_alerts(client, [alert("PaymentsLatencyHigh", "payments", "pay-1", minutes_ago=3)])
    await fake.wait_until(lambda: len(fake.messages(pay)) == 1, within=15)
    card = fake.messages(pay)[0]
    assert "PaymentsLatencyHigh" in card_text(card) or "payments" in card_text(card)

    await send_alerts(
        client,
        [
            alert("PaymentsLatencyHigh", "payments", "pay-2"),
            alert("PaymentsLatencyHigh", "payments", "pay-3"),
        ],
    )
    await fake.wait_until(lambda: "*Alerts*\\n3" in card_text(fake.messages(pay)[0]), within=15)
    assert len(fake.messages(pay)) == 1, "more alerts update the card, they do not post another"
    assert fake.calls_to("chat.update"), "the card was updated in place"
    assert not fake.messages(channel_id(fake, "incidents")), "routing sent the card to #pay-oncall only"

    value = buttons(fake.messages(pay)[0])["nocbot.acknowledge"]
    request = signing.interactive_request(
        signing.block_actions_payload(
            action_id="nocbot.acknowledge",
            value=value,
            user_id=ANA,
            channel_id=pay,
            message_ts=card["ts"],
            response_url=fake.response_url("ack"),
        ),
        SIGNING_SECRET,
    )
    response = await client.post("/slack/events", data=request.body.encode(), headers=request.headers)
    assert response.status == 200

    await fake.wait_until(lambda: "Acknowledged by Ana Lima" in card_text(fake.messages(pay)[0]), within=15)
    await fake.wait_until(lambda: bool(fake.replies(pay, card["ts"])), within=15)
    assert any("Acknowledged by Ana Lima" in reply["text"] for reply in fake.replies(pay, card["ts"]))
    assert len(fake.messages(pay)) == 1
    async with client.app[STORE].engine.connect() as conn:
        query = select(audit_log).where(audit_log.c.action == "acknowledge")
        rows = (await conn.execute(query)).mappings().all()
    assert [(row["actor"], row["surface"]) for row in rows] == [(f"slack:{ANA}", "slack")]

    # a second click on the same (now stale) card explains itself and changes nothing
    again = signing.interactive_request(
        signing.block_actions_payload(
            action_id="nocbot.acknowledge",
            value=value,
            user_id=ANA,
            channel_id=pay,
            message_ts=card["ts"],
            response_url=fake.response_url("again"),
        ),
        SIGNING_SECRET,
    )
    response = await client.post("/slack/events", data=again.body.encode(), headers=again.headers)
    assert response.status == 200
    await fake.wait_until(lambda: any(hook == "again" for hook, _ in fake.responses), within=10)
    answer = next(body for hook, body in fake.responses if hook == "again")
    assert "already" in answer["text"].lower()
    assert len(fake.calls_to("chat.postMessage")) == 2  # the card and one thread reply, nothing more


async def test_a_429_storm_and_lost_answers_neither_lose_nor_duplicate_a_card(
    fake: FakeSlack, make_client: Any, database_url: str
) -> None:
    client = await make_client(service_settings(database_url, fake))
    incidents_channel = channel_id(fake, "incidents")
    # Slack rate limits every post and update for a while, and twice posts but loses its answer
    fake.rate_limit(seconds=3, retry_after=1, methods=["chat.postMessage", "chat.update"])
    fake.fail(next_calls=2, after_processing=True, methods=["chat.postMessage"])
    services = [f"svc{n}" for n in range(6)]
    await send_alerts(client, [alert(f"{s.capitalize()}Down", s, f"{s}-1") for s in services])
    await send_alerts(client, [alert(f"{s.capitalize()}Down", s, f"{s}-2") for s in services])
    page = await (await client.get("/api/v1/incidents", headers=auth())).json()
    ids = [item["id"] for item in page["items"]]
    assert len(ids) == len(services)
    for incident_id in ids[:3]:
        body = {"actor": "ana"}
        response = await client.post(
            f"/api/v1/incidents/{incident_id}/acknowledge", json=body, headers=auth()
        )
        assert response.status == 200

    def settled() -> bool:
        cards = fake.messages(incidents_channel)
        acknowledged = [c for c in cards if "Acknowledged by ana" in card_text(c)]
        replied = [c for c in acknowledged if fake.replies(incidents_channel, c["ts"])]
        return len(cards) >= len(services) and len(replied) == 3

    await fake.wait_until(settled, within=60)
    cards = fake.messages(incidents_channel)
    keys = [card["metadata"]["event_payload"]["key"] for card in cards]
    assert sorted(keys) == sorted(f"card:slack:{i}" for i in ids), "one card per incident, none twice"
    for card in cards:
        if "Acknowledged by ana" in card_text(card):
            replies = fake.replies(incidents_channel, card["ts"])
            assert [r["text"] for r in replies] == ["Acknowledged by ana"], "one reply, not repeated"
    assert any(call.status == 429 for call in fake.calls), "the storm happened"
    await asyncio.sleep(2)  # anything still queued would go out now: nothing more may appear
    assert len(fake.messages(incidents_channel)) == len(services)
    assert sum(len(fake.replies(incidents_channel, c["ts"])) for c in cards) == 3


async def test_a_question_in_slack_is_answered_from_the_database(
    fake: FakeSlack, make_client: Any, database_url: str
) -> None:
    client = await make_client(service_settings(database_url, fake))
    await send_alerts(client, [alert("CheckoutErrors", "checkout", "co-1")])
    payload = signing.slash_command_payload(
        text="ask how many incidents today", user_id=ANA, response_url=fake.response_url("ask")
    )
    request = signing.slash_command_request(payload, SIGNING_SECRET)
    response = await client.post("/slack/events", data=request.body.encode(), headers=request.headers)
    assert response.status == 200
    await fake.wait_until(lambda: any(hook == "ask" for hook, _ in fake.responses), within=15)
    answer = next(body for hook, body in fake.responses if hook == "ask")["text"]
    assert "1" in answer.splitlines()[0], answer
    assert ">SQL: `SELECT" in answer

    payload = signing.slash_command_payload(
        text="ask what is the meaning of life", user_id=ANA, response_url=fake.response_url("odd")
    )
    request = signing.slash_command_request(payload, SIGNING_SECRET)
    response = await client.post("/slack/events", data=request.body.encode(), headers=request.headers)
    assert response.status == 200
    await fake.wait_until(lambda: any(hook == "odd" for hook, _ in fake.responses), within=15)
    odd = next(body for hook, body in fake.responses if hook == "odd")["text"]
    assert "Traceback" not in odd and "Try:" in odd, odd
