"""GET endpoints: alerts and incidents, filtered and paged (newest first, cursor = last id seen)."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from bot.http import query
from bot.http.jsonio import json_response
from bot.http.views import alert_view, incident_detail_view, incident_view
from bot.keys import LINKS, SETTINGS, STORE
from engine.models import AlertStatus, IncidentStatus
from engine.storage.alert_rows import AlertFilter
from engine.storage.incident_rows import IncidentFilter
from integrations.payload import PayloadError

routes = web.RouteTableDef()

MAX_PAGE = 1000


@routes.get("/api/v1/alerts")
async def get_alerts(request: web.Request) -> web.Response:
    params = request.query
    page = await request.app[STORE].list_alerts(
        AlertFilter(
            status=query.choice(params, "status", [s.value for s in AlertStatus]),
            service=query.text(params, "service"),
            since=query.moment(params, "since"),
            until=query.moment(params, "until"),
            incident_id=query.integer(params, "incident", default=None, low=1, high=2**62),
            limit=_limit(params),
            cursor=query.integer(params, "cursor", default=None, low=1, high=2**62),
        )
    )
    return json_response({"items": [alert_view(a) for a in page.items], "next_cursor": page.next_cursor})


@routes.get("/api/v1/incidents")
async def get_incidents(request: web.Request) -> web.Response:
    params = request.query
    page = await request.app[STORE].list_incidents(
        IncidentFilter(
            status=query.choice(params, "status", [s.value for s in IncidentStatus]),
            service=query.text(params, "service"),
            since=query.moment(params, "since"),
            until=query.moment(params, "until"),
            origin=query.choice(params, "origin", ["nocbot", "imported"]),
            limit=_limit(params),
            cursor=query.integer(params, "cursor", default=None, low=1, high=2**62),
        )
    )
    return json_response({"items": [incident_view(i) for i in page.items], "next_cursor": page.next_cursor})


@routes.get("/api/v1/incidents/{incident_id}")
async def get_incident(request: web.Request) -> web.Response:
    raw = request.match_info["incident_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise PayloadError("incident_id", "must be a positive whole number")
    detail = await request.app[STORE].get_incident(int(raw))
    if detail is None:
        return json_response({"error": f"no incident {raw}"}, status=404)
    view = incident_detail_view(detail)
    if detail.incident.enrichment.get("metric_context", {}).get("available"):
        base = request.app[SETTINGS].base_url
        view["chart_url"] = base + request.app[LINKS].chart_path(detail.incident.id)
    return json_response(view)


def _limit(params: Mapping[str, str]) -> int:
    return query.integer(params, "limit", default=100, low=1, high=MAX_PAGE) or 100
