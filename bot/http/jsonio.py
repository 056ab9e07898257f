"""JSON in and out of handlers: strict parsing (no NaN), fast encoding, clear 400s."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from integrations.payload import loads_json


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; aiohttp enforces the size limit (413) while reading."""
    return loads_json(await request.read())


def json_response(data: Any, *, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


def check_batch_size(count: int, limit: int, field: str) -> None:
    if count > limit:
        raise web.HTTPRequestEntityTooLarge(
            max_size=limit,
            actual_size=count,
            text=orjson.dumps(
                {
                    "error": f"{count} items in one request; at most {limit} (NOCBOT_MAX_BATCH_ITEMS)",
                    "field": field,
                }
            ).decode(),
            content_type="application/json",
        )
