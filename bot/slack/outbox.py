"""Slack's side of the outbox: draw an incident's card (post once, then update in place) and reply
in its thread.

Exactly once on Slack's side: a post is marked begun in the database before the call; if nocbot
dies before recording the result, the next attempt passes the begin time to `SlackPoster`, which
looks for the message by its idempotency key before posting again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.cards import CardViews
from bot.slack.delivery import PostedMessage, SlackPoster
from bot.slack.errors import SlackRejected, SlackUnavailable
from bot.slack.routing import IncidentFacts, RoutingTable
from engine.clock import Clock
from engine.outbox import RetryLater, Undeliverable
from engine.storage import chat_message_rows
from engine.storage.outbox_rows import OutboxItem
from engine.storage.store import Store
from engine.timeline import CARD, REPLY, card_key
from engine.view import IncidentView, reply_actions
from integrations.slack_blocks import incident_message, timeline_message

log = logging.getLogger("nocbot.slack.outbox")

SURFACE = "slack"
CARD_NOT_POSTED_YET = 2.0  # seconds: a reply waits for its card
DEFAULT_RETRY = 10.0  # Slack kept failing past the poster's own retries and named no wait


class SlackDeliverer:
    def __init__(
        self,
        poster: SlackPoster,
        routes: RoutingTable,
        cards: CardViews,
        store: Store,
        clock: Clock,
        *,
        team_of: Callable[[Sequence[str]], str | None] = lambda _services: None,
    ) -> None:
        self.poster = poster
        self.routes = routes
        self.cards = cards
        self.store = store
        self.clock = clock
        self.team_of = team_of

    async def deliver(self, item: OutboxItem) -> None:
        try:
            if item.kind == CARD:
                await self._card(int(item.payload["incident"]))
            elif item.kind == REPLY:
                await self._reply(item)
            else:
                raise Undeliverable(f"slack cannot deliver {item.kind!r}")
        except SlackRejected as exc:
            raise Undeliverable(str(exc)) from exc
        except SlackUnavailable as exc:
            raise RetryLater(exc.retry_after or DEFAULT_RETRY, str(exc)) from exc

    async def _card(self, incident_id: int) -> None:
        view = await self.cards.view(incident_id)
        if view is None:
            return
        message = await self._message(incident_id)
        arguments = incident_message(view)
        if message is not None and message.posted:
            assert message.message_id is not None
            await self.poster.update_card(
                PostedMessage(message.channel, message.message_id),
                text=arguments["text"],
                blocks=arguments["blocks"],
            )
            async with self.store.transaction() as conn:
                await chat_message_rows.record_updated(conn, message, view.version, self.clock.now())
            return
        channel = message.channel if message is not None else self._channel_for(view)
        if channel is None:
            log.info("no slack route for incident", extra={"incident": incident_id})
            return
        since = message.posted_at.timestamp() if message is not None and message.posted_at else None
        if message is None:
            async with self.store.transaction() as conn:
                await chat_message_rows.begin_post(conn, incident_id, SURFACE, channel, self.clock.now())
        posted = await self.poster.post_card(
            channel,
            text=arguments["text"],
            blocks=arguments["blocks"],
            key=card_key(SURFACE, incident_id),
            maybe_posted_since=since,
        )
        if since is not None:
            # an earlier attempt may have posted: what it posted was drawn then, not now
            await self.poster.update_card(posted, text=arguments["text"], blocks=arguments["blocks"])
        async with self.store.transaction() as conn:
            await chat_message_rows.record_posted(
                conn,
                incident_id,
                SURFACE,
                channel,
                message_id=posted.ts,
                thread_id=posted.ts,
                shown_version=view.version,
                now=self.clock.now(),
                posted_channel=posted.channel,
            )

    async def _reply(self, item: OutboxItem) -> None:
        incident_id = int(item.payload["incident"])
        message = await self._message(incident_id)
        if message is None or not message.posted:
            view = await self.cards.view(incident_id) if message is None else None
            if message is None and (view is None or self._channel_for(view) is None):
                return  # no card will ever be posted for it in Slack: no thread to reply in
            raise RetryLater(CARD_NOT_POSTED_YET, "the card is not posted yet")
        assert message.message_id is not None
        text = str(item.payload.get("text") or "")
        detail = item.payload.get("detail")
        actions = reply_actions(
            incident_id, str(item.payload.get("kind") or ""), detail if isinstance(detail, dict) else None
        )
        await self.poster.post_reply(
            PostedMessage(message.channel, message.message_id),
            text=text,
            blocks=timeline_message(text, actions),
            key=item.key,
            maybe_posted_since=item.created_at.timestamp() if item.attempts else None,
        )

    async def _message(self, incident_id: int) -> chat_message_rows.ChatMessage | None:
        async with self.store.engine.connect() as conn:
            return await chat_message_rows.find(conn, incident_id, SURFACE)

    def _channel_for(self, view: IncidentView) -> str | None:
        facts = IncidentFacts(
            services=view.services, team=self.team_of(view.services), priority=view.priority
        )
        return self.routes.channel_for(facts)
