"""The outbox on both databases: what is queued in a transaction is delivered once it commits,
in order per incident, coalesced when it is state, retried when the receiver says so, parked when it
is refused for good — and two workers (two replicas) never deliver the same row at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.clock import FixedClock
from engine.outbox import OutboxPolicy, OutboxWorker, RetryLater, Undeliverable
from engine.storage import incident_rows, migrate, outbox_rows
from engine.storage.database import open_engine
from engine.storage.outbox_rows import OutboxItem
from engine.storage.schema import outbox
from engine.storage.store import Store
from engine.timeline import Timeline

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    engine = open_engine(database_url)
    await migrate.upgrade(engine)
    yield Store(engine)
    await engine.dispose()


async def incident(store: Store, incident_id: int) -> int:
    async with store.transaction() as conn:
        await incident_rows.create_incidents(
            conn, [incident_rows.NewIncident(incident_id, f"incident {incident_id}", None, NOW)], NOW
        )
    return incident_id


class Recorder:
    """A deliverer that records what it got and fails as scripted."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str, dict[str, object]]] = []
        self.script: list[Exception] = []
        self.delay = 0.0

    async def deliver(self, item: OutboxItem) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.script:
            raise self.script.pop(0)
        self.got.append((item.kind, item.key, item.payload))


async def statuses(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(outbox.c.idempotency_key, outbox.c.status))
        return {key: status for key, status in rows.all()}


async def test_a_card_and_its_replies_are_delivered_card_first_and_once(store: Store) -> None:
    await incident(store, 1)
    timeline = Timeline(["slack"])
    async with store.transaction() as conn:
        await timeline.note(conn, 1, kind="acknowledged", text="Acknowledged by ana", now=NOW)
        await timeline.note(conn, 1, kind="silenced", text="Silenced for 1h", now=NOW)
    recorder = Recorder()
    worker = OutboxWorker(store, FixedClock(NOW), {"slack": recorder})
    assert await worker.deliver_due() == 3
    assert [kind for kind, _, _ in recorder.got] == ["card", "reply", "reply"]
    assert [payload.get("text") for _, _, payload in recorder.got[1:]] == [
        "Acknowledged by ana",
        "Silenced for 1h",
    ]
    assert await worker.deliver_due() == 0, "nothing is delivered twice"
    assert set((await statuses(store.engine)).values()) == {"sent"}


async def test_a_flood_of_redraws_is_one_delivery_of_the_latest_state(store: Store) -> None:
    await incident(store, 1)
    timeline = Timeline(["slack", "teams"])
    for minute in range(50):
        async with store.transaction() as conn:
            await timeline.redraw(conn, [1], NOW + timedelta(seconds=minute))
    slack, teams = Recorder(), Recorder()
    worker = OutboxWorker(store, FixedClock(NOW + timedelta(minutes=1)), {"slack": slack, "teams": teams})
    await worker.deliver_due()
    assert [key for _, key, _ in slack.got] == ["card:slack:1"]
    assert [key for _, key, _ in teams.got] == ["card:teams:1"]
    # a change after delivery queues the card again
    async with store.transaction() as conn:
        await timeline.redraw(conn, [1], NOW + timedelta(minutes=2))
    worker.clock = FixedClock(NOW + timedelta(minutes=2))
    await worker.deliver_due()
    assert len(slack.got) == 2


async def test_a_change_during_delivery_is_not_lost(store: Store) -> None:
    """The row is replaced while its older payload is being delivered: it stays pending."""
    await incident(store, 1)
    timeline = Timeline(["slack"])
    async with store.transaction() as conn:
        await timeline.redraw(conn, [1], NOW)
    clock = FixedClock(NOW)

    class ChangesMidway(Recorder):
        async def deliver(self, item: OutboxItem) -> None:
            await super().deliver(item)
            if len(self.got) == 1:
                async with store.transaction() as conn:
                    await timeline.redraw(conn, [1], NOW + timedelta(seconds=1))

    recorder = ChangesMidway()
    worker = OutboxWorker(store, clock, {"slack": recorder})
    await worker.deliver_due()
    clock.advance(timedelta(seconds=5))
    await worker.deliver_due()
    assert len(recorder.got) == 2, "the newer state was delivered too"
    assert await statuses(store.engine) == {"card:slack:1": "sent"}


