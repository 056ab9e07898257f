"""Slack's deliverer: a crash after Slack took a post but before nocbot recorded it must not post
the card twice; a card that exists is updated; a reply waits for its card."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.cards import StoredCardViews
from bot.http.links import LinkSigner
from bot.slack.delivery import SlackPoster
from bot.slack.outbox import SlackDeliverer
from bot.slack.routing import parse_routes
from engine.clock import FixedClock
from engine.outbox import RetryLater
from engine.storage import chat_message_rows, incident_rows, migrate
from engine.storage.database import open_engine
from engine.storage.outbox_rows import OutboxItem
from engine.storage.store import Store
from engine.timeline import card_key
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    engine = open_engine(database_url)
    await migrate.upgrade(engine)
    async with engine.begin() as conn:
        await incident_rows.create_incidents(
            conn, [incident_rows.NewIncident(7, "Checkout errors", "checkout", NOW)], NOW
        )
    yield Store(engine)
    await engine.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        slack.add_channel("incidents")
        yield slack


def item(kind: str, key: str, payload: dict[str, object], attempts: int = 0) -> OutboxItem:
    return OutboxItem(1, "slack", kind, key, 7, payload, attempts, NOW)


async def deliverer(store: Store, fake: FakeSlack) -> tuple[SlackDeliverer, AsyncWebClient]:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])
    clock = FixedClock(NOW)
    cards = StoredCardViews(store, clock, links=LinkSigner(b"k" * 32), base_url="http://nocbot.test")
    poster = SlackPoster(client)
    return SlackDeliverer(poster, parse_routes("*:#incidents"), cards, store, clock), client


async def test_a_post_that_landed_before_a_crash_is_found_not_posted_again(
    store: Store, fake: FakeSlack
) -> None:
    slack, _client = await deliverer(store, fake)
    # the first attempt: marked begun, posted to Slack, then nocbot died before recording the ts
    async with store.transaction() as conn:
        await chat_message_rows.begin_post(conn, 7, "slack", "#incidents", NOW)
    await slack.poster.post_card("#incidents", text="card", blocks=[], key=card_key("slack", 7))
    channel = next(iter(fake.channels))
    assert len(fake.messages(channel)) == 1

    await slack.deliver(item("card", card_key("slack", 7), {"incident": 7}, attempts=1))
    assert len(fake.messages(channel)) == 1, "found by its key, not posted twice"
    assert "Checkout errors" in str(fake.messages(channel)[0]["blocks"]), "and drawn as the incident is now"
    async with store.engine.connect() as conn:
        message = await chat_message_rows.find(conn, 7, "slack")
    assert message is not None and message.message_id == fake.messages(channel)[0]["ts"]
    assert message.channel == channel, "the channel id Slack answered with, not the #name"

    await slack.deliver(item("card", card_key("slack", 7), {"incident": 7}, attempts=0))
    assert len(fake.messages(channel)) == 1
    assert fake.calls_to("chat.update"), "drawn again in place"
    assert "Checkout errors" in str(fake.messages(channel)[0]["blocks"])


async def test_a_reply_waits_for_its_card_then_goes_in_its_thread(store: Store, fake: FakeSlack) -> None:
    slack, _client = await deliverer(store, fake)
    reply = item("reply", "reply:slack:7:abc", {"incident": 7, "text": "Acknowledged by ana"})
    with pytest.raises(RetryLater):
        await slack.deliver(reply)
    await slack.deliver(item("card", card_key("slack", 7), {"incident": 7}))
    await slack.deliver(reply)
    channel = next(iter(fake.channels))
    card = fake.messages(channel)[0]
    assert [r["text"] for r in fake.replies(channel, card["ts"])] == ["Acknowledged by ana"]
