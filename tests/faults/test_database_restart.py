"""PostgreSQL restarted under a running `nocbot serve`: while it is down, ingestion answers 503
(clients retry) and stores nothing half; when it is back, nocbot serves again without a restart."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from engine.storage.database import open_engine
from engine.storage.schema import alerts
from tests.conftest import TOKEN
from tests.faults.replicas import Replica
from tests.pg_server import PgServer

pytestmark = pytest.mark.postgres

BATCH = 20
DOWN_SECONDS = 3.0


def batch(round_: int, started: datetime) -> list[dict[str, Any]]:
    return [
        {
            "name": "CheckoutErrors",
            "severity": "critical",
            "labels": {"service": "checkout", "host": f"co-{round_}-{n}"},
            "starts_at": (started + timedelta(seconds=round_)).isoformat(),
        }
        for n in range(BATCH)
    ]


async def test_ingestion_answers_503_while_the_database_is_down_and_recovers_alone(
    pg: PgServer,
    pg_url: str,
) -> None:
    if pg.control is None:
        pytest.skip("the configured PostgreSQL (NOCBOT_TEST_DATABASE_URL) is not the suite's to restart")
    replica = Replica("only", {"NOCBOT_DATABASE_URL": pg_url, "NOCBOT_INGEST_TOKEN": TOKEN})
    headers = {"Authorization": f"Bearer {TOKEN}"}
    statuses: list[int] = []
    async with aiohttp.ClientSession() as session:
        await replica.start(session)
        assert replica.process is not None
        pid = replica.process.pid
        started = datetime.now(UTC) - timedelta(minutes=1)
        accepted = 0

        async def deliver(round_: int) -> None:
            nonlocal accepted
            for _ in range(300):  # a client retrying a 503 or a cut connection
                try:
                    async with session.post(
                        replica.url + "/api/v1/alerts", json=batch(round_, started), headers=headers
                    ) as response:
                        statuses.append(response.status)
                        if response.status in (200, 202):
                            accepted += BATCH
                            return
                        assert response.status == 503, await response.text()
                except (aiohttp.ClientError, OSError):
                    statuses.append(0)
                await asyncio.sleep(0.1)
            raise AssertionError("never accepted")

        async def outage() -> None:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(pg.control, "stop")  # type: ignore[arg-type]
            await asyncio.sleep(DOWN_SECONDS)
            await asyncio.to_thread(pg.control, "start")  # type: ignore[arg-type]

        restarting = asyncio.create_task(outage())
        round_ = 0
        while not restarting.done() or round_ < 5:
            await deliver(round_)
            round_ += 1
        await restarting
        await deliver(round_)  # and after: served by the same process
        round_ += 1
        assert replica.process.returncode is None and replica.process.pid == pid, "no restart of nocbot"
        await replica.stop()

    assert 503 in statuses, "the outage was seen as 503s"
    engine = open_engine(pg_url)
    try:
        async with engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).select_from(alerts))
    finally:
        await engine.dispose()
    assert stored == accepted == round_ * BATCH, "every batch whole, none half"
