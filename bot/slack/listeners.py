"""What nocbot does when Slack calls: card buttons, the slash command, @mentions, the silence modal.

Every listener acknowledges first (Slack gives up after 3 seconds, and the action layer may take
longer) and hands the work to `BackgroundWork`. Only checks that need no I/O (is the command well
formed, is the modal's duration valid) are answered in the acknowledgement itself. The action layer
decides and audits; this module only translates Slack's payloads and says refusals back.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import (
    Actor,
    ChatActions,
    format_duration,
    outcome_or_none,
    parse_duration,
    reply_or,
)
from bot.slack import commands, modals, replies
from bot.slack.background import BackgroundWork
from bot.slack.people import SlackPeople
from engine.view import ActionKind, ActionValue, parse_action_value, silence_seconds

log = logging.getLogger("nocbot.slack")

# Every element nocbot puts on a card has an action_id starting with "nocbot." (engine.view).
NOCBOT_ACTIONS = re.compile(r"^nocbot\.")
REMEMBERED_EVENTS = 10_000


class SlackListeners:
    def __init__(
        self,
        actions: ChatActions,
        people: SlackPeople,
        work: BackgroundWork,
        *,
        command: str = "/nocbot",
    ) -> None:
        self._actions = actions
        self._people = people
        self._work = work
        self._command = command
        self._seen_events: OrderedDict[str, None] = OrderedDict()

    def register(self, app: AsyncApp) -> None:
        app.action(NOCBOT_ACTIONS)(self.on_action)
        app.view(modals.CUSTOM_SILENCE_CALLBACK)(self.on_custom_silence)
        app.command(self._command)(self.on_command)
        app.event("app_mention")(self.on_mention)

    # -- listeners: acknowledge, then start the work ------------------------------------------

    async def on_action(
        self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        self._work.start(self._click(body, respond, client), "slack-click")

    async def on_custom_silence(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        try:
            origin = modals.read_origin(view)
            duration = parse_duration(modals.read_duration(view))
        except ValueError as exc:
            await ack(response_action="errors", errors={modals.DURATION_BLOCK: str(exc)})
            return
        await ack()
        self._work.start(self._custom_silence(body, origin, duration, client), "slack-silence-modal")

    async def on_command(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        command = commands.parse_command(commands.unescape(body.get("text") or ""))
        if isinstance(command, commands.Help):
            await ack(text=replies.usage_text(self._command, command.problem))
            return
        await ack()
        self._work.start(self._run_command(command, body, respond), "slack-command")

    async def on_mention(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        event: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        # Slack delivers an event again when it did not see our answer in time; answer once.
        # Other bots' mentions (no user) are not questions to answer.
        if self._already_seen(body.get("event_id")) or not event.get("user"):
            return
        self._work.start(self._answer_mention(event, client, context.bot_user_id), "slack-mention")

    # -- the work -------------------------------------------------------------------------------

    async def _click(self, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        action = (body.get("actions") or [{}])[0]
        raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
        try:
            value = parse_action_value(raw)
            argument = _argument(value)
        except ValueError:
            log.warning("unknown slack action value", extra={"action_id": action.get("action_id")})
            await _ephemeral(respond, replies.UNKNOWN_BUTTON)
            return
        if value.action is ActionKind.SILENCE and argument is None:
            await self._open_custom_silence(body, value, client, respond)
            return
        actor = await self._actor(body.get("user") or {})
        outcome = await outcome_or_none(
            self._actions.act(actor, value.incident_id, value.version, value.action, argument)
        )
        refusal = replies.refusal(outcome)
        if refusal is not None:
            await _ephemeral(respond, refusal)

    async def _open_custom_silence(
        self, body: dict[str, Any], value: ActionValue, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        channel = (body.get("channel") or {}).get("id")
        origin = modals.SilenceOrigin(value.incident_id, value.version, channel)
        text = f"Silence the alerts of incident #{value.incident_id}."
        # a trigger_id is good for 3 seconds after the click, so this comes before anything slow
        try:
            await client.views_open(
                trigger_id=body["trigger_id"], view=modals.custom_silence_view(origin, text)
            )
        except Exception:
            log.exception("could not open the silence dialog")
            await _ephemeral(respond, replies.FAILED)

    async def _custom_silence(
        self,
        body: dict[str, Any],
        origin: modals.SilenceOrigin,
        duration: timedelta,
        client: AsyncWebClient,
    ) -> None:
        actor = await self._actor(body.get("user") or {})
        argument = format_duration(duration)
        outcome = await outcome_or_none(
            self._actions.act(actor, origin.incident_id, origin.version, ActionKind.SILENCE, argument)
        )
        refusal = replies.refusal(outcome)
        if refusal is not None and origin.channel:
            # a modal has no response_url: tell the responder in the card's channel, privately
            await client.chat_postEphemeral(channel=origin.channel, user=actor.user_id, text=refusal)

    async def _run_command(
        self, command: commands.Command, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        actor = await self._actor({"id": body.get("user_id"), "name": body.get("user_name")})
        match command:
            case commands.Ask(question):
                text = replies.reply_text(await reply_or(self._actions.ask(actor, question), replies.FAILED))
            case commands.Status():
                text = replies.reply_text(await reply_or(self._actions.status(actor), replies.FAILED))
            case commands.Silence(matchers, duration, reason):
                outcome = await outcome_or_none(self._actions.silence(actor, matchers, duration, reason))
                text = replies.refusal(outcome) or replies.done_text(outcome, "Silenced.")
        await _ephemeral(respond, text)

    async def _answer_mention(
        self, event: dict[str, Any], client: AsyncWebClient, bot_user_id: str | None
    ) -> None:
        question = commands.mention_question(event.get("text") or "", bot_user_id)
        thread_ts = event.get("thread_ts") or event.get("ts")
        if not question or question.lower() == "help":
            text = replies.usage_text(self._command)
        else:
            actor = await self._actor({"id": event.get("user")})
            text = replies.reply_text(await reply_or(self._actions.ask(actor, question), replies.FAILED))
        await client.chat_postMessage(channel=event["channel"], thread_ts=thread_ts, text=text)

    # -- helpers ----------------------------------------------------------------------------------

    async def _actor(self, user: dict[str, Any]) -> Actor:
        user_id = user.get("id")
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("slack payload without a user id")
        name = user.get("name") or user.get("username")
        return await self._people.actor(user_id, name if isinstance(name, str) else None)

    def _already_seen(self, event_id: Any) -> bool:
        if not isinstance(event_id, str):
            return False
        if event_id in self._seen_events:
            return True
        self._seen_events[event_id] = None
        if len(self._seen_events) > REMEMBERED_EVENTS:
            self._seen_events.popitem(last=False)
        return False


def _argument(value: ActionValue) -> str | None:
    """The act() argument of a click; None for "silence for a custom time" (asked in a modal)."""
    if value.action is ActionKind.SILENCE:
        seconds = silence_seconds(value.argument)  # ValueError for an unknown preset
        return None if seconds is None else format_duration(timedelta(seconds=seconds))
    return value.argument or None


async def _ephemeral(respond: AsyncRespond, text: str) -> None:
    response = await respond(text=text, response_type="ephemeral", replace_original=False)
    if response.status_code != 200:
        log.warning("slack response_url refused", extra={"status": response.status_code})