async def test_retry_later_keeps_the_order_and_undeliverable_parks_the_row(store: Store) -> None:
    await incident(store, 1)
    await incident(store, 2)
    timeline = Timeline(["slack"])
    async with store.transaction() as conn:
        await timeline.note(conn, 1, kind="note", text="first", now=NOW)
        await timeline.note(conn, 2, kind="note", text="other incident", now=NOW)
    clock = FixedClock(NOW)
    recorder = Recorder()
    recorder.script = [RetryLater(30, "429")]  # the first card (incident 1) is rate limited
    worker = OutboxWorker(store, clock, {"slack": recorder})
    await worker.deliver_due()
    # incident 2 went ahead; nothing of incident 1 did, its reply waits behind its card
    assert [(kind, payload["incident"]) for kind, _, payload in recorder.got] == [("card", 2), ("reply", 2)]
    clock.advance(timedelta(seconds=10))
    assert await worker.deliver_due() == 0, "not before Retry-After"
    clock.advance(timedelta(seconds=25))
    await worker.deliver_due()
    assert [(kind, payload["incident"]) for kind, _, payload in recorder.got[2:]] == [
        ("card", 1),
        ("reply", 1),
    ]

    async with store.transaction() as conn:
        await timeline.note(conn, 2, kind="note", text="refused", now=clock.now(), redraw=False)
    recorder.script = [Undeliverable("channel_not_found")]
    await worker.deliver_due()
    async with store.engine.connect() as conn:
        health = await outbox_rows.health(conn)
    assert (health.pending, health.dead) == (0, 1)


async def test_an_unexpected_error_backs_off_and_is_retried_until_delivered(store: Store) -> None:
    await incident(store, 1)
    async with store.transaction() as conn:
        await Timeline(["slack"]).redraw(conn, [1], NOW)
    clock = FixedClock(NOW)
    recorder = Recorder()
    recorder.script = [ConnectionResetError("peer went away")] * 4
    worker = OutboxWorker(store, clock, {"slack": recorder}, OutboxPolicy(first_backoff=1, max_backoff=8))
    for _ in range(10):
        await worker.deliver_due()
        clock.advance(timedelta(seconds=10))
    assert [key for _, key, _ in recorder.got] == ["card:slack:1"]
    assert worker.failures == 4


async def test_what_is_queued_while_an_earlier_row_waits_for_a_retry_goes_after_it(store: Store) -> None:
    """PagerDuty is down: the trigger fails and backs off, and meanwhile the incident is acknowledged.
    The acknowledge goes after the trigger, not before (PagerDuty drops an acknowledge of an alert it
    does not have, then pages for the trigger); another incident's event is not held up."""
    for incident_id in (1, 2):
        await incident(store, incident_id)

    async def queue(incident_id: int, action: str) -> None:
        async with store.transaction() as conn:
            await outbox_rows.enqueue(
                conn,
                destination="pagerduty",
                kind=action,
                key=f"pagerduty:{action}:{incident_id}",
                payload={"event_action": action},
                incident_id=incident_id,
                now=clock.now(),
            )

    clock = FixedClock(NOW)
    recorder = Recorder()
    recorder.script = [ConnectionResetError("PagerDuty went away")]
    policy = OutboxPolicy(first_backoff=8, max_backoff=8)
    worker = OutboxWorker(store, clock, {"pagerduty": recorder}, policy)
    await queue(1, "trigger")
    assert await worker.deliver_due() == 1  # failed: tried again in 4 to 8 s
    clock.advance(timedelta(seconds=1))
    await queue(1, "acknowledge")
    await queue(2, "trigger")
    await worker.deliver_due()
    assert [key for _, key, _ in recorder.got] == ["pagerduty:trigger:2"], "the acknowledge waits"
    clock.advance(timedelta(seconds=8))
    await worker.deliver_due()
    assert [key for _, key, _ in recorder.got[1:]] == ["pagerduty:trigger:1", "pagerduty:acknowledge:1"]


async def test_a_crashed_worker_s_lease_runs_out_and_another_delivers(store: Store) -> None:
    await incident(store, 1)
    async with store.transaction() as conn:
        await Timeline(["slack"]).redraw(conn, [1], NOW)
    policy = OutboxPolicy(lease=timedelta(seconds=60))
    async with store.transaction() as conn:  # the first worker claims, then dies
        claimed = await outbox_rows.claim_due(conn, NOW, lease=policy.lease, limit=10, destinations=["slack"])
    assert len(claimed) == 1
    recorder = Recorder()
    worker = OutboxWorker(store, FixedClock(NOW + timedelta(seconds=30)), {"slack": recorder}, policy)
    assert await worker.deliver_due() == 0, "leased to the first worker"
    worker.clock = FixedClock(NOW + timedelta(seconds=61))
    assert await worker.deliver_due() == 1
    assert recorder.got[0][1] == "card:slack:1"


