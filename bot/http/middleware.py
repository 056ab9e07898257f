"""Request pipeline: request id and access log, JSON errors, and bearer-token authentication."""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.keys import SETTINGS, TELEMETRY
from bot.logs import request_id
from integrations.payload import PayloadError

log = logging.getLogger("nocbot.http")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
PUBLIC_PATHS = frozenset({"/healthz", "/metrics", "/api/v1/openapi.json"})
# routes that authenticate themselves (signatures of their own)
SELF_AUTHENTICATED_PREFIXES = ("/api/v1/pagerduty/", "/slack/", "/api/messages")


def error_body(message: str, field: str | None = None) -> dict[str, str]:
    body = {"error": message}
    if field is not None:
        body["field"] = field
    return body


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-Id", "")
    rid = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    token = request_id.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        elapsed = time.perf_counter() - started
        route = _route_name(request)
        request.app[TELEMETRY].latency.labels(route, request.method).observe(elapsed)
        if status >= 400:
            request.app[TELEMETRY].rejected.labels(route, str(status)).inc()
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "remote": request.remote,
            },
        )
        request_id.reset(token)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON body; bad input is a 4xx, an unreachable database a 503."""
    try:
        return await handler(request)
    except PayloadError as exc:
        return web.json_response(error_body(exc.message, exc.field), status=400)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = exc.text if exc.content_type == "application/json" else exc.reason
        if exc.status == 413:
            message = f"request body larger than {request.app[SETTINGS].max_body_bytes} bytes"
        if exc.content_type == "application/json":
            return web.Response(
                status=exc.status,
                text=exc.text,
                content_type="application/json",
                headers=_passthrough_headers(exc),
            )
        return web.json_response(
            error_body(message or "error"), status=exc.status, headers=_passthrough_headers(exc)
        )
    except (OperationalError, PoolTimeout, ConnectionError, OSError) as exc:
        log.warning("database unavailable", extra={"error": str(exc)[:500]})
        return _unavailable()
    except DBAPIError as exc:
        if _connection_trouble(exc):
            log.warning("database connection lost", extra={"error": str(exc)[:500]})
            return _unavailable()
        log.exception("database error")
        return web.json_response(error_body("internal error"), status=500)
    except Exception:
        log.exception("unhandled error")
        return web.json_response(error_body("internal error"), status=500)


@web.middleware
async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if (
        settings.auth_disabled
        or not request.path.startswith("/api/")
        or request.path in PUBLIC_PATHS
        or request.path.startswith(SELF_AUTHENTICATED_PREFIXES)
    ):
        return await handler(request)
    expected = settings.ingest_token or ""
    header = request.headers.get("Authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return _unauthorized("missing bearer token (Authorization: Bearer <NOCBOT_INGEST_TOKEN>)")
    if not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        return _unauthorized("invalid token")
    return await handler(request)


def _unauthorized(message: str) -> web.Response:
    return web.json_response(
        error_body(message), status=401, headers={"WWW-Authenticate": 'Bearer realm="nocbot"'}
    )


def _connection_trouble(exc: DBAPIError) -> bool:
    """The database went away or is restarting (SQLSTATE class 08 connection exception, 57 operator
    intervention: "the database system is shutting down"), as opposed to a bug in a statement."""
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(code, str) and code[:2] in ("08", "57")


def _unavailable() -> web.Response:
    return web.json_response(
        error_body("database unavailable, retry later"), status=503, headers={"Retry-After": "5"}
    )


def _passthrough_headers(exc: web.HTTPException) -> dict[str, str]:
    keep = ("Allow", "Retry-After", "WWW-Authenticate")
    return {name: exc.headers[name] for name in keep if name in exc.headers}


def _route_name(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"
