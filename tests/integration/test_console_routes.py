"""The web console over HTTP: login, cards from the message model, actions, questions, overview."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.console.overview import load_overview
from bot.console.session import COOKIE, session_cookie
from bot.keys import STORE
from bot.settings import Settings
from engine.clock import FixedClock
from tests.conftest import TOKEN, AppClient, auth

MakeConsole = Callable[..., Awaitable[AppClient]]


@pytest.fixture
async def make_console(database_url: str) -> AsyncIterator[MakeConsole]:
    clients: list[AppClient] = []

    async def make(settings: Settings, clock: FixedClock | None = None) -> AppClient:
        client: AppClient = TestClient(TestServer(create_app(settings, clock=clock)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def console(make_console: MakeConsole, settings: Settings, clock: FixedClock) -> AppClient:
    return await make_console(settings, clock)


async def sign_in(client: AppClient, name: str = "alice") -> None:
    response = await client.post("/console/login", data={"name": name, "token": TOKEN}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console"


async def open_incident(client: AppClient, name: str = "DiskFull", service: str = "db") -> int:
    body = {"name": name, "severity": "critical", "labels": {"service": service}}
    response = await client.post("/api/v1/alerts", json=body, headers=auth())
    assert response.status == 200
    items = (await (await client.get("/api/v1/incidents", headers=auth())).json())["items"]
    return int(items[0]["id"])


async def act(client: AppClient, value: dict[str, Any], **headers: str) -> Any:
    response = await client.post("/console/actions", json=value, headers=headers)
    return response.status, await response.json()


async def test_pages_need_a_login_and_the_cookie_is_strict(console: AppClient) -> None:
    page = await console.get("/console", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/console/login"
    assert (await console.get("/console/cards")).status == 401
    assert (await console.get("/console/events")).status == 401
    wrong = await console.post(
        "/console/login", data={"name": "alice", "token": "nope"}, allow_redirects=False
    )
    assert wrong.status == 401 and "not right" in await wrong.text()
    nameless = await console.post("/console/login", data={"name": " ", "token": TOKEN}, allow_redirects=False)
    assert nameless.status == 400

    response = await console.post(
        "/console/login", data={"name": "alice", "token": TOKEN}, allow_redirects=False
    )
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert TOKEN not in cookie  # the session is signed with the token, it does not carry it
    page = await console.get("/console")
    assert page.status == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "alice" in await page.text()

    out = await console.post("/console/logout", allow_redirects=False)
    assert out.status == 303
    assert (await console.get("/console", allow_redirects=False)).status == 303


async def test_forged_expired_and_old_token_sessions_are_refused(
    console: AppClient, settings: Settings, clock: FixedClock
) -> None:
    good = session_cookie(settings, "mallory", clock.now())
    body, _, signature = good.partition(".")
    forged = f"{body[:-2]}xx.{signature}"
    expired = session_cookie(settings, "mallory", clock.now() - timedelta(days=1))
    old_token = session_cookie(settings.replace(ingest_token="previous"), "mallory", clock.now())
    for value in (forged, expired, old_token, "garbage", ""):
        response = await console.get("/console/cards", headers={"Cookie": f"{COOKIE}={value}"})
        assert response.status == 401, value
    accepted = await console.get("/console/cards", headers={"Cookie": f"{COOKIE}={good}"})
    assert accepted.status == 200


async def test_demo_mode_on_loopback_needs_no_login(make_console: MakeConsole, database_url: str) -> None:
    demo = await make_console(Settings(database_url=database_url, auth_disabled=True, host="127.0.0.1"))
    assert (await demo.get("/console")).status == 200
    assert (await demo.get("/console/login", allow_redirects=False)).status == 303


async def test_cards_come_from_the_message_model_and_buttons_act(console: AppClient) -> None:
    await sign_in(console)
    incident_id = await open_incident(console, "Checkout<script>", "checkout")
    page = await (await console.get("/console")).text()
    assert f'data-incident="{incident_id}"' in page
    assert "Checkout&lt;script&gt;" in page and "<script>alert" not in page
    assert 'data-action="nocbot.acknowledge"' in page

    fragment = await (await console.get(f"/console/incidents/{incident_id}/card")).text()
    assert fragment.startswith("<article") and "status-open" in fragment
    status, body = await act(console, {"incident": incident_id, "version": 1, "action": "acknowledge"})
    assert status == 200 and body["outcome"] == "done" and not body["refused"]
    assert "alice" in body["message"]
    fragment = await (await console.get(f"/console/incidents/{incident_id}/card")).text()
    assert "status-acknowledged" in fragment and "Acknowledged by alice" in fragment
    detail = await (await console.get(f"/api/v1/incidents/{incident_id}", headers=auth())).json()
    assert detail["status"] == "acknowledged"

    status, body = await act(console, {"incident": incident_id, "version": 1, "action": "acknowledge"})
    assert status == 200 and body["refused"] and body["outcome"] == "already_handled"
    missing = await console.get("/console/incidents/999/card")
    assert missing.status == 404


async def test_silence_takes_a_duration(console: AppClient) -> None:
    await sign_in(console)
    incident_id = await open_incident(console)
    value = {"incident": incident_id, "version": 1, "action": "silence", "arg": "custom"}
    status, body = await act(console, value)
    assert status == 400 and "how long" in body["error"]
    status, body = await act(console, {**value, "arg": "forever"})
    assert status == 400
    status, body = await act(console, {**value, "arg": "90m"})
    assert status == 200 and body["outcome"] == "done", body
    silences = await (await console.get("/api/v1/silences", headers=auth())).json()
    assert len(silences["items"] if isinstance(silences, dict) else silences) == 1


async def test_cross_site_and_non_json_posts_are_refused(console: AppClient) -> None:
    await sign_in(console)
    incident_id = await open_incident(console)
    value = {"incident": incident_id, "version": 1, "action": "resolve"}
    status, _ = await act(console, value, Origin="https://evil.example")
    assert status == 403
    form = await console.post("/console/actions", data="incident=1")
    assert form.status == 415
    bad = await console.post("/console/actions", json={"incident": "x", "action": "resolve"})
    assert bad.status == 400
    status, body = await act(console, value, Origin=str(console.make_url("")).rstrip("/"))
    assert status == 200 and body["outcome"] == "done"


async def test_a_question_returns_the_table_chart_and_sql(console: AppClient, clock: FixedClock) -> None:
    await sign_in(console)
    await open_incident(console, "DiskFull", "db")
    await open_incident(console, "LatencyHigh", "checkout")
    clock.advance(timedelta(minutes=1))  # a question's range ends before now
    response = await console.post(
        "/console/questions", json={"question": "number of incidents by priority today"}
    )
    body = await response.json()
    assert response.status == 200 and body["answered"] is True
    assert body["columns"][-1] == "incidents" and sum(row[-1] for row in body["rows"]) == 2
    assert body["sql"].startswith("SELECT") and body["text"]

    refused = await (await console.post("/console/questions", json={"question": "sing me a song"})).json()
    assert refused["answered"] is False and refused["text"]
    empty = await console.post("/console/questions", json={"question": ""})
    assert empty.status == 400


async def test_overview_counts_alerts_incidents_and_response_times(
    console: AppClient, clock: FixedClock
) -> None:
    await sign_in(console)
    for instance in ("a", "b", "c"):
        body = {"name": "DiskFull", "severity": "critical", "labels": {"service": "db", "instance": instance}}
        await console.post("/api/v1/alerts", json=body, headers=auth())
    incident_id = await open_incident(console, "LatencyHigh", "checkout")
    clock.advance(timedelta(minutes=6))
    await console.post(f"/api/v1/incidents/{incident_id}/acknowledge", json={"actor": "bob"}, headers=auth())
    clock.advance(timedelta(minutes=4))
    await console.post(f"/api/v1/incidents/{incident_id}/resolve", json={"actor": "bob"}, headers=auth())

    async with console.app[STORE].engine.connect() as conn:
        overview = await load_overview(conn, clock.now(), UTC, days=7)
    today = overview.days[-1]
    assert len(overview.days) == 7 and overview.days[0].alerts == 0
    assert (today.alerts, today.incidents) == (4, 2)
    assert today.resolved == 1 and today.auto_resolved == 0 and today.auto_share == 0
    assert today.mtta_minutes == pytest.approx(6) and today.mttr_minutes == pytest.approx(10)
    assert overview.noisiest[0] == ("DiskFull", 3)
    assert overview.noise_reduction == pytest.approx(50)
    assert overview.open_incidents == 1
    assert overview.outbox.dead == 0

    page = await console.get("/console/overview?days=7")
    text = await page.text()
    assert page.status == 200 and text.count("<svg") == 4
    assert "DiskFull" in text and "50.0 %" in text


async def test_static_files_are_served(console: AppClient) -> None:
    for name, kind in (("console.js", "javascript"), ("console.css", "text/css")):
        response = await console.get(f"/console/static/{name}")
        assert response.status == 200 and kind in response.headers["Content-Type"]
