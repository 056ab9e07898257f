"""Two replicas on one database: alerts may reach either, and the incidents are the ones a single
process would have made. On PostgreSQL one replica decides and the other queues its batches for it;
on SQLite (one writer at a time anyway) both decide and each catches up with what the other did."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.keys import INGEST, STORE
from bot.settings import Settings
from engine import ingest as ingest_module
from engine.clustering.dedup import AlertKey
from engine.storage import correlation_queue_rows
from integrations import alertmanager
from tests.conftest import TOKEN, AppClient, auth


def alert(name: str, host: str, minutes_ago: float) -> dict[str, Any]:
    return {
        "name": name,
        "severity": "critical",
        "labels": {"service": "checkout", "host": host},
        "summary": f"{name} on {host}",
        "starts_at": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
    }


async def settled(client: AppClient, within: float = 20.0) -> None:
    """Wait until the deciding replica has taken every queued batch."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        async with client.app[STORE].engine.connect() as conn:
            if await correlation_queue_rows.size(conn) == 0:
                return
        assert asyncio.get_running_loop().time() < deadline, "queued alerts were not decided"
        await asyncio.sleep(0.05)


async def incidents(client: AppClient) -> list[dict[str, Any]]:
    page = await (await client.get("/api/v1/incidents", headers=auth())).json()
    return list(page["items"])


async def test_alerts_split_across_two_replicas_group_as_on_one(make_client: Any, database_url: str) -> None:
    settings = Settings(database_url=database_url, ingest_token=TOKEN)
    first = await make_client(settings)
    second = await make_client(settings)  # started before anything exists: its memory is empty

    for n, replica in enumerate([first, second, first, second, second]):
        body = [alert("CheckoutLatencyHigh", f"co-{n}", minutes_ago=5 - n)]
        response = await replica.post("/api/v1/alerts", json=body, headers=auth())
        assert response.status in (200, 202), await response.text()

    if database_url.startswith("postgresql"):
        assert first.app[INGEST].deciding and not second.app[INGEST].deciding
    await settled(first)
    seen_by_first, seen_by_second = await incidents(first), await incidents(second)
    # the same incidents (background work such as enrichment may touch other fields between reads)
    assert [(i["id"], i["status"], i["alert_count"]) for i in seen_by_first] == [
        (i["id"], i["status"], i["alert_count"]) for i in seen_by_second
    ]
    assert [item["alert_count"] for item in seen_by_first] == [5], "one incident, not one per replica"

    # a responder's resolve on one replica is known to the other before it decides again
    incident_id = seen_by_first[0]["id"]
    response = await first.post(
        f"/api/v1/incidents/{incident_id}/resolve", json={"actor": "ana"}, headers=auth()
    )
    assert response.status == 200
    response = await second.post(
        "/api/v1/alerts", json=[alert("CheckoutLatencyHigh", "co-9", 0)], headers=auth()
    )
    assert response.status in (200, 202)
    await settled(first)
    after = await incidents(second)
    assert len(after) == 2 and after[0]["id"] != incident_id, "a new incident, not a resolved one reopened"
    assert after[0]["alert_count"] == 1


async def test_a_change_stored_by_one_replica_is_known_to_the_decider(
    make_client: Any, database_url: str
) -> None:
    settings = Settings(database_url=database_url, ingest_token=TOKEN)
    first = await make_client(settings)
    second = await make_client(settings)
    deploy = {
        "id": "d-1",
        "service": "checkout",
        "who": "ci",
        "what": "checkout v2",
        "at": datetime.now(UTC).isoformat(),
    }
    response = await second.post("/api/v1/changes", json=deploy, headers=auth())
    assert response.status == 200, await response.text()
    deadline = asyncio.get_running_loop().time() + 10
    # the decider (on SQLite each replica decides) learns it from the database, not from memory
    while first.app[INGEST].correlator.memory()["changes"] != 1:
        assert asyncio.get_running_loop().time() < deadline, "the decider never learned the change"
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.5)  # another sync round must not learn it twice
    assert first.app[INGEST].correlator.memory()["changes"] == 1


