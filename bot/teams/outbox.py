"""Teams' side of the outbox: post an incident's card once, update it in place, reply in its thread.

Posts are proactive: the routed destination (a channel name or conversation id) is looked up among
the conversations the bot was added to (`ConversationBook`); until it has been added there, the item
waits (RetryLater, NOT_ADDED_YET) and the missing channel is logged once.

Delivery is exactly once through rate limits: a 429 did nothing, so the item simply waits Retry-After.
After a 5xx or a lost connection Teams may or may not have posted, and it has no idempotency key to
look the message up by (reading a channel needs Graph permissions a bot does not have), so the
item is tried again: at least once there. A post is recorded in two steps (`begin_post` before the
call, `record_posted` with the activity id after) like Slack's, so a card once recorded is always
updated, never posted again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, Attachment

from bot.cards import CardViews
from bot.slack.routing import IncidentFacts, RoutingTable
from bot.teams.connector import ConnectorApi, TeamsRateLimited, TeamsRejected
from bot.teams.conversations import Ambiguous, Conversation, ConversationBook
from bot.teams.pacing import PacingBusy
from engine.clock import Clock
from engine.outbox import RetryLater, Undeliverable
from engine.storage import chat_message_rows
from engine.storage.outbox_rows import OutboxItem
from engine.storage.store import Store
from engine.timeline import CARD, REPLY
from engine.view import IncidentView, reply_actions
from integrations.teams_cards import incident_card, timeline_card

log = logging.getLogger("nocbot.teams.outbox")

SURFACE = "teams"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_NOT_POSTED_YET = 2.0  # seconds: a reply waits for its card
NOT_ADDED_YET = 300.0  # seconds: the bot is not in the routed channel yet


class TeamsDeliverer:
    def __init__(
        self,
        api: ConnectorApi,
        book: ConversationBook,
        routes: RoutingTable,
        cards: CardViews,
        store: Store,
        clock: Clock,
        *,
        team_of: Callable[[Sequence[str]], str | None] = lambda _services: None,
    ) -> None:
        self.api = api
        self.book = book
        self.routes = routes
        self.cards = cards
        self.store = store
        self.clock = clock
        self.team_of = team_of
        self._said_missing: set[str] = set()

    async def deliver(self, item: OutboxItem) -> None:
        try:
            if item.kind == CARD:
                await self._card(int(item.payload["incident"]))
            elif item.kind == REPLY:
                await self._reply(item)
            else:
                raise Undeliverable(f"teams cannot deliver {item.kind!r}")
        except TeamsRateLimited as exc:
            raise RetryLater(exc.retry_after, str(exc)) from exc
        except PacingBusy as exc:
            raise RetryLater(exc.seconds, str(exc)) from exc
        except TeamsRejected as exc:
            raise Undeliverable(str(exc)) from exc

    async def _card(self, incident_id: int) -> None:
        view = await self.cards.view(incident_id)
        if view is None:
            return
        message = await self._message(incident_id)
        if message is not None and message.posted:
            assert message.message_id is not None
            conversation = await self._posted_in(message.channel)
            await self.api.update(
                conversation.service_url, conversation.id, message.message_id, card_activity(view)
            )
            async with self.store.transaction() as conn:
                await chat_message_rows.record_updated(conn, message, view.version, self.clock.now())
            return
        if message is not None:
            # begun, never recorded: a 429 (nothing posted), or nocbot or Teams failed in between
            log.info("teams card post not recorded; posting again", extra={"incident": incident_id})
            conversation = await self._posted_in(message.channel)
        else:
            target = self._target_for(view)
            if target is None:
                log.info("no teams route for incident", extra={"incident": incident_id})
                return
            conversation = await self._conversation(target)
            async with self.store.transaction() as conn:
                await chat_message_rows.begin_post(
                    conn, incident_id, SURFACE, conversation.id, self.clock.now()
                )
        activity_id = await self.api.send(conversation.service_url, conversation.id, card_activity(view))
        async with self.store.transaction() as conn:
            await chat_message_rows.record_posted(
                conn,
                incident_id,
                SURFACE,
                conversation.id,
                message_id=activity_id,
                thread_id=activity_id,
                shown_version=view.version,
                now=self.clock.now(),
            )

    async def _reply(self, item: OutboxItem) -> None:
        incident_id = int(item.payload["incident"])
        message = await self._message(incident_id)
        if message is None or not message.posted:
            view = await self.cards.view(incident_id) if message is None else None
            if message is None and (view is None or self._target_for(view) is None):
                return  # no card will ever be posted for it in Teams: no thread to reply in
            raise RetryLater(CARD_NOT_POSTED_YET, "the card is not posted yet")
        assert message.message_id is not None
        conversation = await self._posted_in(message.channel)
        text = str(item.payload.get("text") or "")
        detail = item.payload.get("detail")
        kind = str(item.payload.get("kind") or "")
        actions = reply_actions(incident_id, kind, detail if isinstance(detail, dict) else None)
        activity = Activity(type=ActivityTypes.message, text=text, text_format="plain")
        if actions:
            card = timeline_card(text, actions)
            activity.attachments = [Attachment(content_type=CARD_CONTENT_TYPE, content=card)]
        await self.api.reply(conversation.service_url, conversation.id, message.message_id, activity)

    async def _conversation(self, target: str) -> Conversation:
        try:
            conversation = await self.book.resolve(target)
        except Ambiguous as exc:
            self._say_once(target, "teams route is ambiguous", str(exc))
            raise RetryLater(NOT_ADDED_YET, str(exc)) from exc
        if conversation is None:
            self._say_once(
                target,
                "teams route names a channel the bot has not been added to; cards wait for it",
                "add nocbot to the team (or chat) of that channel",
            )
            raise RetryLater(NOT_ADDED_YET, f"nocbot is not in Teams conversation {target!r} yet")
        self._said_missing.discard(target)
        return conversation

    async def _posted_in(self, conversation_id: str) -> Conversation:
        conversation = await self.book.get(conversation_id)
        if conversation is None:  # the bot was removed from the team after posting there
            raise Undeliverable(f"nocbot is no longer in Teams conversation {conversation_id!r}")
        return conversation

    async def _message(self, incident_id: int) -> chat_message_rows.ChatMessage | None:
        async with self.store.engine.connect() as conn:
            return await chat_message_rows.find(conn, incident_id, SURFACE)

    def _target_for(self, view: IncidentView) -> str | None:
        facts = IncidentFacts(
            services=view.services, team=self.team_of(view.services), priority=view.priority
        )
        return self.routes.channel_for(facts)

    def _say_once(self, target: str, message: str, hint: str) -> None:
        if target not in self._said_missing:
            self._said_missing.add(target)
            log.warning(message, extra={"target": target, "hint": hint})


def card_activity(view: IncidentView) -> Activity:
    card: dict[str, Any] = incident_card(view)
    return Activity(
        type=ActivityTypes.message,
        summary=str(card.get("fallbackText") or f"incident #{view.incident_id}"),
        attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=card)],
    )
