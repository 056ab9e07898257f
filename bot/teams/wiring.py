"""How `create_app` takes the Teams surface in: one call, nothing else to know.

    from bot.teams.wiring import install_teams
    install_teams(app, settings.teams, lambda app: app[ACTIONS])

Off unless an app id is set (or anonymous mode is on). Otherwise the route /api/messages is added,
and a cleanup context opens the surface after the resources appended before it (the database: the
conversation references and the action layer need it), registers the outbox deliverer for "teams"
when the app has an outbox, and closes it all before them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bot.actions import ChatActions
from bot.keys import CARDS, CATALOG, CLOCK, DELIVERERS, STORE
from bot.slack.wiring import team_of
from bot.teams.auth import TeamsEndpoints
from bot.teams.http import MESSAGES_PATH, teams_messages
from bot.teams.outbox import SURFACE
from bot.teams.pacing import ConversationPacer
from bot.teams.settings import TeamsSettings
from bot.teams.surface import TEAMS, open_teams, teams_deliverer

ActionsFactory = Callable[[web.Application], ChatActions]


def install_teams(
    app: web.Application,
    settings: TeamsSettings,
    actions: ActionsFactory,
    *,
    endpoints: TeamsEndpoints | None = None,
    pacer: ConversationPacer | None = None,
) -> None:
    """`endpoints` moves Microsoft's identity services elsewhere, `pacer` replaces Teams' rate
    limits' bookkeeping (tests)."""
    if not settings.enabled:
        return
    app.router.add_post(MESSAGES_PATH, teams_messages)

    async def teams_context(app: web.Application) -> AsyncIterator[None]:
        cards = app.get(CARDS)
        async with open_teams(
            settings, actions(app), app[STORE], app[CLOCK], cards=cards, endpoints=endpoints, pacer=pacer
        ) as surface:
            app[TEAMS] = surface
            if DELIVERERS in app and cards is not None:  # in the service; a surface-only app delivers nothing
                owner = team_of(app[CATALOG]) if CATALOG in app else (lambda _services: None)
                app[DELIVERERS][SURFACE] = teams_deliverer(
                    surface, cards, app[STORE], app[CLOCK], team_of=owner
                )
            yield

    app.cleanup_ctx.append(teams_context)
