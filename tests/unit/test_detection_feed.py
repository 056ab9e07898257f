"""The detection feed: stored point batches are detected after the answer, sent to the detector in
the order they were put (the next one as soon as the one before is sent, not scored), bounded, and
a failed batch holds up nothing after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from engine.detection_feed import Detected, DetectionFeed
from engine.models import Alert, PointBatch, SeriesRef
from engine.watch import Connect


def batch(value: float) -> PointBatch:
    return PointBatch(
        series=(SeriesRef("cpu", {}),), series_index=[0], ts=[1794355200.0], values=[value]
    )


class GatedWatch:
    """Each batch is "sent" when the test opens its gate, and "scored" when it opens the second."""

    def __init__(self) -> None:
        self.sent_gates: dict[float, asyncio.Event] = {}
        self.scored_gates: dict[float, asyncio.Event] = {}
        self.entered: list[float] = []
        self.failing: set[float] = set()

    def gates(self, value: float) -> tuple[asyncio.Event, asyncio.Event]:
        return self.sent_gates.setdefault(value, asyncio.Event()), self.scored_gates.setdefault(
            value, asyncio.Event()
        )

    async def observe(
        self, connect: Connect, batch: PointBatch, series_ids: list[int], *, sent: Callable[[], None]
    ) -> list[Alert]:
        value = batch.values[0]
        self.entered.append(value)
        to_send, to_score = self.gates(value)
        await to_send.wait()
        if value in self.failing:
            raise RuntimeError("database away")
        sent()
        await to_score.wait()
        return []


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine("sqlite+aiosqlite://")
    yield engine
    await engine.dispose()


async def eventually(condition: Callable[[], bool]) -> None:
    """Until the condition holds, then a while longer (for what must not happen meanwhile)."""
    for _ in range(500):
        if condition():
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)


async def no_alerts(raised: Sequence[Alert]) -> None:
    raise AssertionError(f"nothing should be raised, got {raised}")


async def test_batches_are_sent_in_order_and_scored_together(engine: AsyncEngine) -> None:
    watch = GatedWatch()
    feed = DetectionFeed(engine, watch, no_alerts)
    for value in (1.0, 2.0, 3.0):
        await feed.put(batch(value), [1])
    await eventually(lambda: len(watch.entered) >= 1)
    assert watch.entered == [1.0]  # the second waits for the first to be in the detector's queue
    watch.gates(1.0)[0].set()
    await eventually(lambda: len(watch.entered) >= 2)
    assert watch.entered == [1.0, 2.0]  # sent before the first is scored: they are scored together
    watch.gates(2.0)[0].set()
    watch.gates(3.0)[0].set()
    for value in (1.0, 2.0, 3.0):
        watch.gates(value)[1].set()
    await asyncio.wait_for(feed.settled(), 5)
    assert watch.entered == [1.0, 2.0, 3.0] and feed.backlog == 0


async def test_a_full_backlog_makes_the_next_batch_wait_for_room(engine: AsyncEngine) -> None:
    watch = GatedWatch()
    feed = DetectionFeed(engine, watch, no_alerts, backlog=2)
    await feed.put(batch(1.0), [1])
    await feed.put(batch(2.0), [1])
    third = asyncio.create_task(feed.put(batch(3.0), [1]))
    await eventually(lambda: len(watch.entered) >= 1)
    assert not third.done()
    for gate in watch.gates(1.0):
        gate.set()
    await asyncio.wait_for(third, 5)
    for value in (2.0, 3.0):
        for gate in watch.gates(value):
            gate.set()
    await asyncio.wait_for(feed.settled(), 5)
    assert watch.entered == [1.0, 2.0, 3.0]


async def test_a_failed_batch_is_reported_and_the_next_ones_are_detected(engine: AsyncEngine) -> None:
    watch = GatedWatch()
    watch.failing.add(1.0)
    raised: list[Sequence[Alert]] = []

    async def keep(alerts: Sequence[Alert]) -> None:
        raised.append(alerts)

    feed = DetectionFeed(engine, watch, keep)
    outcomes: list[Detected] = []
    feed.subscribe(outcomes.append)
    await feed.put(batch(1.0), [1])
    await feed.put(batch(2.0), [1])
    for value in (1.0, 2.0):
        for gate in watch.gates(value):
            gate.set()
    await asyncio.wait_for(feed.settled(), 5)
    assert [(o.failed, o.points) for o in outcomes] == [(True, 1), (False, 1)]
    assert watch.entered == [1.0, 2.0] and raised == []
