"""Outbound Slack: post an incident card, update it in place, reply in its thread.

Made for an outbox worker that guarantees exactly-once delivery:

- every call returns a `PostedMessage` (channel id + ts) to record as "posted as ts X", so that
  later changes update that message instead of posting another;
- every post carries the worker's idempotency `key` in its message metadata. When a call fails in a
  way that leaves it unknown whether Slack posted (a 5xx, a dropped connection), the channel (or
  thread) is searched for that key before posting again. A worker that crashed between asking and
  recording passes `maybe_posted_since` (when the unrecorded attempt began) to get the same check
  before the first call. Updates are idempotent and simply retried.

Slack's limits are honoured: 429 waits `Retry-After`, server errors back off, both bounded (see
`RetryPolicy`), and each channel gets about one call a second, in order. Final refusals raise
SlackRejected, exhausted retries SlackUnavailable.

Scopes: chat:write (+ chat:write.public to post where the bot is not a member), channels:history
and groups:history for the idempotency check, channels:read and groups:read for #names.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.channels import ChannelDirectory
from bot.slack.pacing import ChannelPacer
from bot.slack.retry import Retrier

Block = dict[str, Any]

METADATA_EVENT = "nocbot_delivery"
# Slack's ts come from its own clock: search a little before our own idea of "since".
CLOCK_SKEW_SECONDS = 300.0
LOOKUP_PAGE_SIZE = 200
LOOKUP_MAX_PAGES = 5


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """Where a message lives: enough to update it or reply to it later."""

    channel: str  # the channel id, even when the post named #channel
    ts: str
    thread_ts: str | None = None  # set for a reply: the ts of the message it replies to


class SlackPoster:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        retrier: Retrier | None = None,
        pacer: ChannelPacer | None = None,
        channels: ChannelDirectory | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._retrier = retrier or Retrier()
        self._pacer = pacer or ChannelPacer()
        self._channels = channels or ChannelDirectory(client, self._retrier)
        self._wall_clock = wall_clock

    async def post_card(
        self,
        channel: str,
        *,
        text: str,
        blocks: Sequence[Block],
        key: str,
        maybe_posted_since: float | None = None,
    ) -> PostedMessage:
        """Post a card to `channel` (#name or id). `text` is the notification/fallback text."""
        channel_id = await self._channels.resolve(channel)
        arguments = {"text": text, "blocks": list(blocks), "unfurl_links": False, "unfurl_media": False}
        return await self._post(channel_id, None, arguments, key, maybe_posted_since)

    async def post_reply(
        self,
        thread: PostedMessage,
        *,
        text: str,
        blocks: Sequence[Block] | None = None,
        key: str,
        maybe_posted_since: float | None = None,
    ) -> PostedMessage:
        """Reply in the thread of `thread` (a card): the incident's timeline."""
        arguments: dict[str, Any] = {"text": text}
        if blocks is not None:
            arguments["blocks"] = list(blocks)
        return await self._post(thread.channel, thread.ts, arguments, key, maybe_posted_since)

    async def update_card(
        self, message: PostedMessage, *, text: str, blocks: Sequence[Block]
    ) -> PostedMessage:
        """Replace the card's content in place (same channel, same ts)."""

        async def update() -> PostedMessage:
            response = await self._client.chat_update(
                channel=message.channel, ts=message.ts, text=text, blocks=list(blocks)
            )
            return PostedMessage(response["channel"], response["ts"], message.thread_ts)

        async with self._pacer.turn(message.channel):
            return await self._retrier.call("chat.update", update)

    async def find_posted(
        self, channel: str, key: str, *, since: float, thread_ts: str | None = None
    ) -> PostedMessage | None:
        """The message posted with idempotency `key` since `since` (epoch seconds), if any."""
        channel_id = await self._channels.resolve(channel)
        return await self._retrier.call(
            "conversations.history", lambda: self._find(channel_id, key, since, thread_ts)
        )

    async def _find(
        self, channel_id: str, key: str, since: float, thread_ts: str | None
    ) -> PostedMessage | None:
        oldest = f"{max(0.0, since - CLOCK_SKEW_SECONDS):.6f}"
        cursor: str | None = None
        for _ in range(LOOKUP_MAX_PAGES):
            page = await self._history(channel_id, thread_ts, oldest, cursor)
            for message in page.get("messages") or []:
                if _key_of(message) == key:
                    return PostedMessage(channel_id, message["ts"], thread_ts)
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return None
        return None

    async def _post(
        self,
        channel_id: str,
        thread_ts: str | None,
        arguments: dict[str, Any],
        key: str,
        maybe_posted_since: float | None,
    ) -> PostedMessage:
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"key": key}}

        async def post() -> PostedMessage:
            response = await self._client.chat_postMessage(
                channel=channel_id, thread_ts=thread_ts, metadata=metadata, **arguments
            )
            return PostedMessage(response["channel"], response["ts"], thread_ts)

        async with self._pacer.turn(channel_id):
            since = self._wall_clock() if maybe_posted_since is None else maybe_posted_since

            def reconcile() -> Awaitable[PostedMessage | None]:
                return self._find(channel_id, key, since, thread_ts)

            if maybe_posted_since is not None:
                found = await self._retrier.call("conversations.history", reconcile)
                if found is not None:
                    return found
            return await self._retrier.call("chat.postMessage", post, reconcile=reconcile)

    async def _history(
        self, channel_id: str, thread_ts: str | None, oldest: str, cursor: str | None
    ) -> Mapping[str, Any]:
        common: dict[str, Any] = {
            "channel": channel_id,
            "oldest": oldest,
            "cursor": cursor,
            "limit": LOOKUP_PAGE_SIZE,
            "include_all_metadata": True,
        }
        if thread_ts is None:
            response = await self._client.conversations_history(**common)
        else:
            response = await self._client.conversations_replies(ts=thread_ts, **common)
        data: Mapping[str, Any] = response.data  # type: ignore[assignment]
        return data


def _key_of(message: Mapping[str, Any]) -> str | None:
    metadata = message.get("metadata")
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != METADATA_EVENT:
        return None
    payload = metadata.get("event_payload")
    key = payload.get("key") if isinstance(payload, Mapping) else None
    return key if isinstance(key, str) else None
