"""What nocbot does when Teams calls: card buttons, @mentions, and being added to teams and channels.

- `conversationUpdate`: the bot was added (store where it can post, then learn the team's other
  channels), removed, or a channel was created, renamed or deleted.
- `invoke adaptiveCard/action` (Action.Execute): act, and answer with the refreshed card, or with a
  message saying why it was not done. The answer is awaited within INVOKE_DEADLINE; an action
  that takes longer goes on, and the clicker is told the card will show the result.
- `message` with a `value` (the legacy Action.Submit): act; a refusal is replied in the thread.
- `message` mentioning the bot: a question, "status" or "silence …", answered in the thread. The
  HTTP request is answered at once and the work done after it (Teams waits 15 s at most).

The action layer decides and audits; this module only translates Teams' activities and wording.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from microsoft_agents.activity import Activity, ActivityTypes, InvokeResponse
from microsoft_agents.hosting.core import ActivityHandler, TurnContext

from bot.actions import (
    ActionOutcome,
    Actor,
    ChatActions,
    Surface,
    format_duration,
    outcome_or_none,
    parse_duration,
    reply_or,
)
from bot.cards import CardViews
from bot.slack.background import BackgroundWork
from bot.slack.commands import Ask, Help, Silence, Status
from bot.teams import text as wording
from bot.teams.connector import ConnectorApi
from bot.teams.conversations import GENERAL, Conversation, ConversationBook, conversation_of
from engine.view import ActionKind, ActionValue, parse_action_value, silence_seconds
from integrations.teams_cards import CUSTOM_SILENCE_INPUT_ID, incident_card

log = logging.getLogger("nocbot.teams")

INVOKE_DEADLINE = 10.0
CARD_RESPONSE = "application/vnd.microsoft.card.adaptive"
MESSAGE_RESPONSE = "application/vnd.microsoft.activity.message"
ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
MAX_CUSTOM_HOURS = 24 * 366


class Reply:
    """What an action turns into for the clicker: a card to show, or words."""

    def __init__(self, *, card: dict[str, Any] | None = None, message: str | None = None) -> None:
        self.card = card
        self.message = message

    def invoke_body(self) -> dict[str, Any]:
        if self.card is not None:
            return {"statusCode": 200, "type": CARD_RESPONSE, "value": self.card}
        return {"statusCode": 200, "type": MESSAGE_RESPONSE, "value": self.message or wording.DONE}


class TeamsAgent(ActivityHandler):  # type: ignore[misc]  # the SDK is untyped
    def __init__(
        self,
        actions: ChatActions,
        book: ConversationBook,
        api: ConnectorApi,
        work: BackgroundWork,
        *,
        cards: CardViews | None = None,
        invoke_deadline: float = INVOKE_DEADLINE,
    ) -> None:
        self._actions = actions
        self._book = book
        self._api = api
        self._work = work
        self._cards = cards
        self._deadline = invoke_deadline

    # -- conversationUpdate -----------------------------------------------------------------------

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        conversation = conversation_of(activity)
        if conversation is None:
            return
        bot_id = activity.recipient.id if activity.recipient else None
        event = _channel_data(activity).get("eventType")
        if bot_id is not None and any(member.id == bot_id for member in activity.members_removed or []):
            if conversation.team_id is not None:
                await self._book.forget_team(conversation.team_id)
            else:
                await self._book.forget(conversation.id)
            log.info("teams: removed from a conversation", extra={"conversation": conversation.id})
        elif bot_id is not None and any(member.id == bot_id for member in activity.members_added or []):
            await self._book.remember(conversation)
            log.info(
                "teams: added to a conversation",
                extra={
                    "conversation": conversation.id,
                    "channel_name": conversation.name,
                    "team": conversation.team,
                },
            )
            if conversation.team_id is not None:
                self._work.start(self._learn_channels(conversation), "teams-channels")
        elif event in ("channelCreated", "channelRenamed", "channelRestored"):
            await self._book.remember(conversation)
        elif event == "channelDeleted":
            await self._book.forget(conversation.id)
        elif event == "teamRenamed" and conversation.team_id and conversation.team:
            await self._book.rename_team(conversation.team_id, conversation.team)
        elif event in ("teamDeleted", "teamHardDeleted") and conversation.team_id:
            await self._book.forget_team(conversation.team_id)

    async def _learn_channels(self, general: Conversation) -> None:
        """The team's other channels, so that a route may name a channel created before the bot came."""
        assert general.team_id is not None
        for channel in await self._api.team_channels(general.service_url, general.team_id):
            if channel.id != general.id:
                await self._book.remember(general.channel(channel.id, channel.name or GENERAL))

    # -- invoke: Action.Execute -------------------------------------------------------------------

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        activity = turn_context.activity
        value = activity.value if isinstance(activity.value, Mapping) else {}
        if activity.name == ADAPTIVE_CARD_ACTION:
            action = value.get("action")
            data = action.get("data") if isinstance(action, Mapping) else None
        elif not activity.name:  # a card submit sent as an invoke (msteams: {type: "invoke"})
            data = value
        else:
            return InvokeResponse(status=int(HTTPStatus.NOT_IMPLEMENTED))
        reply = await self._click(activity, data if isinstance(data, Mapping) else {})
        return InvokeResponse(status=int(HTTPStatus.OK), body=reply.invoke_body())

    async def _click(self, activity: Activity, data: Mapping[str, Any]) -> Reply:
        try:
            value = parse_action_value(data)
            argument = _argument(value, data)
            actor = actor_of(activity)
        except _Problem as exc:
            return Reply(message=str(exc))
        except ValueError as exc:
            log.warning("unusable teams action", extra={"error": str(exc)[:200]})
            return Reply(message=wording.UNKNOWN_BUTTON)
        act = asyncio.ensure_future(
            self._actions.act(actor, value.incident_id, value.version, value.action, argument)
        )
        done, _ = await asyncio.wait({act}, timeout=self._deadline)
        if not done:
            self._work.start(_finish(act), "teams-slow-action")
            return Reply(message=wording.STILL_WORKING)
        outcome = _outcome(act)
        refusal = wording.refusal(outcome)
        if refusal is not None:
            return Reply(message=refusal)
        view = await self._cards.view(value.incident_id) if self._cards is not None else None
        if view is None:
            return Reply(message=wording.done_text(outcome, wording.DONE))
        return Reply(card=incident_card(view))

    # -- message: a question, a command, or a legacy Action.Submit --------------------------------

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if isinstance(activity.value, Mapping) and not (activity.text or "").strip():
            self._work.start(self._submitted(activity), "teams-submit")
        else:
            self._work.start(self._answer(activity), "teams-message")

    async def _submitted(self, activity: Activity) -> None:
        value = activity.value if isinstance(activity.value, Mapping) else {}
        action = value.get("action")
        # Action.Execute falls back to Action.Submit on old clients: its data may come wrapped
        data = action.get("data") if isinstance(action, Mapping) and "data" in action else value
        reply = await self._click(activity, data if isinstance(data, Mapping) else {})
        if reply.card is None:
            await self._say(activity, reply.message or wording.DONE)

    async def _answer(self, activity: Activity) -> None:
        await self._remember_if_new(activity)
        entities = [entity.model_dump(by_alias=True) for entity in activity.entities or []]
        bot_id = activity.recipient.id if activity.recipient else None
        question = wording.question_text(activity.text or "", wording.bot_mentions(entities, bot_id))
        actor = actor_of(activity)
        match wording.command_of(question):
            case Help(problem):
                answer = wording.usage_text(problem)
            case Ask(asked):
                answer = wording.reply_text(await reply_or(self._actions.ask(actor, asked), wording.FAILED))
            case Status():
                answer = wording.reply_text(await reply_or(self._actions.status(actor), wording.FAILED))
            case Silence(matchers, duration, reason):
                outcome = await outcome_or_none(self._actions.silence(actor, matchers, duration, reason))
                answer = wording.refusal(outcome) or wording.done_text(outcome, "Silenced.")
        await self._say(activity, answer)

    async def _say(self, activity: Activity, text: str) -> None:
        """Reply in the thread of `activity`."""
        if activity.conversation is None or not activity.service_url or not activity.id:
            log.warning("teams activity without a conversation to answer in")
            return
        message = Activity(type=ActivityTypes.message, text=text, text_format="plain")
        await self._api.reply(activity.service_url, activity.conversation.id, activity.id, message)

    async def _remember_if_new(self, activity: Activity) -> None:
        """A team where the install event was missed still becomes reachable once someone talks."""
        conversation = conversation_of(activity)
        if conversation is not None and not await self._book.knows(conversation.id):
            await self._book.remember(conversation)


