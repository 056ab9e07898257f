"""POST /api/messages: Bot Framework activities in, authenticated before the SDK sees them."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core.authorization import ClaimsIdentity
from pydantic import ValidationError

from bot.teams.auth import KeysUnavailable, Unauthorized
from bot.teams.surface import TEAMS
from integrations.teams_package import MESSAGING_PATH

log = logging.getLogger("nocbot.teams")

MESSAGES_PATH = MESSAGING_PATH


async def teams_messages(request: web.Request) -> web.StreamResponse:
    surface = request.app[TEAMS]
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "the body is not JSON"}, status=400)
    if not isinstance(body, Mapping):
        return web.json_response({"error": "an activity is a JSON object"}, status=400)
    if surface.authenticator is None:
        claims = ClaimsIdentity({}, False, authentication_type="Anonymous")
    else:
        try:
            claims = await surface.authenticator.authenticate(request.headers.get("Authorization"), body)
        except Unauthorized as exc:
            log.warning("teams request refused", extra={"reason": str(exc)[:200], "remote": request.remote})
            return web.json_response({"error": "unauthorized"}, status=401)
        except KeysUnavailable as exc:
            log.error("teams signing keys unavailable", extra={"error": str(exc)[:300]})
            return web.json_response({"error": "cannot check the token now"}, status=503)
    try:
        Activity.model_validate(body)
    except (ValidationError, ValueError) as exc:
        log.warning("teams activity malformed", extra={"error": str(exc)[:200]})
        return web.json_response({"error": "not a Bot Framework activity"}, status=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)  # the SDK reads a plain string key
        request["claims_identity"] = claims
    response = await surface.adapter.process(request, surface.agent)
    return response if response is not None else web.Response(status=200)
