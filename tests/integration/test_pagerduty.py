"""Escalation to PagerDuty end to end on both databases: the service decides and queues in the
outbox, the outbox worker delivers to a fake Events API on loopback.

The service is built here from a Store (create_app does not yet create the timeline and outbox);
the webhook route is tested through the app in test_pagerduty_webhook.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.pagerduty.settings import PagerDutySettings
from bot.pagerduty.wiring import pagerduty_deliverer
from engine.catalog import Catalog
from engine.clock import FixedClock
from engine.clustering.config import ClusteringConfig
from engine.clustering.correlator import AlertCorrelator
from engine.escalation import EscalationResult, EscalationService, Links, Routing
from engine.escalation_rule import AutoEscalation
from engine.ingest import IngestService
from engine.models import Service
from engine.outbox import OutboxPolicy, OutboxWorker
from engine.responders import Responders, Result
from engine.scoring import load_priority_scorer
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.schema import audit_log, escalations, incident_events, incidents, outbox
from engine.storage.store import Store
from engine.timeline import Timeline
from integrations.pagerduty import DESTINATION
from tests.fakes.pagerduty_events import FakePagerDuty

DEFAULT_KEY = "D" * 32
PAYMENTS_KEY = "P" * 32
BASE_URL = "https://nocbot.example"


@dataclass
class World:
    store: Store
    clock: FixedClock
    timeline: Timeline
    responders: Responders
    service: EscalationService
    fake: FakePagerDuty
    worker: OutboxWorker

    async def incident(
        self,
        *,
        priority: int | None = 1,
        service: str = "payments",
        opened_ago: timedelta = timedelta(minutes=1),
        status: str = "open",
        enrichment: dict[str, Any] | None = None,
    ) -> int:
        opened = self.clock.now() - opened_ago
        async with self.store.transaction() as conn:
            result = await conn.execute(
                incidents.insert().values(
                    title=f"{service} error rate above 5%",
                    status=status,
                    origin="nocbot",
                    service=service,
                    services=[service],
                    priority=priority,
                    priority_source="model",
                    reasons=["customer-facing service"],
                    enrichment=enrichment or {},
                    alert_count=1,
                    opened_at=opened,
                    auto_resolved=False,
                    updated_at=opened,
                    version=1,
                )
            )
            return int(result.inserted_primary_key[0])

    async def deliver(self) -> None:
        """Run the outbox until nothing more is due, moving the clock past any backoff."""
        for _ in range(20):
            await self.worker.deliver_due()
            async with self.store.engine.connect() as conn:
                pending = (
                    await conn.execute(
                        select(func.count()).where(
                            outbox.c.destination == DESTINATION, outbox.c.status == "pending"
                        )
                    )
                ).scalar_one()
            if not pending:
                return
            self.clock.advance(timedelta(minutes=10))
        raise AssertionError("PagerDuty events still pending")

    async def count(self, table: Any, *where: Any) -> int:
        async with self.store.engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
            )

    async def rows(self, table: Any, *where: Any) -> list[dict[str, Any]]:
        async with self.store.engine.connect() as conn:
            found = await conn.execute(select(table).where(*where).order_by(table.c.id))
            return [dict(row) for row in found.mappings()]

    async def incident_row(self, incident_id: int) -> dict[str, Any]:
        return (await self.rows(incidents, incidents.c.id == incident_id))[0]


@pytest.fixture
async def world(database_url: str, clock: FixedClock) -> AsyncIterator[World]:
    engine = open_engine(database_url)
    await migrate.upgrade(engine)
    store = Store(engine)
    catalog = Catalog.from_services([Service("payments", owner="money"), Service("search", owner="find")])
    timeline = Timeline(surfaces=("slack",))
    ingest = IngestService(
        store,
        clock,
        lambda ids: AlertCorrelator(ClusteringConfig(), catalog, ids=ids),
        scorer=load_priority_scorer(None),
        catalog=catalog,
        team_timezone=ZoneInfo("UTC"),
        timeline=timeline,
    )
    await ingest.start()
    responders = Responders(ingest)
    settings = PagerDutySettings(
        routing_keys={"default": DEFAULT_KEY, "money": PAYMENTS_KEY},
        auto_escalate=AutoEscalation(2, timedelta(minutes=15)),
    )
    service = EscalationService(
        store,
        clock,
        timeline,
        responders,
        routing=Routing(settings.routing_keys, catalog),
        links=Links(BASE_URL),
        auto=settings.auto_escalate,
    )
    timeline.followers.append(service)
    async with FakePagerDuty() as fake, aiohttp.ClientSession() as session:
        deliverer = pagerduty_deliverer(PagerDutySettings(events_url=fake.url), session)
        worker = OutboxWorker(store, clock, {DESTINATION: deliverer}, OutboxPolicy(first_backoff=1.0))
        yield World(store, clock, timeline, responders, service, fake, worker)
    await engine.dispose()


async def test_escalate_twice_and_concurrently_pages_once(world: World) -> None:
    incident_id = await world.incident(enrichment={"sections": [{"title": "Recent changes"}]})
    first = await world.service.escalate(incident_id, actor="slack:U1", surface="slack", name="Ana")
    assert first.result is EscalationResult.ESCALATED and first.dedup_key
    again = await world.service.escalate(incident_id, actor="slack:U2", surface="slack", name="Bo")
    assert again.result is EscalationResult.ALREADY_ESCALATED
    assert again.dedup_key == first.dedup_key and "Ana" in again.message

    other = await world.incident(service="search")
    outcomes = await asyncio.gather(
        *(world.service.escalate(other, actor=f"u{n}", surface="slack") for n in range(4))
    )
    assert sorted(o.result for o in outcomes).count(EscalationResult.ESCALATED) == 1
    assert {o.dedup_key for o in outcomes} == {outcomes[0].dedup_key}

    await world.deliver()
    triggers = [e for e in world.fake.events if e["event_action"] == "trigger"]
    # one lane per incident: the two incidents' triggers may go out in either order
    triggers.sort(key=lambda e: e["dedup_key"] != first.dedup_key)
    assert [(e["dedup_key"], e["routing_key"]) for e in triggers] == [
        (first.dedup_key, PAYMENTS_KEY),  # payments is owned by team "money"
        (outcomes[0].dedup_key, DEFAULT_KEY),
    ]
    payload = triggers[0]["payload"]
    assert payload["severity"] == "critical" and payload["summary"].startswith(f"[P1] #{incident_id} ")
    assert payload["custom_details"]["enrichment"] == {"sections": [{"title": "Recent changes"}]}
    assert payload["custom_details"]["console"] == f"{BASE_URL}/console#incident-{incident_id}"
    assert await world.count(escalations) == 2
    assert await world.count(audit_log, audit_log.c.action == "escalate") == 2
    notes = await world.rows(incident_events, incident_events.c.incident_id == incident_id)
    assert [n["text"] for n in notes if n["kind"] == "escalated"] == ["Escalated to PagerDuty by Ana"]
    # the note goes to the chat thread and the card is redrawn
    kinds = {
        (r["destination"], r["kind"]) for r in await world.rows(outbox, outbox.c.incident_id == incident_id)
    }
    assert {("slack", "reply"), ("slack", "card"), ("pagerduty", "trigger")} <= kinds


async def test_a_retried_delivery_after_a_500_still_pages_once(world: World) -> None:
    incident_id = await world.incident()
    outcome = await world.service.escalate(incident_id, actor="ana", surface="api")
    world.fake.fail(500)
    await world.worker.deliver_due()
    assert world.fake.events == [] and world.worker.failures == 1
    await world.deliver()
    assert world.fake.actions() == [("trigger", outcome.dedup_key)]
    assert [event["dedup_key"] for event, _ in world.fake.requests] == [outcome.dedup_key] * 2
    assert [status for _, status in world.fake.requests] == [500, 202]


async def test_acknowledge_and_resolve_in_nocbot_follow_to_pagerduty(world: World) -> None:
    incident_id = await world.incident()
    outcome = await world.service.escalate(incident_id, actor="ana", surface="api")
    ack = await world.responders.acknowledge(incident_id, actor="slack:U1", surface="slack", name="Ana")
    assert ack.result is Result.DONE
    resolved = await world.responders.resolve(incident_id, actor="slack:U1", surface="slack", name="Ana")
    assert resolved.result is Result.DONE
    await world.deliver()
    key = outcome.dedup_key
    assert world.fake.actions() == [("trigger", key), ("acknowledge", key), ("resolve", key)]
    assert {e["routing_key"] for e in world.fake.events} == {PAYMENTS_KEY}
    (row,) = await world.rows(escalations)
    assert row["status"] == "resolved" and row["acknowledged_at"] and row["resolved_at"]


async def test_incidents_never_escalated_send_nothing(world: World) -> None:
    incident_id = await world.incident()
    await world.responders.acknowledge(incident_id, actor="ana", surface="api")
    await world.responders.resolve(incident_id, actor="ana", surface="api")
    assert await world.count(outbox, outbox.c.destination == DESTINATION) == 0


async def test_escalate_refuses_what_cannot_be_paged(world: World) -> None:
    assert (await world.service.escalate(999, actor="a", surface="api")).result is EscalationResult.NOT_FOUND
    resolved = await world.incident(status="resolved")
    assert (
        await world.service.escalate(resolved, actor="a", surface="api")
    ).result is EscalationResult.NOT_OPEN
    world.service.routing = Routing({"payments": PAYMENTS_KEY}, Catalog.empty())
    unrouted = await world.incident(service="search")
    outcome = await world.service.escalate(unrouted, actor="a", surface="api")
    assert outcome.result is EscalationResult.NO_ROUTE and "search" in outcome.message
    assert (
        await world.count(escalations) == 0
        and await world.count(outbox, outbox.c.destination == DESTINATION) == 0
    )


async def test_auto_escalation_pages_overdue_urgent_incidents_once(world: World) -> None:
    overdue = await world.incident(priority=2, opened_ago=timedelta(minutes=16))
    recent = await world.incident(priority=1, opened_ago=timedelta(minutes=5))
    minor = await world.incident(priority=3, opened_ago=timedelta(hours=1))
    acknowledged = await world.incident(priority=1, opened_ago=timedelta(hours=1), status="acknowledged")
    # two replicas checking at the same moment
    first, second = await asyncio.gather(world.service.escalate_overdue(), world.service.escalate_overdue())
    assert sorted(first + second) == [overdue]
    assert await world.service.escalate_overdue() == []
    world.clock.advance(timedelta(minutes=11))
    assert await world.service.escalate_overdue() == [recent]
    await world.deliver()
    assert [e["event_action"] for e in world.fake.events] == ["trigger", "trigger"]
    assert await world.count(escalations, escalations.c.incident_id.in_([minor, acknowledged])) == 0
    (note,) = await world.rows(
        incident_events, incident_events.c.incident_id == overdue, incident_events.c.kind == "escalated"
    )
    assert note["text"] == "Escalated to PagerDuty by the auto-escalation rule (P2/15m)"


async def test_escalate_within_a_callers_transaction_rolls_back_with_it(world: World) -> None:
    incident_id = await world.incident()

    class StepFailed(Exception):
        pass

    with pytest.raises(StepFailed):
        async with world.store.transaction() as conn:
            outcome = await world.service.escalate_within(
                conn, incident_id, by="playbook", actor=None, now=world.clock.now()
            )
            assert outcome.result is EscalationResult.ESCALATED
            raise StepFailed
    assert await world.count(escalations) == 0 and await world.count(outbox) == 0