class _Problem(ValueError):
    """A click that cannot be acted on, for a reason the clicker can fix."""


def actor_of(activity: Activity) -> Actor:
    """The clicker or asker: their AAD object id, name, and AAD groups when the activity has them."""
    sender = activity.from_property
    if sender is None or not (sender.aad_object_id or sender.id):
        raise ValueError("teams activity without a sender")
    user_id = sender.aad_object_id or sender.id  # the Emulator and Agents Playground have no AAD id
    extra = sender.model_extra or {}
    groups = extra.get("groups")
    return Actor(
        surface=Surface.TEAMS,
        user_id=user_id,
        display_name=sender.name or user_id,
        groups=frozenset(g for g in groups if isinstance(g, str))
        if isinstance(groups, list)
        else frozenset(),
    )


def _argument(value: ActionValue, data: Mapping[str, Any]) -> str | None:
    """The act() argument of a click; the custom silence takes the hours typed on the card."""
    if value.action is ActionKind.SILENCE:
        seconds = silence_seconds(value.argument)  # ValueError for an unknown preset
        if seconds is None:
            seconds = _custom_seconds(data.get(CUSTOM_SILENCE_INPUT_ID))
        return format_duration(timedelta(seconds=seconds))
    return value.argument or None


def _custom_seconds(raw: Any) -> int:
    try:
        hours = float(raw)
    except (TypeError, ValueError):
        raise _Problem("Type how many hours to silence for (e.g. 2), then press Silence again.") from None
    if not 0 < hours <= MAX_CUSTOM_HOURS:
        raise _Problem("A silence lasts between 1 minute and 366 days.")
    minutes = round(hours * 60)
    try:
        parse_duration(f"{minutes}m")  # the same bounds as everywhere else
    except ValueError as exc:
        raise _Problem(str(exc)) from None
    return minutes * 60


def _channel_data(activity: Activity) -> Mapping[str, Any]:
    return activity.channel_data if isinstance(activity.channel_data, Mapping) else {}


def _outcome(task: asyncio.Future[ActionOutcome]) -> ActionOutcome | None:
    if task.exception() is not None:
        log.error("action layer failed", exc_info=task.exception())
        return None
    return task.result()


async def _finish(task: asyncio.Future[ActionOutcome]) -> None:
    await task
