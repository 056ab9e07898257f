"""How `create_app` takes PagerDuty in:

    from bot.pagerduty.wiring import install_pagerduty, pagerduty_deliverer
    install_pagerduty(app, settings.pagerduty)          # after the database and timeline contexts
    deliverers[DESTINATION] = pagerduty_deliverer(settings.pagerduty, session)  # the outbox worker's

The route /api/v1/pagerduty/webhook is always added (it answers 404 without a webhook secret). At
start, a cleanup context builds the `EscalationService` (app[ESCALATION]) from the store, clock,
timeline, responders and catalog, makes it a status follower of the timeline when a routing key is
set (acknowledging or resolving in nocbot then does the same in PagerDuty), and runs the
auto-escalation check when a rule is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.keys import CATALOG, CLOCK, RESPONDERS, SETTINGS, STORE, TIMELINE
from bot.pagerduty.keys import ESCALATION, PAGERDUTY_SETTINGS
from bot.pagerduty.routes import WEBHOOK_PATH, pagerduty_webhook
from bot.pagerduty.settings import PagerDutySettings
from engine.escalation import EscalationService, Links, Routing
from engine.outbox import Deliverer
from integrations.pagerduty_delivery import PagerDutyDeliverer

log = logging.getLogger("nocbot.pagerduty")

CHECK_SECONDS = 30.0
"""How often the auto-escalation rule looks for overdue incidents."""


def pagerduty_deliverer(settings: PagerDutySettings, session: aiohttp.ClientSession) -> Deliverer:
    """The outbox deliverer of destination `integrations.pagerduty.DESTINATION`."""
    return PagerDutyDeliverer(session, settings.events_url)


def install_pagerduty(
    app: web.Application, settings: PagerDutySettings, *, check_seconds: float = CHECK_SECONDS
) -> None:
    app[PAGERDUTY_SETTINGS] = settings
    app.router.add_post(WEBHOOK_PATH, pagerduty_webhook)

    async def pagerduty_context(app: web.Application) -> AsyncIterator[None]:
        timeline = app[TIMELINE]
        service = EscalationService(
            app[STORE],
            app[CLOCK],
            timeline,
            app[RESPONDERS],
            routing=Routing(settings.routing_keys, app[CATALOG]),
            links=Links(app[SETTINGS].base_url),
            auto=settings.auto_escalate,
        )
        app[ESCALATION] = service
        if settings.enabled:
            timeline.followers.append(service)
        task = None
        if settings.enabled and settings.auto_escalate is not None:
            task = asyncio.create_task(_check_overdue(service, check_seconds), name="pagerduty-escalation")
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if service in timeline.followers:
                timeline.followers.remove(service)

    app.cleanup_ctx.append(pagerduty_context)


async def _check_overdue(service: EscalationService, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            escalated = await service.escalate_overdue()
        except Exception:
            log.exception("auto-escalation check failed")
            continue
        if escalated:
            log.info("auto-escalated to PagerDuty", extra={"incidents": escalated})
