"""Silences and maintenance windows over the API (chat commands use the same service)."""

from __future__ import annotations

from aiohttp import web

from bot.http.jsonio import json_response, read_json
from bot.http.views import silence_view
from bot.keys import CLOCK, INGEST
from integrations import nocbot_api
from integrations.payload import PayloadError

routes = web.RouteTableDef()


@routes.post("/api/v1/silences")
async def post_silence(request: web.Request) -> web.Response:
    silence = nocbot_api.parse_silence(await read_json(request), now=request.app[CLOCK].now())
    silence_id = await request.app[INGEST].silence(silence)
    return json_response({"id": silence_id}, status=201)


@routes.get("/api/v1/silences")
async def get_silences(request: web.Request) -> web.Response:
    return json_response({"items": [silence_view(s) for s in await request.app[INGEST].silences()]})


@routes.delete("/api/v1/silences/{silence_id}")
async def delete_silence(request: web.Request) -> web.Response:
    raw = request.match_info["silence_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise PayloadError("silence_id", "must be a positive whole number")
    if not await request.app[INGEST].expire_silence(int(raw)):
        return json_response({"error": f"no silence {raw} in force"}, status=404)
    return json_response({"id": int(raw), "expired": True})
