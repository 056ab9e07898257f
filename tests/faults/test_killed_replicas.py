"""Two `nocbot serve` replicas on one PostgreSQL, one of them killed with SIGKILL every few seconds
while alerts keep arriving at either: every alert is stored once, every incident's card is posted
to Slack once (a fake on loopback), and nothing is left undelivered once they are back."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from engine.storage import correlation_queue_rows
from engine.storage.database import open_engine
from engine.storage.schema import alerts, incident_alerts, incidents, outbox
from tests.conftest import TOKEN
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET
from tests.faults.replicas import Replica, send

pytestmark = pytest.mark.postgres

KILLS = 4  # alerts keep coming until each replica was killed twice
MAX_ROUNDS = 400
KILL_EVERY = 3.0
SERVICES = [f"svc{n}" for n in range(6)]


def batch(round_: int, started: datetime) -> list[dict[str, Any]]:
    """Two services a round, a new host each: several incidents that keep growing."""
    return [
        {
            "name": f"{service.capitalize()}ErrorRate",
            "severity": "critical",
            "labels": {"service": service, "host": f"{service}-{round_}"},
            "summary": f"{service} errors on {service}-{round_}",
            "starts_at": (started + timedelta(seconds=round_)).isoformat(),
        }
        for service in (SERVICES[round_ % len(SERVICES)], SERVICES[(round_ + 1) % len(SERVICES)])
    ]


async def test_killing_replicas_loses_nothing_and_posts_each_card_once(pg_url: str) -> None:
    async with FakeSlack() as slack, aiohttp.ClientSession() as session:
        slack.add_channel("incidents")
        env = {
            "NOCBOT_DATABASE_URL": pg_url,
            "NOCBOT_INGEST_TOKEN": TOKEN,
            "NOCBOT_SLACK_BOT_TOKEN": BOT_TOKEN,
            "NOCBOT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "NOCBOT_SLACK_ROUTES": "*:#incidents",
            "NOCBOT_SLACK_API_URL": slack.api_url,
            "NOCBOT_OUTBOX_LEASE": "5",
        }
        replicas = [Replica("a", env), Replica("b", env)]
        await asyncio.gather(*(replica.start(session) for replica in replicas))
        stop = asyncio.Event()

        async def killer() -> None:
            for victim in itertools.cycle(replicas):
                await asyncio.sleep(KILL_EVERY)
                if stop.is_set():
                    return
                await victim.kill()
                await victim.start(session)

        killing = asyncio.create_task(killer())
        started = datetime.now(UTC) - timedelta(minutes=2)
        sent: set[tuple[str, str]] = set()
        headers = {"Authorization": f"Bearer {TOKEN}"}
        try:
            for round_ in range(MAX_ROUNDS):
                if sum(replica.kills for replica in replicas) >= KILLS:
                    break
                body = batch(round_, started)
                status = await send(session, replicas, "/api/v1/alerts", body, headers, first=round_)
                assert status in (200, 202), status
                sent |= {(item["labels"]["host"], item["starts_at"]) for item in body}
                await asyncio.sleep(0.2)
        finally:
            stop.set()
            await killing
        assert all(replica.kills >= 2 for replica in replicas), "both replicas were really killed"

        engine = open_engine(pg_url)
        try:
            # the decider takes what the other replica queued, then the outbox drains (a killed
            # delivery's lease is 5 s)
            for _ in range(600):
                async with engine.connect() as conn:
                    pending = await conn.scalar(select(func.count()).where(outbox.c.status != "sent"))
                    queued = await correlation_queue_rows.size(conn)
                if pending == 0 and queued == 0:
                    break
                await asyncio.sleep(0.1)
            async with engine.connect() as conn:
                stored = await conn.scalar(select(func.count()).select_from(alerts))
                unclustered = await conn.scalar(
                    select(func.count())
                    .select_from(alerts)
                    .where(~alerts.c.id.in_(select(incident_alerts.c.alert_id)))
                )
                incident_ids = set((await conn.scalars(select(incidents.c.id))).all())
                undelivered = await conn.scalar(select(func.count()).where(outbox.c.status != "sent"))
        finally:
            await engine.dispose()
            await asyncio.gather(*(replica.stop() for replica in replicas))

        assert stored == len(sent), "every alert stored once"
        assert unclustered == 0, "every alert decided on, wherever it arrived"
        assert undelivered == 0, "nothing left in the outbox"
        channel = next(iter(slack.channels))
        keys = [message["metadata"]["event_payload"]["key"] for message in slack.messages(channel)]
        assert len(keys) == len(set(keys)), "no card posted twice"
        assert set(keys) == {f"card:slack:{incident_id}" for incident_id in incident_ids}, "every card posted"
