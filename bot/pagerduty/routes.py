"""POST /api/v1/pagerduty/webhook: PagerDuty webhooks v3, authenticated by their signature.

The signature (HMAC-SHA256 of the raw body with a subscription secret) is checked before the body
is parsed; unsigned or forged deliveries are 401 and change nothing. A verified body that is not a
webhook is 400, which PagerDuty does not retry.
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.http.jsonio import json_response
from bot.http.middleware import error_body
from bot.pagerduty.keys import ESCALATION, PAGERDUTY_SETTINGS
from integrations.pagerduty import SIGNATURE_HEADER, WebhookError, parse_webhook, verify_signature

log = logging.getLogger("nocbot.pagerduty")

WEBHOOK_PATH = "/api/v1/pagerduty/webhook"


async def pagerduty_webhook(request: web.Request) -> web.Response:
    settings = request.app.get(PAGERDUTY_SETTINGS)
    service = request.app.get(ESCALATION)
    if settings is None or service is None or not settings.webhooks_enabled:
        return web.json_response(error_body("PagerDuty webhooks are not configured"), status=404)
    body = await request.read()
    if not verify_signature(body, request.headers.get(SIGNATURE_HEADER), settings.webhook_secrets):
        log.warning("pagerduty webhook with a missing or wrong signature", extra={"remote": request.remote})
        return web.json_response(error_body("missing or invalid X-PagerDuty-Signature"), status=401)
    try:
        event = parse_webhook(body)
    except WebhookError as exc:
        return web.json_response(error_body(str(exc), "body"), status=400)
    result = await service.apply(event)
    return json_response({"result": result.value, "event": event.id})
