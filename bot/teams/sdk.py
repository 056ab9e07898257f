"""The Agents SDK's CloudAdapter, given nocbot's tokens and error handling.

The adapter parses activities, runs the agent and turns its invoke response into the HTTP answer.
It also builds a connector client and a user-token client for every turn, asking a `Connections`
for tokens: here they come from the one cached `BotTokens` (none in anonymous mode), so a turn costs
no token request.
"""

from __future__ import annotations

import logging
from typing import Any

from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import (
    AgentAuthConfiguration,
    AnonymousTokenProvider,
    ClaimsIdentity,
    Connections,
)

from bot.teams.auth import BotTokens

log = logging.getLogger("nocbot.teams")


class _TokenProvider(AnonymousTokenProvider):  # type: ignore[misc]  # the SDK is untyped
    """The bot's own token for every resource the SDK asks about (the Bot Connector's)."""

    def __init__(self, tokens: BotTokens) -> None:
        self._tokens = tokens

    async def get_access_token(
        self, resource_url: str, scopes: list[str], force_refresh: bool = False
    ) -> str:
        if force_refresh:
            self._tokens.forget()
        return await self._tokens.token()


class BotConnections(Connections):  # type: ignore[misc]
    def __init__(self, tokens: BotTokens, app_id: str | None, tenant_id: str | None) -> None:
        self._provider = AnonymousTokenProvider() if tokens.is_anonymous else _TokenProvider(tokens)
        self._configuration = AgentAuthConfiguration(
            client_id=app_id, tenant_id=tenant_id, anonymous_allowed=tokens.is_anonymous
        )

    def get_connection(self, connection_name: str) -> Any:
        return self._provider

    def get_default_connection(self) -> Any:
        return self._provider

    def get_token_provider(self, claims_identity: ClaimsIdentity, service_url: str) -> Any:
        return self._provider

    def get_default_connection_configuration(self) -> AgentAuthConfiguration:
        return self._configuration


def cloud_adapter(tokens: BotTokens, app_id: str | None, tenant_id: str | None) -> CloudAdapter:
    adapter = CloudAdapter(connection_manager=BotConnections(tokens, app_id, tenant_id))

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        # The SDK's default prints the traceback and sends the exception text into the chat.
        activity = context.activity
        log.error(
            "teams turn failed",
            exc_info=(type(error), error, error.__traceback__),
            extra={"activity_type": activity.type if activity else None},
        )

    adapter.on_turn_error = on_turn_error
    return adapter
