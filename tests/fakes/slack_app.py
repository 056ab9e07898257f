"""The Slack surface served on loopback against the fake Slack, as `create_app` wires it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.actions import ChatActions
from bot.slack.routing import parse_routes
from bot.slack.settings import SlackSettings
from bot.slack.surface import SLACK, SlackSurface
from bot.slack.wiring import install_slack
from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def slack_settings(fake: FakeSlack, *, http: bool = True, socket: bool = False) -> SlackSettings:
    return SlackSettings(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET if http else None,
        app_token=APP_TOKEN if socket else None,
        routes=parse_routes("*:#incidents"),
        api_url=fake.api_url,
    )


@dataclass
class SlackApp:
    client: TestClient[web.Request, web.Application]
    surface: SlackSurface


@asynccontextmanager
async def serve_slack(settings: SlackSettings, actions: ChatActions) -> AsyncIterator[SlackApp]:
    app = web.Application()
    install_slack(app, settings, lambda _app: actions)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield SlackApp(client, app[SLACK])
    finally:
        await client.close()
