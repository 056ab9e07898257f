"""Health, metrics, OpenAPI, request ids: the operational surface."""

from __future__ import annotations

from aiohttp import web

from bot.app import create_app
from bot.http.ops_routes import openapi_document
from bot.settings import Settings
from tests.conftest import AppClient, auth


async def test_healthz_checks_the_database(client: AppClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["database"] == "ok"


async def test_metrics_count_ingested_items(client: AppClient) -> None:
    await client.post("/api/v1/metrics", json=[{"metric": "m", "ts": 1794394800, "value": 1}], headers=auth())
    text = await (await client.get("/metrics")).text()
    assert 'nocbot_ingested_total{kind="point",outcome="stored"} 1.0' in text
    assert "nocbot_http_request_seconds_bucket" in text


async def test_request_id_is_echoed(client: AppClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    generated = await client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert generated.headers["X-Request-Id"] != "bad id with spaces"


async def test_unknown_route_and_method_are_json_errors(client: AppClient) -> None:
    missing = await client.get("/api/v1/nothing", headers=auth())
    assert missing.status == 404 and "error" in await missing.json()
    wrong = await client.delete("/api/v1/alerts", headers=auth())
    assert wrong.status == 405 and "error" in await wrong.json()


async def test_incident_detail_404_and_bad_id(client: AppClient) -> None:
    assert (await client.get("/api/v1/incidents/999", headers=auth())).status == 404
    bad = await client.get("/api/v1/incidents/abc", headers=auth())
    assert bad.status == 400 and (await bad.json())["field"] == "incident_id"


async def test_bad_query_parameters_are_400(client: AppClient) -> None:
    for query, field in [
        ("status=weird", "status"),
        ("limit=0", "limit"),
        ("since=noon", "since"),
        ("cursor=x", "cursor"),
    ]:
        response = await client.get(f"/api/v1/alerts?{query}", headers=auth())
        assert response.status == 400, query
        assert (await response.json())["field"] == field


def test_openapi_documents_every_route() -> None:
    app = create_app(Settings(ingest_token="t"))
    documented = {
        (path, method.upper())
        for path, operations in openapi_document()["paths"].items()
        for method in operations
    }
    served = {
        (route.resource.canonical, route.method)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD" and isinstance(route.resource, web.Resource)
    }
    assert served - documented == set()
    assert documented - served == set()
