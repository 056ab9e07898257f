"""Slack answering 500s (some after doing the work, as when its answer is lost) and 429s for a
while under a running `nocbot serve`: once it recovers, every card and every thread reply is there,
in order per incident, and nothing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from tests.conftest import TOKEN
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET
from tests.faults.replicas import Replica, send

pytestmark = pytest.mark.postgres

OUTAGE_SECONDS = 8.0  # the 60 s, shortened for CI; benchmarks/soak.py runs the long one
INCIDENTS = 5


async def test_a_slack_outage_delays_but_neither_loses_nor_repeats(pg_url: str) -> None:
    async with FakeSlack() as slack, aiohttp.ClientSession() as session:
        slack.add_channel("incidents")
        env = {
            "NOCBOT_DATABASE_URL": pg_url,
            "NOCBOT_INGEST_TOKEN": TOKEN,
            "NOCBOT_SLACK_BOT_TOKEN": BOT_TOKEN,
            "NOCBOT_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "NOCBOT_SLACK_ROUTES": "*:#incidents",
            "NOCBOT_SLACK_API_URL": slack.api_url,
        }
        replica = Replica("only", env)
        await replica.start(session)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        methods = ["chat.postMessage", "chat.update"]
        # in turn (the first fault that applies answers): 429s, then 500s, then 500s after posting
        slack.rate_limit(seconds=OUTAGE_SECONDS / 3, retry_after=1, methods=methods)
        slack.fail(seconds=OUTAGE_SECONDS * 2 / 3, methods=methods)
        slack.fail(seconds=OUTAGE_SECONDS, status=500, after_processing=True, methods=["chat.postMessage"])
        try:
            started = datetime.now(UTC) - timedelta(minutes=1)
            for n in range(INCIDENTS):
                body = [
                    {
                        "name": f"Service{n}Down",
                        "severity": "critical",
                        "labels": {"service": f"svc{n}", "host": f"h{n}"},
                        "starts_at": started.isoformat(),
                    }
                ]
                assert await send(session, [replica], "/api/v1/alerts", body, headers) in (200, 202)
            for incident_id in range(1, INCIDENTS + 1):
                for action in ("acknowledge", "resolve"):
                    path = f"/api/v1/incidents/{incident_id}/{action}"
                    assert await send(session, [replica], path, {"actor": "ana"}, headers) == 200

            channel = next(iter(slack.channels))

            def settled() -> bool:
                cards = slack.messages(channel)
                return len(cards) >= INCIDENTS and all(
                    len(slack.replies(channel, card["ts"])) >= 2 for card in cards
                )

            await slack.wait_until(settled, within=OUTAGE_SECONDS + 60)
            await asyncio.sleep(2)  # anything still queued would show up now
        finally:
            await replica.stop()

        cards = slack.messages(channel)
        keys = [card["metadata"]["event_payload"]["key"] for card in cards]
        assert sorted(keys) == sorted(f"card:slack:{n}" for n in range(1, INCIDENTS + 1)), "each card once"
        for card in cards:
            texts = [reply["text"] for reply in slack.replies(channel, card["ts"])]
            assert len(texts) == 2, texts
            assert texts[0] == "Acknowledged by ana" and texts[1].startswith("closed by ana"), texts
            assert "Resolved" in str(card["blocks"]), "the card shows the last state"
        statuses = {call.status for call in slack.calls}
        assert {429, 500} <= statuses, "the outage happened"
