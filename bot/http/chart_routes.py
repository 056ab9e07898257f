"""Incident metric charts as PNG, at unguessable URLs (chat surfaces fetch them without a login)."""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from bot.http.jsonio import json_response
from bot.keys import LINKS, STORE
from engine.enrichment.sections import MetricContext
from engine.storage.enrichment_rows import load_enrichment

routes = web.RouteTableDef()

_CHART = re.compile(r"^(\d{1,18})-([0-9a-f]{32})\.png$")


@routes.get("/charts/{name}")
async def chart(request: web.Request) -> web.StreamResponse:
    found = _CHART.match(request.match_info["name"])
    if found is None or not request.app[LINKS].verify("chart", int(found[1]), found[2]):
        return json_response({"error": "no such chart"}, status=404)
    incident_id = int(found[1])
    async with request.app[STORE].engine.connect() as conn:
        enrichment = await load_enrichment(conn, incident_id)
    context = enrichment.metric_context if enrichment is not None else None
    if not isinstance(context, MetricContext):
        return json_response({"error": "this incident has no metric chart"}, status=404)
    from engine.enrichment.chart import render_metric_context  # matplotlib loads on first use only

    png = await asyncio.to_thread(render_metric_context, context)
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=60"})
