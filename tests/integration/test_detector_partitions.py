"""Two replicas on one database split the metric series between them: each series is detected by
the one holding its partition, points reaching the other are handed over, and a take-over resumes
from the state the previous holder saved instead of relearning."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select

from bot.keys import DETECTOR_PARTITIONS, STORE
from bot.settings import Settings
from engine.clock import FixedClock
from engine.storage.schema import detector_inbox, detector_partitions, metric_series
from tests.conftest import AppClient
from tests.integration.test_metric_watch import START, alerts_named, send

FILLERS = 40  # series created first, so the watched one lands in a partition that changes hands


def latency(rng: random.Random, minutes: range, level: float, spread: float) -> list[dict[str, Any]]:
    labels = {"service": "checkout", "host": "web-1"}
    return [
        {
            "metric": "latency_ms",
            "labels": labels,
            "ts": START + i * 60,
            "value": level + rng.gauss(0, spread),
        }
        for i in minutes
    ]


async def points_waiting(client: AppClient) -> int:
    async with client.app[STORE].engine.connect() as conn:
        return int(await conn.scalar(select(func.coalesce(func.sum(detector_inbox.c.points), 0))) or 0)


async def test_two_replicas_detect_each_series_once_and_hand_over_learning(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock
) -> None:
    a = await make_client(settings, clock)
    b = await make_client(settings, clock)
    holder_a, holder_b = a.app[DETECTOR_PARTITIONS], b.app[DETECTOR_PARTITIONS]
    assert len(holder_a.ownership.held) == holder_a.ownership.count  # first one up takes all
    assert holder_b.ownership.held == frozenset()  # nothing is free yet

    fillers = [{"metric": f"filler_{n}", "labels": {}, "ts": START, "value": 1.0} for n in range(FILLERS)]
    await send(a, fillers)
    rng = random.Random(7)
    await send(a, latency(rng, range(1500), 120, 3))  # learned by A, the only holder
    async with a.app[STORE].engine.connect() as conn:
        series_id = int(
            await conn.scalar(select(metric_series.c.id).where(metric_series.c.metric == "latency_ms"))
        )
    partition = holder_a.ownership.partition_of(series_id)

    # B announced itself: A gives back half with what it learned, B takes it and catches up
    await holder_a.renew()
    await holder_a.given_back()  # in the background, so that renewals stay on time
    await holder_b.renew()
    await holder_b.drain()
    assert len(holder_a.ownership.held) == len(holder_b.ownership.held) == holder_a.ownership.count // 2
    assert not holder_a.ownership.held & holder_b.ownership.held
    assert partition in holder_b.ownership.held, "the fillers should have put the series in B's half"

    # the spike reaches A, which no longer detects this series: it waits for B
    before = {alert["id"] for alert in await alerts_named(a, "MetricAnomaly")}
    await send(a, latency(rng, range(1500, 1505), 900, 20))
    assert await points_waiting(a) == 5
    assert [x for x in await alerts_named(a, "MetricAnomaly") if x["id"] not in before] == []
    await holder_b.drain()
    # B's own drain loop runs meanwhile and may hold the spike's rows (the call above then skips
    # them and returns at once): its alert is raised once that drain's transaction commits
    raised: list[dict[str, Any]] = []
    for _ in range(100):
        raised = [x for x in await alerts_named(a, "MetricAnomaly") if x["id"] not in before]
        if raised:
            break
        await asyncio.sleep(0.05)
    # one alert: B flagged the spike from A's baseline (starting from nothing it would still be
    # warming up), and A did not flag it a second time
    assert len(raised) == 1
    assert float(raised[0]["annotations"]["expected_high"]) < 800

    # back to normal, through both replicas in turn: the episode ends once, on the holder
    for start in range(1505, 1625, 20):
        target = a if (start // 20) % 2 else b
        await send(target, latency(rng, range(start, start + 20), 120, 3))
        await holder_b.drain()
    settled = [x for x in await alerts_named(a, "MetricAnomaly") if x["id"] not in before]
    assert [x["status"] for x in settled] == ["resolved"]
    assert await points_waiting(a) == 0


async def test_a_replica_that_stops_gives_its_partitions_to_the_other(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock
) -> None:
    a = await make_client(settings, clock)
    b = await make_client(settings, clock)
    holder_b = b.app[DETECTOR_PARTITIONS]
    await a.close()  # gives everything back and withdraws
    await holder_b.renew()
    await holder_b.drain()
    assert len(holder_b.ownership.held) == holder_b.ownership.count
    await send(b, latency(random.Random(3), range(10), 120, 3))
    assert await points_waiting(b) == 0  # all detected inline, nothing handed over


async def test_a_slow_give_back_does_not_hold_up_the_lease_renewal(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock
) -> None:
    """Saving the state of the partitions a replica gives back takes seconds under load; renewals
    must not wait for it, or every lease lapses meanwhile and partitions change hands for nothing."""
    a = await make_client(settings, clock)
    await send(
        a, [{"metric": f"filler_{n}", "labels": {}, "ts": START, "value": 1.0} for n in range(FILLERS)]
    )
    await make_client(settings, clock)  # a second replica: A's share halves
    holder_a = a.app[DETECTOR_PARTITIONS]
    async with holder_a._saving:  # a periodic save in progress
        await asyncio.wait_for(holder_a.renew(), 5)
        assert len(holder_a.ownership.held) == holder_a.ownership.count // 2, "the excess stops at once"
        await asyncio.wait_for(holder_a.renew(), 5)  # and the next renewal is not held up either
    await asyncio.wait_for(holder_a.given_back(), 10)
    async with a.app[STORE].engine.connect() as conn:
        mine = await conn.scalar(
            select(func.count())
            .select_from(detector_partitions)
            .where(detector_partitions.c.owner == holder_a.replica)
        )
    assert mine == holder_a.ownership.count // 2
