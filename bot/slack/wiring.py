"""How `create_app` takes the Slack surface in: one call, nothing else to know.

    from bot.slack.wiring import install_slack
    install_slack(app, slack_settings, lambda app: <the ChatActions implementation>)

Off when no bot token is set. Otherwise the route /slack/events is added (it answers 404 unless a
signing secret is set), and a cleanup context opens the surface after the resources appended
before it (the database: the action layer needs it) and closes it before them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bot.actions import ChatActions
from bot.slack.http import EVENTS_PATH, slack_events
from bot.slack.settings import SlackSettings
from bot.slack.surface import SLACK, open_slack

ActionsFactory = Callable[[web.Application], ChatActions]


def install_slack(app: web.Application, settings: SlackSettings, actions: ActionsFactory) -> None:
    if not settings.enabled:
        return
    app.router.add_post(EVENTS_PATH, slack_events)

    async def slack_context(app: web.Application) -> AsyncIterator[None]:
        async with open_slack(settings, actions(app)) as surface:
            app[SLACK] = surface
            yield

    app.cleanup_ctx.append(slack_context)
