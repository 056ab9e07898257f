"""POST endpoints that take alerts, metric points and change events in."""

from __future__ import annotations

from aiohttp import web

from bot.http.jsonio import check_batch_size, json_response, read_json
from bot.keys import CLOCK, INGEST, KNOWN_SERIES, SETTINGS, TELEMETRY
from engine.storage.records import AlertIngestResult
from integrations import alertmanager, nocbot_api, point_body

routes = web.RouteTableDef()


@routes.post("/api/v1/alerts/alertmanager")
async def post_alertmanager(request: web.Request) -> web.Response:
    document = await read_json(request)
    batch = alertmanager.parse_webhook(document, now=request.app[CLOCK].now())
    check_batch_size(len(batch), request.app[SETTINGS].max_batch_items, "alerts")
    result = await request.app[INGEST].alerts(batch)
    return _alert_outcome(request, result)


@routes.post("/api/v1/alerts")
async def post_alerts(request: web.Request) -> web.Response:
    document = await read_json(request)
    now = request.app[CLOCK].now()
    batch = nocbot_api.parse_many(document, lambda item, field: nocbot_api.parse_alert(item, field, now=now))
    check_batch_size(len(batch), request.app[SETTINGS].max_batch_items, "body")
    result = await request.app[INGEST].alerts(batch)
    return _alert_outcome(request, result)


@routes.post("/api/v1/metrics")
async def post_metrics(request: web.Request) -> web.Response:
    batch = point_body.parse_point_body(await request.read(), request.app[KNOWN_SERIES])
    check_batch_size(len(batch), request.app[SETTINGS].max_batch_items, "points")
    result = await request.app[INGEST].points(batch)
    counter = request.app[TELEMETRY].ingested
    counter.labels("point", "stored").inc(result.stored)
    counter.labels("point", "duplicate").inc(result.duplicates)
    return json_response({"received": len(batch), "stored": result.stored, "duplicate": result.duplicates})


@routes.post("/api/v1/changes")
async def post_changes(request: web.Request) -> web.Response:
    document = await read_json(request)
    now = request.app[CLOCK].now()
    batch = nocbot_api.parse_many(document, lambda item, field: nocbot_api.parse_change(item, field, now=now))
    check_batch_size(len(batch), request.app[SETTINGS].max_batch_items, "body")
    stored = await request.app[INGEST].changes(batch)
    request.app[TELEMETRY].ingested.labels("change", "stored").inc(stored)
    return json_response({"received": len(batch), "stored": stored, "duplicate": len(batch) - stored})


def _alert_outcome(request: web.Request, result: AlertIngestResult) -> web.Response:
    counts = {outcome: result.count(outcome) for outcome in ("new", "updated", "duplicate")}
    counter = request.app[TELEMETRY].ingested
    for outcome, count in counts.items():
        counter.labels("alert", outcome).inc(count)
    return json_response({"received": len(result.ids), **counts, "ids": result.ids})
