"""Responder actions over the API: acknowledge, resolve, set priority, merge, split (all audited)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.http.jsonio import json_response, read_json
from bot.keys import RESPONDERS
from engine.models import Priority
from engine.responders import Outcome, Result
from integrations.payload import PayloadError, expect_list, expect_object, required, text

routes = web.RouteTableDef()

_STATUS = {Result.DONE: 200, Result.ALREADY_HANDLED: 409, Result.NOT_FOUND: 404, Result.INVALID: 400}


def _incident_id(request: web.Request) -> int:
    raw = request.match_info["incident_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise PayloadError("incident_id", "must be a positive whole number")
    return int(raw)


async def _act(
    request: web.Request, action: Callable[[int, dict[str, Any], str], Awaitable[Outcome]]
) -> web.Response:
    incident_id = _incident_id(request)
    body = expect_object(await read_json(request), "body")
    actor = text(body, "actor", "", max_length=200)
    outcome = await action(incident_id, dict(body), actor)
    answer = {"result": outcome.result.value, "message": outcome.message}
    if outcome.result is not Result.DONE:
        answer["error"] = outcome.message  # the API's error shape, beside the outcome
    return json_response(answer, status=_STATUS[outcome.result])


@routes.post("/api/v1/incidents/{incident_id}/acknowledge")
async def acknowledge(request: web.Request) -> web.Response:
    responders = request.app[RESPONDERS]
    return await _act(request, lambda i, _b, actor: responders.acknowledge(i, actor=actor, surface="api"))


@routes.post("/api/v1/incidents/{incident_id}/resolve")
async def resolve(request: web.Request) -> web.Response:
    responders = request.app[RESPONDERS]
    return await _act(request, lambda i, _b, actor: responders.resolve(i, actor=actor, surface="api"))


@routes.post("/api/v1/incidents/{incident_id}/priority")
async def priority(request: web.Request) -> web.Response:
    responders = request.app[RESPONDERS]

    async def run(incident_id: int, body: dict[str, Any], actor: str) -> Outcome:
        try:
            chosen = Priority.parse(str(required(body, "priority", "")))
        except ValueError as exc:
            raise PayloadError("priority", str(exc)) from None
        return await responders.set_priority(incident_id, chosen, actor=actor, surface="api")

    return await _act(request, run)


@routes.post("/api/v1/incidents/{incident_id}/merge")
async def merge(request: web.Request) -> web.Response:
    responders = request.app[RESPONDERS]

    async def run(incident_id: int, body: dict[str, Any], actor: str) -> Outcome:
        into = required(body, "into", "")
        if isinstance(into, bool) or not isinstance(into, int) or into <= 0:
            raise PayloadError("into", "must be an incident id")
        return await responders.merge(incident_id, into, actor=actor, surface="api")

    return await _act(request, run)


@routes.post("/api/v1/incidents/{incident_id}/split")
async def split(request: web.Request) -> web.Response:
    responders = request.app[RESPONDERS]

    async def run(incident_id: int, body: dict[str, Any], actor: str) -> Outcome:
        ids = expect_list(required(body, "alert_ids", ""), "alert_ids")
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids):
            raise PayloadError("alert_ids", "must be a non-empty list of alert ids")
        return await responders.split(incident_id, ids, actor=actor, surface="api")

    return await _act(request, run)