@pytest.mark.postgres
async def test_two_workers_share_the_rows_without_taking_the_same_one(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time anyway")
    for incident_id in range(1, 41):
        await incident(store, incident_id)
    async with store.transaction() as conn:
        await Timeline(["slack"]).redraw(conn, range(1, 41), NOW)
    first, second = Recorder(), Recorder()
    first.delay = second.delay = 0.01
    policy = OutboxPolicy(batch=10)
    workers = [
        OutboxWorker(store, FixedClock(NOW), {"slack": first}, policy),
        OutboxWorker(store, FixedClock(NOW), {"slack": second}, policy),
    ]
    for _ in range(4):
        await asyncio.gather(*(worker.deliver_due() for worker in workers))
    keys = [key for _, key, _ in first.got + second.got]
    assert sorted(keys) == sorted(f"card:slack:{n}" for n in range(1, 41))
    assert len(keys) == len(set(keys)), "no row delivered by both"
    assert first.got and second.got, "both took a share"


async def test_a_dead_row_is_not_claimed_again(store: Store) -> None:
    await incident(store, 1)
    async with store.transaction() as conn:
        await Timeline(["slack"]).redraw(conn, [1], NOW)
        await conn.execute(update(outbox).values(status="dead"))
    worker = OutboxWorker(store, FixedClock(NOW), {"slack": Recorder()})
    assert await worker.deliver_due() == 0


async def test_a_redraw_during_a_delivery_does_not_hand_the_row_to_another_worker(store: Store) -> None:
    """Replica A is posting card 1 when a change queues it again: replica B must not take it (it
    would post a second card); A's finishing releases it, and the newer state goes out after."""
    await incident(store, 1)
    timeline = Timeline(["slack"])
    async with store.transaction() as conn:
        await timeline.redraw(conn, [1], NOW - timedelta(seconds=1))
    clock = FixedClock(NOW)
    other = Recorder()
    second_worker = OutboxWorker(store, clock, {"slack": other})

    class SlowPoster(Recorder):
        async def deliver(self, item: OutboxItem) -> None:
            async with store.transaction() as conn:  # the change, while A is posting
                await timeline.redraw(conn, [1], NOW)  # due now, by itself
            assert await second_worker.deliver_due() == 0, "leased to A"
            await super().deliver(item)

    first = SlowPoster()
    await OutboxWorker(store, clock, {"slack": first}).deliver_due()
    assert len(first.got) == 1 and not other.got
    assert await second_worker.deliver_due() == 1, "released when A finished: the newer state goes out"
    assert len(other.got) == 1
    assert await statuses(store.engine) == {"card:slack:1": "sent"}


async def test_rows_whose_lease_ran_out_during_a_long_batch_are_left_to_the_worker_that_took_them(
    store: Store,
) -> None:
    """Replica A claims two incidents' replies in one batch and works through one incident at a time,
    each delivery taking 40 s (Slack paces a busy channel at one call a second): the lease (60 s) of
    the rows still waiting runs out while A works. Replica B claims the other incident's rows and
    posts them; A must not post them a second time. B leaves the rest of A's incident alone: a row
    of it is still being delivered, and what comes after it goes after it, so A posts those."""
    await incident(store, 1)
    await incident(store, 2)
    timeline = Timeline(["slack"])
    async with store.transaction() as conn:
        for incident_id, notes in ((1, 3), (2, 2)):
            for n in range(notes):
                text = f"#{incident_id} note {n}"
                await timeline.note(conn, incident_id, kind="note", text=text, now=NOW, redraw=False)
    clock = FixedClock(NOW)
    policy = OutboxPolicy(lease=timedelta(seconds=60), incidents_at_once=1)
    other = Recorder()
    second_worker = OutboxWorker(store, clock, {"slack": other}, policy)

    class SlowPoster(Recorder):
        async def deliver(self, item: OutboxItem) -> None:
            clock.advance(timedelta(seconds=40))
            if len(self.got) == 1:  # A is on its second row: the leases of the rows after it ran out
                await second_worker.deliver_due()
            await super().deliver(item)

    first = SlowPoster()
    await OutboxWorker(store, clock, {"slack": first}, policy).deliver_due()
    assert [payload["text"] for _, _, payload in first.got] == ["#1 note 0", "#1 note 1", "#1 note 2"]
    assert [payload["text"] for _, _, payload in other.got] == ["#2 note 0", "#2 note 1"], (
        "B took the rows A let go"
    )
    assert set((await statuses(store.engine)).values()) == {"sent"}


@pytest.mark.postgres
async def test_a_claim_waits_for_a_concurrent_one_so_an_incident_keeps_one_lane(store: Store) -> None:
    """Replica A claims an incident's first row; replica B claims at the same moment. B must not
    take the incident's next row (it would deliver it first): it waits for A's claim to commit, then
    sees that an earlier row of the incident is leased."""
    if store.dialect != "postgresql":
        pytest.skip("one process claims on SQLite")
    await incident(store, 1)
    async with store.transaction() as conn:
        for action in ("trigger", "acknowledge"):
            await outbox_rows.enqueue(
                conn,
                destination="pagerduty",
                kind=action,
                key=f"pagerduty:{action}:1",
                payload={"event_action": action},
                incident_id=1,
                now=NOW,
            )
    lease = timedelta(seconds=60)
    async with store.transaction() as first:
        taken = await outbox_rows.claim_due(first, NOW, lease=lease, limit=1, destinations=["pagerduty"])
        assert [item.key for item in taken] == ["pagerduty:trigger:1"]

        async def second_claim() -> list[OutboxItem]:
            async with store.transaction() as conn:
                return await outbox_rows.claim_due(
                    conn, NOW, lease=lease, limit=10, destinations=["pagerduty"]
                )

        racing = asyncio.create_task(second_claim())
        await asyncio.sleep(0.5)
        assert not racing.done(), "the second claim waits while the first is uncommitted"
    assert await racing == [], "the acknowledge waits for the trigger, leased to the first replica"
