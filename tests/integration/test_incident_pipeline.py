"""Alerts in through the API → incidents out, clustered, explained, surviving a restart (both backends)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bot.keys import INGEST, STORE
from bot.settings import Settings
from engine import ingest as ingest_module
from engine import triage as triage_module
from engine.clock import FixedClock
from engine.storage.schema import incidents as incidents_table
from engine.triage import SCORED_AT_ONCE
from tests.conftest import AppClient, auth

CATALOG = """
services:
  - {name: checkout, tier: 1, customer_facing: true, depends_on: [payments]}
  - {name: payments, depends_on: [db-payments]}
  - {name: db-payments, kind: database}
  - {name: search, depends_on: [search-index]}
  - {name: search-index, kind: database}
"""


def am(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": "4", "status": "firing", "alerts": alerts}


def alert(
    name: str,
    service: str,
    start: str,
    *,
    fp: str,
    status: str = "firing",
    end: str | None = None,
    summary: str | None = None,
    **labels: str,
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": name, "service": service, "severity": "critical", **labels},
        "annotations": {"summary": summary or f"{name} on {service}"},
        "startsAt": start,
        "endsAt": end or "0001-01-01T00:00:00Z",
        "fingerprint": fp,
    }


async def incidents(client: AppClient) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/incidents", headers=auth())
    assert response.status == 200
    items: list[dict[str, Any]] = (await response.json())["items"]
    return items


async def enriched(client: AppClient, incident_id: int) -> dict[str, Any]:
    """The incident's enrichment, once the background worker has stored it."""
    for _ in range(100):
        detail = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=auth())).json()
        if detail["enrichment"]:
            return dict(detail["enrichment"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"incident {incident_id} was not enriched within 10 s")


def with_catalog(settings: Settings, tmp_path: Path) -> Settings:
    path = tmp_path / "services.yaml"
    path.write_text(CATALOG)
    return settings.replace(catalog_path=path)


async def test_a_cascade_is_one_incident_and_an_unrelated_outage_another(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    client = await make_client(with_catalog(settings, tmp_path), clock)
    cascade = [
        alert("PostgresDown", "db-payments", "2026-11-11T11:58:00Z", fp="a1"),
        alert("HighErrorRate", "payments", "2026-11-11T11:58:40Z", fp="a2"),
        alert("CheckoutFailures", "checkout", "2026-11-11T11:59:10Z", fp="a3"),
    ]
    unrelated = [alert("DiskAlmostFull", "search-index", "2026-11-11T11:59:00Z", fp="b1", instance="node-9")]
    response = await client.post("/api/v1/alerts/alertmanager", json=am(cascade + unrelated), headers=auth())
    assert response.status == 200
    found = await incidents(client)
    assert len(found) == 2
    cascade_incident = next(i for i in found if i["alert_count"] == 3)
    assert set(cascade_incident["services"]) == {"db-payments", "payments", "checkout"}
    detail = await (await client.get(f"/api/v1/incidents/{cascade_incident['id']}", headers=auth())).json()
    explanations = [a["explanation"] for a in detail["alerts"]]
    assert explanations[0].startswith(f"opened #{cascade_incident['id']}")
    assert all(e.startswith(f"joined #{cascade_incident['id']}") for e in explanations[1:])
    assert any("depends on" in e for e in explanations[1:])  # topology was part of the reason
    assert detail["timeline"][0]["kind"] == "opened"
    # triage scored it with the shipped model, with reasons a card can show
    assert cascade_incident["scorer"] == "xgboost" and cascade_incident["priority_source"] == "xgboost"
    assert cascade_incident["priority"] in {"P1", "P2", "P3", "P4", "P5"}
    assert cascade_incident["reasons"] and 0 <= cascade_incident["score"] <= 100
    assert any(event["kind"] == "prioritized" for event in detail["timeline"])
    disk = next(i for i in found if i["alert_count"] == 1)
    # a customer-facing tier-1 cascade outranks a disk warning on an internal index
    assert cascade_incident["score"] > disk["score"]


async def test_a_responder_priority_survives_rescoring(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    client = await make_client(with_catalog(settings, tmp_path), clock)
    await client.post(
        "/api/v1/alerts/alertmanager",
        json=am([alert("PostgresDown", "db-payments", "2026-11-11T11:58:00Z", fp="a1")]),
        headers=auth(),
    )
    incident_id = (await incidents(client))[0]["id"]
    async with client.app[STORE].transaction() as conn:
        await conn.execute(
            update(incidents_table)
            .where(incidents_table.c.id == incident_id)
            .values(priority=1, priority_source="responder")
        )
    await client.post(
        "/api/v1/alerts/alertmanager",
        json=am([alert("HighErrorRate", "payments", "2026-11-11T11:59:00Z", fp="a2")]),
        headers=auth(),
    )
    grown = (await incidents(client))[0]
    assert (grown["alert_count"], grown["priority"], grown["priority_source"]) == (2, "P1", "responder")


async def test_every_incident_of_a_large_batch_is_scored(client: AppClient) -> None:
    # more incidents than triage reads at a time: each must get its own alerts and priority
    batch = [
        alert(f"Outage{n}", f"svc-{n}", "2026-11-11T11:58:00Z", fp=f"o{n}", instance=f"node-{n}")
        for n in range(SCORED_AT_ONCE * 2 + 3)
    ]
    response = await client.post("/api/v1/alerts/alertmanager", json=am(batch), headers=auth())
    assert response.status == 200
    found = await incidents(client)
    assert len(found) == len(batch)
    assert all(i["scorer"] and i["priority"] in {"P1", "P2", "P3", "P4", "P5"} for i in found)
    for incident in found:
        detail = await (await client.get(f"/api/v1/incidents/{incident['id']}", headers=auth())).json()
        assert [a["labels"]["service"] for a in detail["alerts"]] == incident["services"]
        assert any(event["kind"] == "prioritized" for event in detail["timeline"])


async def test_the_clock_scores_throttled_growth_in_pieces_letting_alert_batches_in_between(
    client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a flood the catch-up is tens of large incidents (0.3 s): scored all under the
    correlator's lock, an alert batch arriving meanwhile waited for all of it."""
    batch = [
        alert(f"Outage{n}", f"svc-{n}", "2026-11-11T11:58:00Z", fp=f"o{n}", instance=f"node-{n}")
        for n in range(SCORED_AT_ONCE * 2 + 3)
    ]
    await client.post("/api/v1/alerts/alertmanager", json=am(batch), headers=auth())
    ingest = client.app[INGEST]
    throttled = {i["id"] for i in await incidents(client)}
    ingest._unscored = set(throttled)  # as a flood's throttling leaves them
    scored: list[str] = []  # in order: the clock's pieces, and the late batch's own scoring
    late: list[asyncio.Task[Any]] = []
    real_prioritize = ingest_module.prioritize

    async def watched(conn: Any, incident_ids: Any, **kwargs: Any) -> Any:
        ids = set(incident_ids)
        scored.append(f"piece of {len(ids)}" if ids <= throttled else "late batch")
        if len(scored) == 1:  # an alert batch arrives while the first piece is scored
            body = am([alert("Late", "svc-late", "2026-11-11T11:59:00Z", fp="late", instance="x")])
            post = client.post("/api/v1/alerts/alertmanager", json=body, headers=auth())
            late.append(asyncio.create_task(post))
            await asyncio.sleep(0.05)
        return await real_prioritize(conn, incident_ids, **kwargs)

    monkeypatch.setattr(ingest_module, "prioritize", watched)
    await ingest.tick()
    assert (await late[0]).status == 200
    piece = f"piece of {SCORED_AT_ONCE}"
    assert scored == [piece, "late batch", piece, "piece of 3"]  # decided between the pieces
    assert not ingest._unscored


async def test_pieces_the_clock_could_not_score_wait_for_its_next_tick(
    client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = [
        alert(f"Outage{n}", f"svc-{n}", "2026-11-11T11:58:00Z", fp=f"o{n}", instance=f"node-{n}")
        for n in range(SCORED_AT_ONCE * 2 + 3)
    ]
    await client.post("/api/v1/alerts/alertmanager", json=am(batch), headers=auth())
    ingest = client.app[INGEST]
    throttled = sorted(i["id"] for i in await incidents(client))
    ingest._unscored = set(throttled)
    calls = 0
    real_prioritize = ingest_module.prioritize

    async def failing_second(conn: Any, incident_ids: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("database went away")
        return await real_prioritize(conn, incident_ids, **kwargs)

    monkeypatch.setattr(ingest_module, "prioritize", failing_second)
    with pytest.raises(OSError):
        await ingest.tick()
    assert ingest._unscored == set(throttled[SCORED_AT_ONCE:])  # the first piece was scored
    monkeypatch.setattr(ingest_module, "prioritize", real_prioritize)
    await ingest.tick()
    assert not ingest._unscored


async def test_restart_restores_open_incidents(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    configured = with_catalog(settings, tmp_path)
    first = await make_client(configured, clock)
    await first.post(
        "/api/v1/alerts/alertmanager",
        json=am([alert("PostgresDown", "db-payments", "2026-11-11T11:58:00Z", fp="a1")]),
        headers=auth(),
    )
    await first.close()
    second = await make_client(configured, clock)  # a new process on the same database
    await second.post(
        "/api/v1/alerts/alertmanager",
        json=am([alert("HighErrorRate", "payments", "2026-11-11T11:59:00Z", fp="a2")]),
        headers=auth(),
    )
    found = await incidents(second)
    assert [i["alert_count"] for i in found] == [2]


async def test_incident_resolves_when_its_alerts_resolve_and_stay_quiet(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    client = await make_client(with_catalog(settings, tmp_path), clock)
    firing = alert("PostgresDown", "db-payments", "2026-11-11T11:58:00Z", fp="a1")
    await client.post("/api/v1/alerts/alertmanager", json=am([firing]), headers=auth())
    resolved = alert(
        "PostgresDown",
        "db-payments",
        "2026-11-11T11:58:00Z",
        fp="a1",
        status="resolved",
        end="2026-11-11T12:00:00Z",
    )
    await client.post("/api/v1/alerts/alertmanager", json=am([resolved]), headers=auth())
    assert (await incidents(client))[0]["status"] == "open"  # a quick re-fire would still join it
    clock.advance(timedelta(minutes=30))
    changes = await client.app[INGEST].tick()
    found = await incidents(client)
    assert found[0]["status"] == "resolved"
    assert changes.closed == {found[0]["id"]}
    # a resolved incident never absorbs: the same failure later is a new incident
    again = alert("PostgresDown", "db-payments", "2026-11-11T14:00:00Z", fp="a1")
    clock.advance(timedelta(hours=2))
    await client.post("/api/v1/alerts/alertmanager", json=am([again]), headers=auth())
    assert len(await incidents(client)) == 2


async def test_redelivery_does_not_touch_the_incident(client: AppClient) -> None:
    payload = am([alert("PostgresDown", "db-payments", "2026-11-11T11:58:00Z", fp="a1")])
    await client.post("/api/v1/alerts/alertmanager", json=payload, headers=auth())
    await enriched(client, (await incidents(client))[0]["id"])  # its own version bump is done
    before = (await incidents(client))[0]
    await client.post("/api/v1/alerts/alertmanager", json=payload, headers=auth())
    await asyncio.sleep(0.3)  # time for any (wrong) background work a re-delivery might start
    after = (await incidents(client))[0]
    assert after["version"] == before["version"] and after["alert_count"] == 1


async def test_incidents_are_enriched_in_the_background(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    client = await make_client(with_catalog(settings, tmp_path), clock)
    deploy = {
        "id": "d-1",
        "service": "payments",
        "who": "ci",
        "what": "payments v2.31",
        "at": "2026-11-11T11:50:00Z",
    }
    await client.post("/api/v1/changes", json=deploy, headers=auth())
    await client.post(
        "/api/v1/alerts/alertmanager",
        json=am([alert("HighErrorRate", "payments", "2026-11-11T11:59:00Z", fp="a2")]),
        headers=auth(),
    )
    enrichment = await enriched(client, (await incidents(client))[0]["id"])
    assert enrichment.get("recent_changes", {}).get("available") is True, enrichment
    assert [c["what"] for c in enrichment["recent_changes"]["items"]] == ["payments v2.31"]
    assert enrichment["affected_services"]["available"] is True


async def test_chart_link_serves_a_png_and_forged_links_do_not(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    client = await make_client(with_catalog(settings, tmp_path), clock)
    start = 1794398400  # 2026-11-11T12:00:00Z
    points = [
        {
            "metric": "error_rate",
            "labels": {"service": "payments"},
            "ts": start - 3600 + i * 60,
            "value": 1.0 + (i % 5) * 0.1 + (30.0 if i >= 60 else 0.0),
        }
        for i in range(75)
    ]
    await client.post("/api/v1/metrics", json=points, headers=auth())
    await client.post(
        "/api/v1/alerts/alertmanager",
        json=am([alert("HighErrorRate", "payments", "2026-11-11T12:00:00Z", fp="a9")]),
        headers=auth(),
    )
    incident_id = (await incidents(client))[0]["id"]
    await enriched(client, incident_id)
    detail = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=auth())).json()
    chart_path = detail["chart_url"].split("8080", 1)[-1]
    response = await client.get(chart_path)  # no token: the link is the credential
    assert response.status == 200 and response.content_type == "image/png"
    body = await response.read()
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and len(body) > 1000
    forged = chart_path[:-8] + ("0" if chart_path[-8] != "0" else "1") + chart_path[-7:]
    assert (await client.get(forged)).status == 404
    assert (await client.get(f"/charts/{incident_id + 1}-{chart_path.split('-')[-1]}")).status == 404


async def test_a_failed_batch_leaves_no_trace_in_memory_or_database(
    make_client: Callable[..., Awaitable[AppClient]],
    settings: Settings,
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await make_client(with_catalog(settings, tmp_path), clock)
    from engine.storage import incident_rows

    real_attach = incident_rows.attach_alerts

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(incident_rows, "attach_alerts", broken)
    failed = await client.post(
        "/api/v1/alerts/alertmanager",
        json=am([alert("PostgresDown", "db-payments", "2026-11-11T11:58:00Z", fp="a1")]),
        headers=auth(),
    )
    assert failed.status == 500
    assert await incidents(client) == []
    assert (await (await client.get("/api/v1/alerts", headers=auth())).json())["items"] == []
    monkeypatch.setattr(incident_rows, "attach_alerts", real_attach)
    # the same delivery again is new (memory did not keep the failed one), and clusters normally
    retried = await client.post(
        "/api/v1/alerts/alertmanager",
        json=am(
            [
                alert("PostgresDown", "db-payments", "2026-11-11T11:58:00Z", fp="a1"),
                alert("HighErrorRate", "payments", "2026-11-11T11:58:40Z", fp="a2"),
            ]
        ),
        headers=auth(),
    )
    assert (await retried.json())["new"] == 2
    found = await incidents(client)
    assert [i["alert_count"] for i in found] == [2]


async def test_without_a_catalog_the_alert_service_is_kept(client: AppClient) -> None:
    node_alert = {"name": "DiskFull", "severity": "warning", "labels": {"host": "web-1", "service": "search"}}
    await client.post("/api/v1/alerts", json=node_alert, headers=auth())
    found = (await incidents(client))[0]
    assert (found["service"], found["services"], found["alert_count"]) == ("search", ["search"], 1)


async def test_the_clock_pieces_are_bounded_by_alerts_too(
    client: AppClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a flood the incidents are large: a piece of ten held the event loop 40–53 ms."""
    batch = [
        alert(f"Outage{n}", f"svc-{n}", "2026-11-11T11:58:00Z", fp=f"o{n}", instance=f"node-{n}")
        for n in range(SCORED_AT_ONCE + 1)
    ]
    await client.post("/api/v1/alerts/alertmanager", json=am(batch), headers=auth())
    ingest = client.app[INGEST]
    ingest._unscored = {i["id"] for i in await incidents(client)}
    sizes: list[int] = []
    real_prioritize = ingest_module.prioritize

    async def watched(conn: Any, incident_ids: Any, **kwargs: Any) -> Any:
        sizes.append(len(set(incident_ids)))
        return await real_prioritize(conn, incident_ids, **kwargs)

    monkeypatch.setattr(ingest_module, "prioritize", watched)
    monkeypatch.setattr(triage_module, "ALERTS_SCORED_AT_ONCE", 3)  # each incident holds one alert
    await ingest.tick()
    assert sizes == [3, 3, 3, 2]
    assert not ingest._unscored
