"""Health, Prometheus metrics, and the OpenAPI document."""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from importlib import resources
from typing import Any

import yaml
from aiohttp import web

from bot.http.jsonio import json_response
from bot.keys import STORE, TELEMETRY

log = logging.getLogger("nocbot.http")
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    try:
        await asyncio.wait_for(request.app[STORE].ping(), timeout=5)
    except Exception as exc:  # any failure to reach the database is "unhealthy", never a 500
        log.warning("health check failed", extra={"error": str(exc)[:300]})
        return json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    return json_response({"status": "ok", "database": "ok"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[TELEMETRY].render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


@routes.get("/api/v1/openapi.json")
async def openapi(_request: web.Request) -> web.Response:
    return json_response(openapi_document())


@cache
def openapi_document() -> dict[str, Any]:
    text = resources.files("bot.http").joinpath("openapi.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document
