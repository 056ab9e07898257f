"""The Slack surface assembled: Web API clients, the Bolt app, delivery, Socket Mode.

`open_slack` is an async context manager so that `create_app` can run it in `cleanup_ctx`, and a
test or a benchmark can run the same thing without the rest of the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions import ChatActions
from bot.slack.background import BackgroundWork
from bot.slack.delivery import SlackPoster
from bot.slack.listeners import SlackListeners
from bot.slack.pacing import DEFAULT_INTERVAL, ChannelPacer
from bot.slack.people import SlackPeople
from bot.slack.retry import Retrier, RetryPolicy
from bot.slack.routing import RoutingTable
from bot.slack.settings import SlackSettings
from bot.slack.socket_mode import socket_mode

log = logging.getLogger("nocbot.slack")

API_TIMEOUT_SECONDS = 10
DRAIN_SECONDS = 10.0


@dataclass(frozen=True)
class SlackSurface:
    settings: SlackSettings
    bolt: AsyncApp
    client: AsyncWebClient
    """For replies to requests (ephemeral messages, modals); outbound cards go through `poster`."""
    poster: SlackPoster
    work: BackgroundWork

    @property
    def routes(self) -> RoutingTable:
        return self.settings.routes


SLACK = web.AppKey("slack", SlackSurface)


@contextlib.asynccontextmanager
async def open_slack(
    settings: SlackSettings,
    actions: ChatActions,
    *,
    retry_policy: RetryPolicy | None = None,
    pacing_interval: float = DEFAULT_INTERVAL,
    drain_seconds: float = DRAIN_SECONDS,
) -> AsyncIterator[SlackSurface]:
    if settings.bot_token is None:
        raise ValueError("Slack needs a bot token")
    async with aiohttp.ClientSession() as session:
        # Bolt's client keeps slack_sdk's default retry of a failed connection; the poster's has
        # none, because SlackPoster decides itself when a retry is safe.
        client = AsyncWebClient(
            token=settings.bot_token, base_url=settings.api_url, session=session, timeout=API_TIMEOUT_SECONDS
        )
        delivery_client = AsyncWebClient(
            token=settings.bot_token,
            base_url=settings.api_url,
            session=session,
            timeout=API_TIMEOUT_SECONDS,
            retry_handlers=[],
        )
        work = BackgroundWork()
        bolt = AsyncApp(
            name="nocbot",
            client=client,
            signing_secret=settings.signing_secret or "",
            # listeners acknowledge and hand the work to `work`, so Bolt may wait for them
            process_before_response=True,
            logger=logging.getLogger("nocbot.slack.bolt"),
        )
        SlackListeners(actions, SlackPeople(client), work, command=settings.command).register(bolt)
        poster = SlackPoster(
            delivery_client,
            retrier=Retrier(retry_policy),
            pacer=ChannelPacer(pacing_interval),
        )
        surface = SlackSurface(settings, bolt, client, poster, work)
        checking = asyncio.create_task(_check_token(client), name="slack-auth-test")
        try:
            async with contextlib.AsyncExitStack() as stack:
                if settings.app_token is not None:
                    await stack.enter_async_context(socket_mode(bolt, settings.app_token, client))
                try:
                    yield surface
                finally:
                    await work.drain(drain_seconds)
        finally:
            checking.cancel()
            await asyncio.gather(checking, return_exceptions=True)


async def _check_token(client: AsyncWebClient) -> None:
    """Say at start whether the bot token works, instead of at the first click."""
    try:
        identity = await client.auth_test()
    except Exception as exc:
        log.error("slack bot token check failed", extra={"error": str(exc)[:300]})
        return
    log.info("slack ready", extra={"team": identity.get("team"), "bot_user": identity.get("user_id")})
