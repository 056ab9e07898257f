"""Slack: the bot token works (auth.test), has the scopes the manifest requests, requests can reach
nocbot (signing secret or a working app-level token), and the routed channels exist.

The granted scopes come from the `x-oauth-scopes` header Slack puts on Web API responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.doctor.findings import Finding, ok, problem, skipped, warning
from bot.doctor.settings_check import read_setting
from bot.settings import SettingsError
from bot.slack.routing import RoutingTable, is_channel_id
from integrations.slack_manifest import bot_scopes

AREA = "slack"
TIMEOUT_SECONDS = 10
MAX_CHANNEL_PAGES = 50
REINSTALL = (
    "reinstall the app (api.slack.com/apps → your app → OAuth & Permissions → Reinstall) and copy the "
    "Bot User OAuth Token (xoxb-…) into NOCBOT_SLACK_BOT_TOKEN"
)
BAD_TOKEN = {
    "invalid_auth": "the bot token is not valid (revoked, mistyped, or from another workspace)",
    "not_authed": "no bot token was sent",
    "token_revoked": "the bot token was revoked",
    "account_inactive": "the app was uninstalled or its bot deactivated",
    "token_expired": "the bot token expired (token rotation is on)",
}


class _CallFailed(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


async def check_slack(environ: Mapping[str, str]) -> list[Finding]:
    try:
        token: str | None = read_setting(environ, "NOCBOT_SLACK_BOT_TOKEN")
        api_url: str = read_setting(environ, "NOCBOT_SLACK_API_URL")
        signing_secret: str | None = read_setting(environ, "NOCBOT_SLACK_SIGNING_SECRET")
        app_token: str | None = read_setting(environ, "NOCBOT_SLACK_APP_TOKEN")
        routes: RoutingTable = read_setting(environ, "NOCBOT_SLACK_ROUTES")
    except SettingsError as exc:
        return [problem(AREA, str(exc), "fix the Slack settings first (see the settings row)")]
    if token is None:
        return [skipped(AREA, "Slack is off (NOCBOT_SLACK_BOT_TOKEN is not set)")]
    client = AsyncWebClient(token=token, base_url=api_url, timeout=TIMEOUT_SECONDS, retry_handlers=[])
    try:
        identity, headers = await _call(client, "auth.test")
    except _CallFailed as exc:
        return [_token_problem(exc.error, api_url)]
    findings = [ok(AREA, f"bot token works: @{identity.get('user')} in {identity.get('team')}")]
    findings.append(_scopes(headers))
    findings.extend(await _inbound(signing_secret, app_token, api_url))
    findings.extend(await _channels(client, routes))
    return findings


async def _call(
    client: AsyncWebClient, method: str, **arguments: Any
) -> tuple[dict[str, Any], Mapping[str, str]]:
    """(data, headers) of a successful call; _CallFailed with Slack's error code (or the network
    failure) otherwise."""
    try:
        response = await client.api_call(method, params=arguments or None)
    except SlackApiError as exc:
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        raise _CallFailed(str(data.get("error") or f"HTTP {exc.response.status_code}")) from None
    except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise _CallFailed(f"cannot reach Slack: {type(exc).__name__}: {exc}"[:300]) from None
    data = response.data if isinstance(response.data, dict) else {}
    return data, {str(k).lower(): str(v) for k, v in (response.headers or {}).items()}


def _token_problem(error: str, api_url: str) -> Finding:
    if error in BAD_TOKEN:
        return problem(AREA, f"auth.test: {error}: {BAD_TOKEN[error]}", REINSTALL)
    if error.startswith("cannot reach"):
        return problem(
            AREA, f"{api_url}: {error}", "check the network path (proxy, firewall) and NOCBOT_SLACK_API_URL"
        )
    return problem(AREA, f"auth.test failed: {error}", REINSTALL)


def _scopes(headers: Mapping[str, str]) -> Finding:
    raw = headers.get("x-oauth-scopes")
    if raw is None:
        return warning(
            AREA,
            "Slack did not say which scopes the token has (no x-oauth-scopes header)",
            "compare the app's scopes with `nocbot slack-manifest` by hand",
        )
    granted = {scope.strip() for scope in raw.split(",") if scope.strip()}
    missing = [scope for scope in bot_scopes() if scope not in granted]
    if missing:
        return problem(
            AREA,
            f"the bot token lacks scopes: {', '.join(missing)}",
            "add them under OAuth & Permissions (or recreate the app from `nocbot slack-manifest`), then "
            "reinstall the app: new scopes take effect only after reinstalling",
        )
    return ok(AREA, f"the token has every scope nocbot needs ({len(bot_scopes())})")


async def _inbound(signing_secret: str | None, app_token: str | None, api_url: str) -> list[Finding]:
    findings: list[Finding] = []
    if signing_secret is None and app_token is None:
        findings.append(
            warning(
                AREA,
                "neither NOCBOT_SLACK_SIGNING_SECRET nor NOCBOT_SLACK_APP_TOKEN is set: cards are posted, "
                "but buttons, /nocbot and @mentions never reach nocbot",
                "set the signing secret (HTTP, Basic Information → Signing Secret) or an app-level token "
                "(Socket Mode)",
            )
        )
    if signing_secret is not None:
        findings.append(ok(AREA, "HTTP mode: Slack requests are verified at /slack/events"))
    if app_token is not None:
        client = AsyncWebClient(token=app_token, base_url=api_url, timeout=TIMEOUT_SECONDS, retry_handlers=[])
        try:
            await _call(client, "apps.connections.open")
        except _CallFailed as exc:
            findings.append(
                problem(
                    AREA,
                    f"Socket Mode: the app-level token is refused: {exc.error}",
                    "create an app-level token with connections:write (Basic Information → App-Level "
                    "Tokens), enable Socket Mode, and put it in NOCBOT_SLACK_APP_TOKEN",
                )
            )
        else:
            findings.append(ok(AREA, "Socket Mode: the app-level token may open connections"))
    return findings


async def _channels(client: AsyncWebClient, routes: RoutingTable) -> list[Finding]:
    wanted = routes.channels
    if not wanted:
        return []
    known: dict[str, str] = {}  # name -> id, and id -> id
    cursor: str | None = None
    try:
        for _ in range(MAX_CHANNEL_PAGES):
            page, _headers = await _call(
                client,
                "conversations.list",
                types="public_channel,private_channel",
                exclude_archived="true",
                limit=1000,
                **({"cursor": cursor} if cursor else {}),
            )
            for channel in page.get("channels") or []:
                known[channel["name"]] = channel["id"]
                known[channel["id"]] = channel["id"]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                break
    except _CallFailed as exc:
        return [warning(AREA, f"cannot list channels to check the routes: {exc.error}", "see the scopes row")]
    missing = [channel for channel in wanted if _key(channel) not in known]
    if missing:
        return [
            problem(
                AREA,
                f"route channels nocbot cannot see: {', '.join(missing)}",
                "create them, or invite nocbot (/invite @nocbot) — private channels need an invite; "
                "then fix NOCBOT_SLACK_ROUTES",
            )
        ]
    return [ok(AREA, f"every routed channel exists: {', '.join(wanted)}")]


def _key(channel: str) -> str:
    return channel if is_channel_id(channel) else channel.removeprefix("#")
