"""How `create_app` takes the Slack surface in: one call, nothing else to know.

    from bot.slack.wiring import install_slack
    install_slack(app, slack_settings, lambda app: <the ChatActions implementation>)

Off when no bot token is set. Otherwise the route /slack/events is added (it answers 404 unless a
signing secret is set), and a cleanup context opens the surface after the resources appended
before it (the database: the action layer needs it) and closes it before them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from bot.actions import ChatActions
from bot.keys import CARDS, CATALOG, CLOCK, DELIVERERS, STORE
from bot.slack.http import EVENTS_PATH, slack_events
from bot.slack.outbox import SURFACE, SlackDeliverer
from bot.slack.settings import SlackSettings
from bot.slack.surface import SLACK, open_slack
from engine.catalog import Catalog

ActionsFactory = Callable[[web.Application], ChatActions]


def team_of(catalog: Catalog) -> Callable[[Sequence[str]], str | None]:
    """The team that owns an incident, for routing: the first of its services with an owner."""

    def owner(services: Sequence[str]) -> str | None:
        entries = (catalog.get(name) for name in services)
        return next((entry.owner for entry in entries if entry is not None and entry.owner), None)

    return owner


def install_slack(app: web.Application, settings: SlackSettings, actions: ActionsFactory) -> None:
    if not settings.enabled:
        return
    app.router.add_post(EVENTS_PATH, slack_events)

    async def slack_context(app: web.Application) -> AsyncIterator[None]:
        async with open_slack(settings, actions(app)) as surface:
            app[SLACK] = surface
            if DELIVERERS in app:  # in the service; a surface-only app (tests) delivers nothing
                app[DELIVERERS][SURFACE] = SlackDeliverer(
                    surface.poster,
                    settings.routes,
                    app[CARDS],
                    app[STORE],
                    app[CLOCK],
                    team_of=team_of(app[CATALOG]),
                )
            yield

    app.cleanup_ctx.append(slack_context)
