"""The Bot Connector REST API, the calls nocbot makes: post, reply in a thread, update, list channels.

A thin client over one shared aiohttp session and the SDK's activity models. The SDK's
ConnectorClient opens a session per client, cuts long conversation ids and leaves them unquoted in
the URL, and cannot be paced; delivery needs each failure told apart:

- 429: Teams did nothing. The conversation is held for Retry-After (`ConversationPacer.hold`) and
  `TeamsRateLimited` says how long; trying again later is always safe.
- 5xx, 401 (the token is dropped and fetched again), a dropped connection: `TeamsCallFailed` or the
  aiohttp error, plain exceptions the outbox retries with backoff. A post may then have landed;
  Teams offers no idempotency key to look it up by (see `bot.teams.outbox`).
- any other 4xx: `TeamsRejected`, final (the bot was removed, the message deleted, the card refused).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from microsoft_agents.activity import Activity

from bot.teams.auth import BotTokens
from bot.teams.pacing import ConversationPacer

CALL_TIMEOUT = aiohttp.ClientTimeout(total=15)
DEFAULT_RETRY_AFTER = 1.0
MAX_DETAIL = 300


class TeamsRateLimited(Exception):
    def __init__(self, conversation: str, retry_after: float) -> None:
        super().__init__(f"Teams rate limited {conversation}; retry in {retry_after:.1f}s")
        self.conversation = conversation
        self.retry_after = retry_after


class TeamsCallFailed(Exception):
    """Transient: a server error, or a token Teams refused."""

    def __init__(self, call: str, status: int, detail: str) -> None:
        super().__init__(f"{call}: HTTP {status} {detail}".strip())
        self.status = status


class TeamsRejected(Exception):
    """Final: Teams refused the call and will refuse it again."""

    def __init__(self, call: str, status: int, detail: str) -> None:
        super().__init__(f"{call}: HTTP {status} {detail}".strip())
        self.status = status


@dataclass(frozen=True, slots=True)
class TeamChannel:
    id: str
    name: str | None  # None for the General channel


class ConnectorApi:
    def __init__(self, session: aiohttp.ClientSession, tokens: BotTokens, pacer: ConversationPacer) -> None:
        self._session = session
        self._tokens = tokens
        self.pacer = pacer

    async def send(self, service_url: str, conversation: str, activity: Activity) -> str:
        """Post `activity` as a new message in `conversation`; returns the new activity id."""
        url = _activities(service_url, conversation)
        return await self._activity_call("POST", url, conversation, activity, "send")

    async def reply(self, service_url: str, conversation: str, reply_to: str, activity: Activity) -> str:
        """Post `activity` in the thread of message `reply_to`; returns the new activity id."""
        activity.reply_to_id = reply_to
        url = f"{_activities(service_url, conversation)}/{_segment(reply_to)}"
        return await self._activity_call("POST", url, conversation, activity, "reply")

    async def update(self, service_url: str, conversation: str, activity_id: str, activity: Activity) -> None:
        """Replace the content of message `activity_id` in place."""
        activity.id = activity_id
        url = f"{_activities(service_url, conversation)}/{_segment(activity_id)}"
        await self._activity_call("PUT", url, conversation, activity, "update")

    async def team_channels(self, service_url: str, team_id: str) -> list[TeamChannel]:
        url = f"{service_url.rstrip('/')}/v3/teams/{_segment(team_id)}/conversations"
        body = await self._call("GET", url, team_id, None, "channels")
        channels = body.get("conversations") if isinstance(body, Mapping) else None
        found: list[TeamChannel] = []
        for entry in channels if isinstance(channels, list) else []:
            if isinstance(entry, Mapping) and isinstance(entry.get("id"), str):
                name = entry.get("name")
                found.append(TeamChannel(entry["id"], name if isinstance(name, str) and name else None))
        return found

    async def _activity_call(
        self, method: str, url: str, conversation: str, activity: Activity, call: str
    ) -> str:
        body = activity.model_dump(by_alias=True, exclude_none=True, mode="json")
        answer = await self._call(method, url, conversation, body, call)
        new_id = answer.get("id") if isinstance(answer, Mapping) else None
        if method == "POST" and (not isinstance(new_id, str) or not new_id):
            # posted, but without an id it cannot be updated: say so rather than record nothing
            raise TeamsCallFailed(call, 200, "answered without an activity id")
        return new_id if isinstance(new_id, str) else activity.id or ""

    async def _call(
        self, method: str, url: str, conversation: str, body: Mapping[str, Any] | None, call: str
    ) -> Any:
        token = await self._tokens.token()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        channel = conversation.split(";", 1)[0]  # a thread counts as its channel
        async with (
            self.pacer.turn(channel),
            self._session.request(method, url, json=body, headers=headers, timeout=CALL_TIMEOUT) as response,
        ):
            text = await response.text()
            if response.status == 429:
                wait = _retry_after(response.headers.get("Retry-After"))
                self.pacer.hold(channel, wait)
                raise TeamsRateLimited(conversation, wait)
            if response.status == 401:
                self._tokens.forget()
            if response.status >= 500 or response.status == 401:
                raise TeamsCallFailed(call, response.status, text[:MAX_DETAIL])
            if response.status >= 400:
                raise TeamsRejected(call, response.status, text[:MAX_DETAIL])
        if not text.strip():
            return {}
        try:
            return json.loads(text)
        except ValueError:
            return {}


def _activities(service_url: str, conversation: str) -> str:
    return f"{service_url.rstrip('/')}/v3/conversations/{_segment(conversation)}/activities"


def _segment(value: str) -> str:
    return quote(value, safe="")


def _retry_after(raw: str | None) -> float:
    try:
        seconds = float(raw) if raw is not None else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if seconds >= 0 else DEFAULT_RETRY_AFTER
