"""Channel names to ids: messages are paced, looked up and updated by id, which never changes."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import SlackRejected
from bot.slack.retry import Retrier
from bot.slack.routing import is_channel_id

PAGE_SIZE = 1000
MAX_PAGES = 50  # 50,000 channels: past that, configure ids
# conversations.list allows ~20 calls a minute: an unknown name must not list on every post
RELIST_SECONDS = 60.0


class ChannelDirectory:
    def __init__(
        self, client: AsyncWebClient, retrier: Retrier, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._retrier = retrier
        self._clock = clock
        self._ids: dict[str, str] = {}
        self._listed_at: float | None = None
        self._listing = asyncio.Lock()  # one listing at a time; the others wait for its result

    async def resolve(self, channel: str) -> str:
        """The id of `#name` (or `channel` itself when it is an id). Raises SlackRejected when the
        bot cannot see a channel of that name."""
        if is_channel_id(channel):
            return channel
        name = channel.removeprefix("#")
        if name not in self._ids:
            async with self._listing:
                if name not in self._ids and not self._listed_recently():
                    await self._list_channels()
                    self._listed_at = self._clock()
        if name not in self._ids:
            raise SlackRejected("conversations.list", "channel_not_found", f"no channel named #{name}")
        return self._ids[name]

    def _listed_recently(self) -> bool:
        return self._listed_at is not None and self._clock() - self._listed_at < RELIST_SECONDS

    async def _list_channels(self) -> None:
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self._retrier.call("conversations.list", functools.partial(self._page, cursor))
            for channel in page.get("channels") or []:
                self._ids[channel["name"]] = channel["id"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return

    async def _page(self, cursor: str | None) -> Any:
        response = await self._client.conversations_list(
            cursor=cursor, exclude_archived=True, limit=PAGE_SIZE, types="public_channel,private_channel"
        )
        return response.data
