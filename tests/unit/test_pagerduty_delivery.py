"""The Events API deliverer against a fake PagerDuty on loopback: answers, faults and pacing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from engine.outbox import RetryLater, Undeliverable
from engine.storage.outbox_rows import OutboxItem
from integrations.pagerduty_delivery import KeyPacer, PagerDutyDeliverer, PagerDutyUnavailable
from tests.fakes.pagerduty_events import FakePagerDuty

KEY = "k" * 32


def item(event: dict[str, Any]) -> OutboxItem:
    return OutboxItem(
        id=1,
        destination="pagerduty",
        kind=event["event_action"],
        key=f"pagerduty:{event['event_action']}:d",
        incident_id=1,
        payload=event,
        attempts=1,
        created_at=datetime(2026, 11, 11, tzinfo=UTC),
    )


def resolve(routing_key: str = KEY) -> OutboxItem:
    return item({"routing_key": routing_key, "event_action": "resolve", "dedup_key": "nocbot-incident-1-1"})


@pytest.fixture
async def fake() -> AsyncIterator[FakePagerDuty]:
    async with FakePagerDuty() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_accepted_event_is_delivered(fake: FakePagerDuty, session: aiohttp.ClientSession) -> None:
    await PagerDutyDeliverer(session, fake.url).deliver(resolve())
    assert fake.actions() == [("resolve", "nocbot-incident-1-1")]


async def test_429_waits_as_told_and_holds_the_key(
    fake: FakePagerDuty, session: aiohttp.ClientSession
) -> None:
    moment = [100.0]
    deliverer = PagerDutyDeliverer(session, fake.url, pacer=KeyPacer(now=lambda: moment[0]))
    fake.fail(429, retry_after="7")
    with pytest.raises(RetryLater) as caught:
        await deliverer.deliver(resolve())
    assert caught.value.seconds == 7
    # other events of the same key wait too, without asking PagerDuty
    with pytest.raises(RetryLater):
        await deliverer.deliver(resolve())
    assert len(fake.requests) == 1
    moment[0] += 7
    await deliverer.deliver(resolve())
    assert fake.actions() == [("resolve", "nocbot-incident-1-1")]


async def test_429_without_retry_after_still_waits(
    fake: FakePagerDuty, session: aiohttp.ClientSession
) -> None:
    fake.fail(429)
    with pytest.raises(RetryLater) as caught:
        await PagerDutyDeliverer(session, fake.url).deliver(resolve())
    assert caught.value.seconds > 0


async def test_5xx_is_transient_and_400_is_for_good(
    fake: FakePagerDuty, session: aiohttp.ClientSession
) -> None:
    deliverer = PagerDutyDeliverer(session, fake.url)
    fake.fail(503)
    with pytest.raises(PagerDutyUnavailable):
        await deliverer.deliver(resolve())
    with pytest.raises(Undeliverable, match="routing_key"):
        await deliverer.deliver(resolve(routing_key="not-a-key"))
    assert fake.events == []


async def test_unreachable_is_transient(session: aiohttp.ClientSession) -> None:
    async with FakePagerDuty() as gone:
        url = gone.url
    with pytest.raises(PagerDutyUnavailable):
        await PagerDutyDeliverer(session, url, timeout=2).deliver(resolve())


def test_pacer_allows_a_burst_then_the_rate_per_key() -> None:
    moment = [0.0]
    pacer = KeyPacer(per_minute=60, burst=3, now=lambda: moment[0])
    assert [pacer.take("a") for _ in range(3)] == [0, 0, 0]
    assert pacer.take("a") == pytest.approx(1.0)
    assert pacer.take("b") == 0  # keys are paced apart
    moment[0] += 1.0
    assert pacer.take("a") == 0
    assert pacer.take("a") > 0


def test_pacer_stays_under_pagerdutys_limit_over_any_minute() -> None:
    moment = [0.0]
    pacer = KeyPacer(now=lambda: moment[0])
    sent: list[float] = []
    while moment[0] < 300:
        if pacer.take("k") == 0:
            sent.append(moment[0])
        moment[0] += 0.05
    windows = [sum(1 for t in sent if start <= t < start + 60) for start in range(0, 240, 5)]
    assert max(windows) < 120
    assert min(windows) >= 80  # and does not starve either
