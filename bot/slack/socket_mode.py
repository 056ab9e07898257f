"""Socket Mode: Slack's requests over a WebSocket the bot opens, so no public URL is needed.

The connection is made in the background: a Slack outage at start must not stop nocbot from
ingesting alerts. slack_sdk's client keeps retrying a failed connection and reconnects a lost one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("nocbot.slack")


@contextlib.asynccontextmanager
async def socket_mode(
    bolt: AsyncApp, app_token: str, client: AsyncWebClient, *, ping_interval: float = 10
) -> AsyncIterator[AsyncSocketModeHandler]:
    handler = AsyncSocketModeHandler(
        bolt, app_token, web_client=client, logger=log, ping_interval=ping_interval
    )
    # slack_bolt leaves these two untyped
    connecting = asyncio.create_task(
        handler.connect_async(),  # type: ignore[no-untyped-call]
        name="slack-socket-mode-connect",
    )
    try:
        yield handler
    finally:
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        await handler.close_async()  # type: ignore[no-untyped-call]
