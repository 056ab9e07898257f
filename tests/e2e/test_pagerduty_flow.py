"""PagerDuty end to end through the whole service and a fake Slack: Escalate clicked twice pages
once; PagerDuty's signed acknowledgement shows on the Slack card; resolving in Slack resolves in
PagerDuty with the same dedup key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.pagerduty.routes import WEBHOOK_PATH
from bot.pagerduty.settings import PagerDutySettings
from bot.settings import Settings
from bot.slack.routing import parse_routes
from bot.slack.settings import SlackSettings
from integrations.pagerduty import signature
from tests.conftest import TOKEN
from tests.e2e.test_slack_flow import alert, buttons, card_text, channel_id, send_alerts
from tests.fakes import slack_signing as signing
from tests.fakes.pagerduty_events import FakePagerDuty
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET
from tests.integration.test_pagerduty_webhook import PD_INCIDENT, SECRET, body_of

ANA = "U0ANA0001"
ROUTING_KEY = "R" * 32


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.add_channel("incidents")
        fake.add_user(ANA, "Ana Lima")
        yield fake


@pytest.fixture
async def pagerduty() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty() as fake:
        yield fake


# Fakes come before make_client in each test's arguments: pytest tears fixtures down in reverse,
# so the service stops while its fakes still answer (else its shutdown waits out deliveries).


async def test_escalate_acknowledge_in_pagerduty_resolve_in_slack(
    slack: FakeSlack, pagerduty: FakePagerDuty, make_client: Any, database_url: str
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
        pagerduty=PagerDutySettings(
            routing_keys={"default": ROUTING_KEY}, webhook_secrets=(SECRET,), events_url=pagerduty.url
        ),
    )
    client = await make_client(settings)
    channel = channel_id(slack, "incidents")
    await send_alerts(client, [alert("PaymentsDown", "payments", "pay-1")])
    await slack.wait_until(lambda: bool(slack.messages(channel)), within=20)
    card = slack.messages(channel)[0]
    assert "nocbot.escalate" in buttons(card), "PagerDuty is configured: the card offers Escalate"

    async def click(action_id: str, hook: str) -> None:
        value = buttons(slack.messages(channel)[0])[action_id]
        payload = signing.block_actions_payload(
            action_id=action_id, value=value, user_id=ANA, channel_id=channel,
            message_ts=card["ts"], response_url=slack.response_url(hook),
        )  # fmt: skip
        request = signing.interactive_request(payload, SIGNING_SECRET)
        response = await client.post("/slack/events", data=request.body.encode(), headers=request.headers)
        assert response.status == 200

    await click("nocbot.escalate", "first")
    await click("nocbot.escalate", "second")
    # the two clicks race: whichever comes second is told, privately, that it was already done
    await slack.wait_until(
        lambda: any("already escalated" in body["text"] for _, body in slack.responses), within=20
    )
    await slack.wait_until(lambda: bool(pagerduty.events), within=20)
    assert [action for action, _ in pagerduty.actions()] == ["trigger"], "two clicks, one page"
    dedup_key = pagerduty.events[0]["dedup_key"]
    assert pagerduty.events[0]["routing_key"] == ROUTING_KEY

    async def webhook(body: bytes) -> None:
        headers = {"Content-Type": "application/json", "X-PagerDuty-Signature": signature(body, SECRET)}
        response = await client.post(WEBHOOK_PATH, data=body, headers=headers)
        assert response.status == 200, await response.text()

    await webhook(body_of("triggered_v3.json", id=PD_INCIDENT, incident_key=dedup_key))
    await webhook(body_of("acknowledged_v3.json"))
    await slack.wait_until(lambda: "(PagerDuty)" in card_text(slack.messages(channel)[0]), within=20)
    assert "Acknowledged by" in card_text(slack.messages(channel)[0])

    forged = body_of("resolved_v3.json")
    response = await client.post(
        WEBHOOK_PATH, data=forged, headers={"X-PagerDuty-Signature": "v1=" + "0" * 64}
    )
    assert response.status == 401

    await click("nocbot.resolve", "resolve")
    await slack.wait_until(lambda: "Resolved" in json.dumps(slack.messages(channel)[0]["blocks"]), within=20)
    await slack.wait_until(lambda: ("resolve", dedup_key) in pagerduty.actions(), within=20)
    assert pagerduty.actions() == [("trigger", dedup_key), ("resolve", dedup_key)], (
        "no acknowledge echoed back"
    )