async def test_when_the_decider_stops_another_replica_decides(make_client: Any, database_url: str) -> None:
    settings = Settings(database_url=database_url, ingest_token=TOKEN)
    first = await make_client(settings)
    second = await make_client(settings)
    response = await second.post("/api/v1/alerts", json=[alert("DiskFull", "db-1", 3)], headers=auth())
    assert response.status == 200
    await settled(first)
    await first.close()  # its session lock goes with it
    deadline = asyncio.get_running_loop().time() + 10
    while not second.app[INGEST].deciding:
        assert asyncio.get_running_loop().time() < deadline, "nobody took over deciding"
        await asyncio.sleep(0.05)
    response = await second.post("/api/v1/alerts", json=[alert("DiskFull", "db-2", 1)], headers=auth())
    assert response.status == 200
    await settled(second)
    [incident] = await incidents(second)
    assert incident["alert_count"] == 2  # decided with what the first decider did, not from scratch


async def test_a_busy_deciding_replica_queues_and_decides_everything(
    make_client: Any, database_url: str
) -> None:
    """Requests that arrive while another batch waits to be decided are stored, queued and answered
    at once; the decider loop decides them all. A lone request is decided before it is answered."""
    client = await make_client(Settings(database_url=database_url, ingest_token=TOKEN))
    ingest = client.app[INGEST]
    queued = 0
    queue = ingest._queue

    async def counting_queue(batch: Any) -> Any:
        nonlocal queued
        queued += 1
        return await queue(batch)

    ingest._queue = counting_queue  # type: ignore[method-assign]
    response = await client.post("/api/v1/alerts", json=[alert("Lone", "lone-1", 1)], headers=auth())
    assert response.status == 200 and queued == 0
    assert sum(i["alert_count"] for i in await incidents(client)) == 1, "decided before the answer"

    bodies = [[alert("CheckoutLatencyHigh", f"co-{n}-{k}", 2) for k in range(5)] for n in range(12)]
    responses = await asyncio.gather(
        *(client.post("/api/v1/alerts", json=body, headers=auth()) for body in bodies)
    )
    assert all(r.status == 200 for r in responses)
    assert queued > 0, "some requests found another batch waiting and were queued"
    await settled(client)
    assert sum(i["alert_count"] for i in await incidents(client)) == 1 + 12 * 5


async def test_a_busy_decider_answers_re_deliveries_from_memory_but_not_those_being_decided(
    make_client: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queueing while busy, the decider skips the database for an exact re-delivery of a committed
    instance it holds, and does not for an instance of the batch being decided (whose state in
    memory may still be rolled back), nor while its memory awaits a rebuild after a failed batch."""
    client = await make_client(Settings(database_url=database_url, ingest_token=TOKEN))
    ingest = client.app[INGEST]
    started = (datetime.now(UTC) - timedelta(minutes=3)).isoformat()
    webhook = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "DiskFull", "host": f"db-{n}"}, "startsAt": started}
            for n in range(3)
        ],
    }
    decided = await client.post("/api/v1/alerts/alertmanager", json=webhook, headers=auth())
    stored_ids = (await decided.json())["ids"]
    again = alertmanager.parse_webhook(webhook, now=datetime.now(UTC))
    upserted: list[list[str]] = []
    upsert = ingest_module.upsert_alerts

    async def watched_upsert(conn: Any, batch: Any, at: datetime) -> Any:
        upserted.append([a.labels["host"] for a in batch])
        return await upsert(conn, batch, at)

    monkeypatch.setattr(ingest_module, "upsert_alerts", watched_upsert)
    result = await ingest._queue(again)
    assert upserted == [] and result.ids == stored_ids and set(result.outcomes) == {"duplicate"}

    ingest._deciding_keys = frozenset({AlertKey.of(again[1])})
    result = await ingest._queue(again)
    assert upserted == [["db-1"]] and result.ids == stored_ids and set(result.outcomes) == {"duplicate"}

    # a failed batch whose rebuild has not happened yet: memory may be ahead of the database
    ingest._deciding_keys = frozenset()
    ingest._stale = True
    result = await ingest._queue(again)
    assert upserted[-1] == ["db-0", "db-1", "db-2"] and result.ids == stored_ids
