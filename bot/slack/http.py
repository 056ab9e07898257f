"""POST /slack/events: events, interactivity and slash commands share one endpoint.

Bolt verifies the signature (HMAC of `v0:{timestamp}:{body}` with the signing secret, timestamps
older than 5 minutes refused) and answers 401 itself; requests without the two headers, or with a
timestamp that is not a number, are refused here before Bolt sees them.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

from bot.slack.surface import SLACK

EVENTS_PATH = "/slack/events"


async def slack_events(request: web.Request) -> web.Response:
    surface = request.app.get(SLACK)
    if surface is None or not surface.settings.http_mode:
        return web.json_response({"error": "Slack over HTTP is not configured"}, status=404)
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    signature = request.headers.get("X-Slack-Signature", "")
    if not timestamp.isdigit() or not signature:
        return web.json_response({"error": "missing or malformed Slack signature headers"}, status=401)
    response = await surface.bolt.async_dispatch(await to_bolt_request(request))
    return await to_aiohttp_response(response)
