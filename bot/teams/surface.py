"""The Teams surface assembled: tokens, request authentication, the SDK adapter, the agent, delivery.

`open_teams` is an async context manager so that `create_app` can run it in `cleanup_ctx`, and a test
can run the same thing without the rest of the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from microsoft_agents.hosting.aiohttp import CloudAdapter

from bot.actions import ChatActions
from bot.cards import CardViews
from bot.slack.background import BackgroundWork
from bot.teams.auth import BotTokens, RequestAuthenticator, SigningKeys, TeamsEndpoints
from bot.teams.connector import ConnectorApi
from bot.teams.conversations import ConversationBook
from bot.teams.listeners import INVOKE_DEADLINE, TeamsAgent
from bot.teams.outbox import TeamsDeliverer
from bot.teams.pacing import ConversationPacer
from bot.teams.sdk import cloud_adapter
from bot.teams.settings import MULTI_TENANT, TeamsSettings
from engine.clock import Clock
from engine.outbox import Deliverer
from engine.storage.store import Store

log = logging.getLogger("nocbot.teams")

DRAIN_SECONDS = 10.0


@dataclass(frozen=True)
class TeamsSurface:
    settings: TeamsSettings
    adapter: CloudAdapter
    agent: TeamsAgent
    authenticator: RequestAuthenticator | None
    """None in anonymous mode (local testing): requests are not checked."""
    api: ConnectorApi
    book: ConversationBook
    work: BackgroundWork


TEAMS = web.AppKey("teams", TeamsSurface)


@contextlib.asynccontextmanager
async def open_teams(
    settings: TeamsSettings,
    actions: ChatActions,
    store: Store,
    clock: Clock,
    *,
    cards: CardViews | None = None,
    endpoints: TeamsEndpoints | None = None,
    pacer: ConversationPacer | None = None,
    invoke_deadline: float = INVOKE_DEADLINE,
    drain_seconds: float = DRAIN_SECONDS,
) -> AsyncIterator[TeamsSurface]:
    """`cards` draws the refreshed card an Action.Execute is answered with (without it: a message)."""
    endpoints = endpoints or TeamsEndpoints()
    async with aiohttp.ClientSession() as session:
        if settings.anonymous:
            log.warning("teams: anonymous mode — /api/messages is not authenticated (local testing only)")
            tokens = BotTokens.anonymous()
            authenticator = None
        else:
            if settings.app_id is None:
                raise ValueError("Teams needs an app id unless anonymous")
            tokens = BotTokens(
                session,
                app_id=settings.app_id,
                password=settings.app_password,
                tenant=settings.token_tenant,
                endpoints=endpoints,
            )
            tenant = settings.tenant_id if settings.tenant_id and settings.tenant_id != MULTI_TENANT else None
            authenticator = RequestAuthenticator(settings.app_id, tenant, SigningKeys(session), endpoints)
        api = ConnectorApi(session, tokens, pacer or ConversationPacer())
        book = ConversationBook(store, clock)
        work = BackgroundWork()
        agent = TeamsAgent(actions, book, api, work, cards=cards, invoke_deadline=invoke_deadline)
        adapter = cloud_adapter(tokens, settings.app_id, settings.tenant_id)
        surface = TeamsSurface(settings, adapter, agent, authenticator, api, book, work)
        checking = asyncio.create_task(_check_token(tokens), name="teams-token-check")
        try:
            yield surface
        finally:
            checking.cancel()
            await asyncio.gather(checking, return_exceptions=True)
            await work.drain(drain_seconds)


def teams_deliverer(
    surface: TeamsSurface,
    cards: CardViews,
    store: Store,
    clock: Clock,
    *,
    team_of: Callable[[Sequence[str]], str | None] = lambda _services: None,
) -> Deliverer:
    """The outbox's deliverer for destination "teams", sharing the surface's connection and pacing."""
    return TeamsDeliverer(
        surface.api, surface.book, surface.settings.routes, cards, store, clock, team_of=team_of
    )


async def _check_token(tokens: BotTokens) -> None:
    """Say at start whether the app id and password work, instead of at the first card."""
    if tokens.is_anonymous:
        return
    try:
        await tokens.token()
    except Exception as exc:
        log.error("teams app credentials check failed", extra={"error": str(exc)[:300]})
        return
    log.info("teams ready")
