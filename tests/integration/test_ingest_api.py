"""The ingestion API against a real database (SQLite and PostgreSQL): store, dedup, refuse bad input."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.storage.database import open_engine
from engine.storage.schema import alerts, change_events, metric_points, metric_series
from tests.conftest import AppClient, auth

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def alertmanager_payload() -> dict[str, Any]:
    return json.loads((FIXTURES / "alertmanager" / "firing.json").read_text())


async def count_rows(database_url: str, table: Any) -> int:
    engine = open_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    finally:
        await engine.dispose()


async def test_alertmanager_payload_is_stored_and_listed(client: AppClient) -> None:
    response = await client.post("/api/v1/alerts/alertmanager", json=alertmanager_payload(), headers=auth())
    assert response.status == 200
    body = await response.json()
    assert body["new"] == 2 and body["duplicate"] == 0

    listing = await client.get("/api/v1/alerts", headers=auth())
    assert listing.status == 200
    items = (await listing.json())["items"]
    assert {a["name"] for a in items} == {"PostgresReplicationLag", "HighErrorRate"}
    lag = next(a for a in items if a["name"] == "PostgresReplicationLag")
    assert lag["severity"] == "critical"
    assert lag["status"] == "firing"
    assert lag["ends_at"] is None  # Go's zero time means "not set"
    assert lag["starts_at"] == "2026-11-11T11:58:21.183650Z"  # nanoseconds cut to microseconds
    assert lag["labels"]["service"] == "db-payments"
    page = next(a for a in items if a["name"] == "HighErrorRate")
    assert page["severity"] == "critical"  # "page" is an alias


async def test_redelivery_stores_nothing_new(client: AppClient, database_url: str) -> None:
    payload = alertmanager_payload()
    await client.post("/api/v1/alerts/alertmanager", json=payload, headers=auth())
    again = await client.post("/api/v1/alerts/alertmanager", json=payload, headers=auth())
    body = await again.json()
    assert (body["new"], body["updated"], body["duplicate"]) == (0, 0, 2)
    assert await count_rows(database_url, alerts) == 2


async def test_resolved_delivery_closes_the_same_instance(client: AppClient, database_url: str) -> None:
    payload = alertmanager_payload()
    first = await (await client.post("/api/v1/alerts/alertmanager", json=payload, headers=auth())).json()
    resolved = copy.deepcopy(payload)
    resolved["alerts"] = resolved["alerts"][:1]
    resolved["alerts"][0]["status"] = "resolved"
    resolved["alerts"][0]["endsAt"] = "2026-11-11T12:10:00Z"
    body = await (await client.post("/api/v1/alerts/alertmanager", json=resolved, headers=auth())).json()
    assert body["updated"] == 1 and body["ids"][0] == first["ids"][0]
    listing = await (await client.get("/api/v1/alerts?status=resolved", headers=auth())).json()
    assert [(a["name"], a["ends_at"]) for a in listing["items"]] == [
        ("PostgresReplicationLag", "2026-11-11T12:10:00Z")
    ]
    assert await count_rows(database_url, alerts) == 2


async def test_refire_with_new_start_is_a_new_instance(client: AppClient, database_url: str) -> None:
    payload = alertmanager_payload()
    await client.post("/api/v1/alerts/alertmanager", json=payload, headers=auth())
    payload["alerts"][0]["startsAt"] = "2026-11-11T14:00:00Z"
    body = await (await client.post("/api/v1/alerts/alertmanager", json=payload, headers=auth())).json()
    assert (body["new"], body["duplicate"]) == (1, 1)
    assert await count_rows(database_url, alerts) == 3


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p["alerts"][1].update(status="burning"), "alerts[1].status"),
        (lambda p: p["alerts"][0]["labels"].pop("alertname"), "alerts[0].labels.alertname"),
        (lambda p: p["alerts"][0].update(startsAt="yesterday"), "alerts[0].startsAt"),
        (lambda p: p["alerts"][0]["labels"].update(severity=3), "alerts[0].labels.severity"),
        (lambda p: p.update(alerts={"not": "a list"}), "alerts"),
        (lambda p: p.pop("alerts"), "alerts"),
        (lambda p: p.update(version="3"), "version"),
    ],
)
async def test_garbage_gets_400_naming_the_field_and_stores_nothing(
    client: AppClient, database_url: str, mutate: Any, field: str
) -> None:
    payload = alertmanager_payload()
    mutate(payload)
    response = await client.post("/api/v1/alerts/alertmanager", json=payload, headers=auth())
    assert response.status == 400
    body = await response.json()
    assert body["field"] == field
    assert await count_rows(database_url, alerts) == 0


@pytest.mark.parametrize(
    "body", [b"{not json", b"", b"[1, 2", b'{"alerts": [NaN]}', "\udcff".encode("utf-8", "surrogatepass")]
)
async def test_malformed_json_is_400(client: AppClient, body: bytes) -> None:
    response = await client.post(
        "/api/v1/alerts/alertmanager", data=body, headers={**auth(), "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["field"] == "body"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
async def test_missing_or_wrong_token_is_401(
    client: AppClient, database_url: str, headers: dict[str, str]
) -> None:
    response = await client.post("/api/v1/alerts/alertmanager", json=alertmanager_payload(), headers=headers)
    assert response.status == 401
    assert (await client.get("/api/v1/alerts", headers=headers)).status == 401
    assert await count_rows(database_url, alerts) == 0


async def test_body_over_the_limit_is_413(make_client: Any, settings: Any, database_url: str) -> None:
    small = await make_client(settings.replace(max_body_bytes=1024))
    payload = alertmanager_payload()
    payload["alerts"][0]["annotations"]["description"] = "x" * 4000
    response = await small.post("/api/v1/alerts/alertmanager", json=payload, headers=auth())
    assert response.status == 413
    assert "error" in await response.json()
    assert await count_rows(database_url, alerts) == 0


async def test_generic_alerts_one_or_many(client: AppClient) -> None:
    one = {
        "name": "DiskFull",
        "severity": "warning",
        "labels": {"host": "web-1"},
        "summary": "disk 91%",
        "timestamp": "2026-11-11T11:00:00Z",
    }
    response = await client.post("/api/v1/alerts", json=one, headers=auth())
    assert response.status == 200 and (await response.json())["new"] == 1
    many = [
        {"name": "CPUHigh", "severity": "error", "labels": {"host": "web-2"}, "timestamp": 1794394800},
        {"name": "CPUHigh", "severity": "error", "labels": {"host": "web-3"}, "timestamp": 1794394800},
    ]
    body = await (await client.post("/api/v1/alerts", json=many, headers=auth())).json()
    assert body["new"] == 2
    items = (await (await client.get("/api/v1/alerts", headers=auth())).json())["items"]
    disk = next(a for a in items if a["name"] == "DiskFull")
    assert disk["annotations"]["summary"] == "disk 91%" and disk["source"] == "api"


async def test_generic_alert_resent_while_firing_updates_the_open_instance(
    client: AppClient, clock: Any, database_url: str
) -> None:
    alert = {"name": "QueueBacklog", "severity": "warning", "labels": {"queue": "orders"}}
    first = await (await client.post("/api/v1/alerts", json=alert, headers=auth())).json()
    from datetime import timedelta

    clock.advance(timedelta(minutes=5))
    second = await (await client.post("/api/v1/alerts", json=alert, headers=auth())).json()
    assert second["ids"] == first["ids"] and second["duplicate"] == 1
    assert await count_rows(database_url, alerts) == 1


@pytest.mark.parametrize(
    ("alert", "field"),
    [
        ({"severity": "warning"}, "name"),
        ({"name": "X", "severity": "catastrophic"}, "severity"),
        ({"name": "X"}, "severity"),
        ({"name": "X", "severity": "info", "labels": {"host": 5}}, "labels.host"),
        ({"name": "X", "severity": "info", "labels": {"bad-name": "a"}}, "labels.bad-name"),
        ({"name": "X", "severity": "info", "timestamp": "soon"}, "timestamp"),
        ({"name": 7, "severity": "info"}, "name"),
    ],
)
async def test_generic_alert_errors_name_the_field(
    client: AppClient, alert: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/api/v1/alerts", json=[{"name": "Ok", "severity": "info"}, alert], headers=auth()
    )
    assert response.status == 400
    assert (await response.json())["field"] == f"[1].{field}"


async def test_metric_points_are_stored_once(client: AppClient, database_url: str) -> None:
    points = [
        {"metric": "cpu_usage", "labels": {"host": "web-1"}, "ts": 1794394800 + i * 60, "value": 40.0 + i}
        for i in range(50)
    ] + [{"metric": "cpu_usage", "labels": {"host": "web-2"}, "ts": "2026-11-11T11:00:00Z", "value": 1}]
    body = await (await client.post("/api/v1/metrics", json={"points": points}, headers=auth())).json()
    assert (body["stored"], body["duplicate"]) == (51, 0)
    again = await (await client.post("/api/v1/metrics", json=points, headers=auth())).json()
    assert (again["stored"], again["duplicate"]) == (0, 51)
    assert await count_rows(database_url, metric_points) == 51
    assert await count_rows(database_url, metric_series) == 2


async def stored_values(database_url: str) -> dict[tuple[int, int], float]:
    engine = open_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(metric_points.c.series_id, metric_points.c.ts, metric_points.c.value)
            )
            return {(row.series_id, row.ts): row.value for row in rows}
    finally:
        await engine.dispose()


async def test_a_batch_overlapping_stored_points_keeps_the_first_values(
    client: AppClient, database_url: str
) -> None:
    """New points go in the fast way (COPY on PostgreSQL); a batch that meets stored points is stored
    again whole, skipping them, and the fast way is tried again later."""

    def batch(first: int, last: int, value: float) -> list[dict[str, Any]]:
        return [
            {"metric": "m", "labels": {"host": f"h{i % 3}"}, "ts": 1794394800 + i * 60, "value": value}
            for i in range(first, last)
        ]

    first = await (await client.post("/api/v1/metrics", json=batch(0, 30, 1.0), headers=auth())).json()
    assert (first["stored"], first["duplicate"]) == (30, 0)
    overlap = await (await client.post("/api/v1/metrics", json=batch(20, 50, 2.0), headers=auth())).json()
    assert (overlap["stored"], overlap["duplicate"]) == (20, 10)
    for offset in range(0, 60 * 30, 30):  # enough batches to try new points the fast way again
        fresh = await (
            await client.post("/api/v1/metrics", json=batch(100 + offset, 130 + offset, 3.0), headers=auth())
        ).json()
        assert (fresh["stored"], fresh["duplicate"]) == (30, 0)
    values = await stored_values(database_url)
    assert len(values) == 50 + 60 * 30
    by_ts = {ts: value for (_, ts), value in values.items()}
    assert [by_ts[(1794394800 + i * 60) * 1000] for i in range(50)] == [1.0] * 30 + [2.0] * 20


async def test_a_point_repeated_in_one_batch_keeps_its_first_value(
    client: AppClient, database_url: str
) -> None:
    point = {"metric": "m", "labels": {"host": "a"}, "ts": 1794394800.0004, "value": 1.0}
    body = await (
        await client.post(
            "/api/v1/metrics",
            json=[point, {**point, "value": 2.0}, {**point, "ts": 1794394860, "value": 3.0}],
            headers=auth(),
        )
    ).json()
    assert (body["stored"], body["duplicate"]) == (2, 1)
    values = await stored_values(database_url)
    assert len({series_id for series_id, _ in values}) == 1
    assert sorted((ts, value) for (_, ts), value in values.items()) == [
        (1794394800000, 1.0),
        (1794394860000, 3.0),
    ]


@pytest.mark.parametrize(
    ("point", "field"),
    [
        ({"labels": {}, "ts": 1, "value": 1}, "[1].metric"),
        ({"metric": "9bad", "ts": 1, "value": 1}, "[1].metric"),
        ({"metric": "m", "ts": 1, "value": "high"}, "[1].value"),
        ({"metric": "m", "ts": 1, "value": True}, "[1].value"),
        ({"metric": "m", "value": 1}, "[1].ts"),
        ({"metric": "m", "ts": -5, "value": 1}, "[1].ts"),
        ({"metric": "m", "ts": 1e15, "value": 1}, "[1].ts"),
        ("not a point", "[1]"),
    ],
)
async def test_bad_point_rejects_the_whole_batch(
    client: AppClient, database_url: str, point: Any, field: str
) -> None:
    good = {"metric": "m", "ts": 1794394800, "value": 1.0}
    response = await client.post("/api/v1/metrics", json=[good, point], headers=auth())
    assert response.status == 400
    assert (await response.json())["field"] == field
    assert await count_rows(database_url, metric_points) == 0
    assert await count_rows(database_url, metric_series) == 0


async def test_change_events(client: AppClient, database_url: str) -> None:
    change = {
        "id": "deploy-481",
        "service": "payments",
        "who": "ci",
        "what": "payments v2.31.0",
        "at": "2026-11-11T11:50:00Z",
    }
    body = await (await client.post("/api/v1/changes", json=change, headers=auth())).json()
    assert body["stored"] == 1
    many = [{**change, "id": f"deploy-{i}"} for i in range(5)]
    assert (await (await client.post("/api/v1/changes", json=many, headers=auth())).json())["stored"] == 5
    again = await (await client.post("/api/v1/changes", json=[change], headers=auth())).json()
    assert again["stored"] == 0 and again["duplicate"] == 1
    bad = await client.post("/api/v1/changes", json={"service": "payments", "what": "x"}, headers=auth())
    assert bad.status == 400 and (await bad.json())["field"] == "who"
    assert await count_rows(database_url, change_events) == 6


async def test_too_many_items_is_413(make_client: Any, settings: Any) -> None:
    small = await make_client(settings.replace(max_batch_items=3))
    points = [{"metric": "m", "ts": 1794394800 + i, "value": 1.0} for i in range(4)]
    response = await small.post("/api/v1/metrics", json=points, headers=auth())
    assert response.status == 413
    assert (await response.json())["field"] == "points"


async def test_nul_characters_are_refused_naming_the_field(client: AppClient, database_url: str) -> None:
    for body, field in [
        ({"name": "\x00", "severity": "info"}, "name"),
        ({"name": "X", "severity": "info", "labels": {"host": "a\x00b"}}, "labels.host"),
        ({"name": "X", "severity": "info", "summary": "bad\x00"}, "summary"),
    ]:
        response = await client.post("/api/v1/alerts", json=body, headers=auth())
        assert response.status == 400, body
        assert (await response.json())["field"] == field
    assert await count_rows(database_url, alerts) == 0
