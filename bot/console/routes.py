"""The web console's routes: pages, card fragments, actions, questions and the live stream.

Everything acts through the same layers as Slack and Teams: cards are `app[CARDS]` views rendered
by `render.incident_html`, buttons go to `app[ACTIONS].act` as a CONSOLE actor, and the page stays
current through the event feed. The JSON endpoints require `Content-Type: application/json` and a
same-origin `Origin`, which another site's page cannot forge; with the SameSite=Strict cookie, that
keeps clicks from elsewhere out.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.actions import Actor, format_duration, parse_duration
from bot.console import pages, session
from bot.console.overview import load_overview
from bot.console.questions import answer_json
from bot.console.render import incident_html
from bot.feed_sse import stream_events
from bot.http.jsonio import json_response, read_json
from bot.keys import ACTIONS, CARDS, CLOCK, INGEST, SETTINGS, STORE
from engine.models import IncidentStatus
from engine.storage.incident_rows import IncidentFilter
from engine.view import ActionKind, IncidentView, parse_action_value
from nlq.answer import answer
from nlq.errors import CannotAnswer

STATIC = Path(__file__).parent / "static"
MAX_QUESTION = 500
OPEN_CARDS = 50  # per status: the channel is for what needs attention now
RESOLVED_CARDS = 10
ANSWER_SECONDS = 30.0
FORM = "application/x-www-form-urlencoded"

routes = web.RouteTableDef()


def install_console(app: web.Application) -> None:
    """Serve the console under /console (needs FEED: call after `install_feed`)."""
    app.add_routes(routes)
    app.router.add_static("/console/static", STATIC, name="console-static")


@routes.get("/console")
async def channel(request: web.Request) -> web.Response:
    actor = _page_actor(request)
    cards = pages.card_list(await _recent_views(request.app))
    return _html(pages.channel_page(cards, actor, demo=_demo(request)), request)


@routes.get("/console/cards")
async def cards(request: web.Request) -> web.Response:
    _api_actor(request)
    return _html(pages.card_list(await _recent_views(request.app)), request)


@routes.get("/console/incidents/{incident_id}/card")
async def card(request: web.Request) -> web.Response:
    _api_actor(request)
    raw = request.match_info["incident_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise web.HTTPNotFound()
    view = await request.app[CARDS].view(int(raw))
    if view is None:
        raise web.HTTPNotFound()
    return _html(incident_html(view), request)


@routes.post("/console/actions")
async def act(request: web.Request) -> web.Response:
    actor = _api_actor(request)
    body = await _json_body(request)
    try:
        value = parse_action_value(body)
        argument = _argument(value.action, value.argument)
    except ValueError as exc:
        return json_response({"error": str(exc)}, status=400)
    outcome = await request.app[ACTIONS].act(actor, value.incident_id, value.version, value.action, argument)
    return json_response(
        {"outcome": outcome.outcome.value, "message": outcome.message, "refused": outcome.refused}
    )


@routes.post("/console/questions")
async def ask(request: web.Request) -> web.Response:
    _api_actor(request)
    body = await _json_body(request)
    question = body.get("question")
    if not isinstance(question, str) or not question.strip() or len(question) > MAX_QUESTION:
        return json_response({"error": f"a question is 1 to {MAX_QUESTION} characters"}, status=400)
    settings, clock = request.app[SETTINGS], request.app[CLOCK]
    try:
        async with asyncio.timeout(ANSWER_SECONDS):
            result = await answer(question.strip(), request.app[STORE].engine, clock.now(), settings.timezone)
    except CannotAnswer as exc:
        return json_response({"answered": False, "text": exc.message, "suggestions": list(exc.suggestions)})
    return json_response(answer_json(result))


@routes.get("/console/events")
async def events(request: web.Request) -> web.StreamResponse:
    _api_actor(request)
    return await stream_events(request)


@routes.get("/console/overview")
async def overview(request: web.Request) -> web.Response:
    actor = _page_actor(request)
    raw = request.query.get("days", "14")
    days = int(raw) if raw.isdigit() and 1 <= int(raw) <= 90 else 14
    settings, now = request.app[SETTINGS], request.app[CLOCK].now()
    tz = ZoneInfo(settings.timezone)
    watch = request.app[INGEST].watch
    async with request.app[STORE].engine.connect() as conn:
        data = await load_overview(conn, now, tz, days=days, unsaved=watch.unsaved if watch else 0)
    page = pages.overview_page(data, actor, demo=_demo(request), now=now, tz=tz)
    return _html(page, request)


@routes.get("/console/login")
async def login_form(request: web.Request) -> web.Response:
    if _demo(request) or session.request_actor(request) is not None:
        raise web.HTTPSeeOther("/console")
    return _html(pages.login_page(), request)


@routes.post("/console/login")
async def login(request: web.Request) -> web.Response:
    _check_origin(request)
    # only what the sign-in form sends: aiohttp would also parse multipart, and raise on a malformed one
    if request.content_type != FORM:
        raise web.HTTPUnsupportedMediaType(reason=f"send the sign-in form as {FORM}")
    try:
        form = await request.post()
    except (ValueError, LookupError):  # not text in the charset it names, or a charset Python lacks
        return _html(pages.login_page(error="The form could not be read."), request, status=400)
    token, name = str(form.get("token", "")), str(form.get("name", ""))
    settings = request.app[SETTINGS]
    shown = session.valid_name(name)
    if shown is None:
        page = pages.login_page(error="Give a name of 1 to 64 characters.", name=name[:64])
        return _html(page, request, status=400)
    if not session.token_matches(settings, token):
        return _html(pages.login_page(error="That token is not right.", name=shown), request, status=401)
    response = web.HTTPSeeOther("/console")
    session.set_session(response, request, session.session_cookie(settings, shown, request.app[CLOCK].now()))
    raise response


@routes.post("/console/logout")
async def logout(request: web.Request) -> web.Response:
    _check_origin(request)
    response = web.HTTPSeeOther("/console/login")
    session.clear_session(response, request)
    raise response


async def _recent_views(app: web.Application) -> list[IncidentView]:
    store = app[STORE]
    records = []
    for status, limit in (
        (IncidentStatus.OPEN, OPEN_CARDS),
        (IncidentStatus.ACKNOWLEDGED, OPEN_CARDS),
        (IncidentStatus.RESOLVED, RESOLVED_CARDS),
    ):
        page = await store.list_incidents(IncidentFilter(status=status.value, origin="nocbot", limit=limit))
        records.extend(page.items)
    views = []
    for record in sorted(records, key=lambda r: r.id, reverse=True):
        view = await app[CARDS].view(record.id)
        if view is not None:
            views.append(view)
    return views


def _argument(action: ActionKind, argument: str) -> str | None:
    """What `ChatActions.act` takes: a silence as a concrete duration, nothing for plain actions."""
    if action is ActionKind.SILENCE:
        if argument == "custom" or not argument:
            raise ValueError("say how long to silence, e.g. 30m, 4h or 1d")
        return format_duration(parse_duration(argument))
    return argument or None


def _page_actor(request: web.Request) -> Actor:
    actor = session.request_actor(request)
    if actor is None:
        raise web.HTTPSeeOther("/console/login")
    return actor


def _api_actor(request: web.Request) -> Actor:
    actor = session.request_actor(request)
    if actor is None:
        raise web.HTTPUnauthorized(reason="sign in to the console first")
    if request.method == "POST":
        _check_origin(request)
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(reason="send application/json")
    return actor


def _check_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is None:
        return  # not a browser (browsers send Origin with every POST)
    allowed = {request.host, urlsplit(request.app[SETTINGS].base_url).netloc}
    if urlsplit(origin).netloc not in allowed:
        raise web.HTTPForbidden(reason="cross-site request refused")


async def _json_body(request: web.Request) -> dict[str, Any]:
    # read as the API reads JSON: as UTF-8 (RFC 8259), so a charset the header names, even an
    # unknown one, changes nothing
    body = await read_json(request)
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(reason="the body must be a JSON object")
    return body


def _demo(request: web.Request) -> bool:
    return session.open_console(request.app[SETTINGS])


def _html(text: str, request: web.Request, *, status: int = 200) -> web.Response:
    chart_origin = urlsplit(request.app[SETTINGS].base_url)
    images = f"'self' {chart_origin.scheme}://{chart_origin.netloc}" if chart_origin.netloc else "'self'"
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        headers={
            "Content-Security-Policy": (
                "default-src 'none'; script-src 'self'; style-src 'self'; "
                f"img-src {images}; connect-src 'self'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'"
            ),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Cache-Control": "no-store",
        },
    )
