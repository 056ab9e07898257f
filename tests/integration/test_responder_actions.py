"""Responder actions over the API: audited, idempotent, and split/merge stored as corrections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.keys import STORE
from bot.settings import Settings
from engine.clock import FixedClock
from engine.storage.schema import audit_log, cluster_corrections
from tests.conftest import AppClient, auth
from tests.integration.test_incident_pipeline import alert, am, incidents, with_catalog


async def rows(client: AppClient, table: Any) -> int:
    async with client.app[STORE].engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def post(client: AppClient, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.post(path, json=body, headers=auth())
    return response.status, await response.json()


async def cascade(client: AppClient) -> int:
    await client.post(
        "/api/v1/alerts/alertmanager",
        json=am(
            [
                alert("PostgresDown", "db-payments", "2026-11-11T11:58:00Z", fp="a1"),
                alert("HighErrorRate", "payments", "2026-11-11T11:58:40Z", fp="a2"),
                alert("CheckoutFailures", "checkout", "2026-11-11T11:59:10Z", fp="a3"),
            ]
        ),
        headers=auth(),
    )
    return int((await incidents(client))[0]["id"])


async def test_acknowledge_once_then_already_handled(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    client = await make_client(with_catalog(settings, tmp_path), clock)
    incident_id = await cascade(client)
    status, body = await post(client, f"/api/v1/incidents/{incident_id}/acknowledge", {"actor": "ana"})
    assert (status, body["result"]) == (200, "done")
    status, body = await post(client, f"/api/v1/incidents/{incident_id}/acknowledge", {"actor": "bo"})
    assert (status, body["result"]) == (409, "already_handled")
    found = (await incidents(client))[0]
    assert (found["status"], found["acknowledged_by"]) == ("acknowledged", "ana")
    assert await rows(client, audit_log) == 1
    assert (await post(client, "/api/v1/incidents/999/acknowledge", {"actor": "ana"}))[0] == 404


async def test_priority_by_a_responder_is_kept_and_resolve_closes(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    client = await make_client(with_catalog(settings, tmp_path), clock)
    incident_id = await cascade(client)
    status, _ = await post(
        client, f"/api/v1/incidents/{incident_id}/priority", {"actor": "ana", "priority": "P4"}
    )
    assert status == 200
    found = (await incidents(client))[0]
    assert (found["priority"], found["priority_source"]) == ("P4", "responder")
    assert (
        await post(client, f"/api/v1/incidents/{incident_id}/priority", {"actor": "a", "priority": "P9"})
    )[0] == 400
    status, _ = await post(client, f"/api/v1/incidents/{incident_id}/resolve", {"actor": "ana"})
    assert status == 200
    found = (await incidents(client))[0]
    assert (found["status"], found["resolved_by"]) == ("resolved", "ana")
    assert (await post(client, f"/api/v1/incidents/{incident_id}/resolve", {"actor": "ana"}))[0] == 409
    # resolved by hand: the same failure firing again opens a new incident
    await client.post(
        "/api/v1/alerts/alertmanager",
        json=am([alert("HighErrorRate", "payments", "2026-11-11T12:30:00Z", fp="a2")]),
        headers=auth(),
    )
    assert len(await incidents(client)) == 2


async def test_split_and_merge_are_stored_as_corrections(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    client = await make_client(with_catalog(settings, tmp_path), clock)
    incident_id = await cascade(client)
    detail = await (await client.get(f"/api/v1/incidents/{incident_id}", headers=auth())).json()
    checkout = next(a["id"] for a in detail["alerts"] if a["name"] == "CheckoutFailures")
    status, body = await post(
        client, f"/api/v1/incidents/{incident_id}/split", {"actor": "ana", "alert_ids": [checkout]}
    )
    assert status == 200, body
    found = {i["id"]: i for i in await incidents(client)}
    assert len(found) == 2
    new_id = next(i for i in found if i != incident_id)
    assert found[new_id]["alert_count"] == 1 and found[incident_id]["alert_count"] == 2
    status, body = await post(
        client, f"/api/v1/incidents/{new_id}/merge", {"actor": "bo", "into": incident_id}
    )
    assert status == 200, body
    found = {i["id"]: i for i in await incidents(client)}
    assert found[incident_id]["alert_count"] == 3 and found[new_id]["status"] == "resolved"
    assert await rows(client, cluster_corrections) == 2
    assert await rows(client, audit_log) == 2
    bad = await post(client, f"/api/v1/incidents/{incident_id}/merge", {"actor": "bo", "into": incident_id})
    assert bad[0] == 400
    missing = await post(
        client, f"/api/v1/incidents/{incident_id}/split", {"actor": "bo", "alert_ids": [99999]}
    )
    assert missing[0] == 400
