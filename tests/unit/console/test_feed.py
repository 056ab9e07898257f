"""EventFeed: fan-out, slow subscribers dropped without blocking, resume from the ring buffer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.feed import FEED_RESET, EventFeed
from engine.clock import FixedClock


def feed(**kwargs: int) -> EventFeed:
    return EventFeed(FixedClock(datetime(2026, 11, 11, 12, 0, tzinfo=UTC)), **kwargs)


async def test_every_subscriber_gets_every_event_in_order() -> None:
    events = feed()
    one, two = events.subscribe(), events.subscribe()
    sent = [events.publish("incident.opened", {"incident_id": n}) for n in range(3)]
    for subscription in (one, two):
        got = [await subscription.next(within=1) for _ in range(3)]
        assert got == sent
    body = json.loads(sent[0].json)
    assert body == {
        "incident_id": 0,
        "id": sent[0].id,
        "type": "incident.opened",
        "at": "2026-11-11T12:00:00+00:00",
    }


async def test_a_slow_subscriber_is_dropped_and_publishing_never_waits() -> None:
    events = feed(queue_size=2)
    slow, fast = events.subscribe(), events.subscribe()
    for n in range(2):
        events.publish("playbook.step", {"n": n})
        assert (await fast.next(within=1)) is not None
    events.publish("playbook.step", {"n": 2})  # the slow one's queue was full: it is cut off
    assert slow.dropped and slow.closed and events.subscribers == 1 and events.dropped_total == 1
    assert await slow.next(within=1) is None
    assert (await fast.next(within=1)) is not None


async def test_next_times_out_without_ending() -> None:
    subscription = feed().subscribe()
    assert await subscription.next(within=0.01) is None
    assert not subscription.closed


async def test_resume_replays_what_came_after_the_last_seen_event() -> None:
    events = feed(ring_size=3)
    sent = [events.publish("incident.grew", {"incident_id": n}) for n in range(5)]
    resumed = events.subscribe(sent[2].id)
    assert [await resumed.next(within=1) for _ in range(2)] == sent[3:]
    latest = events.subscribe(sent[-1].id)
    assert await latest.next(within=0.01) is None and not latest.closed


@pytest.mark.parametrize("last", ["other-3", "garbage", "STREAM-0"])
async def test_an_impossible_resume_is_told_to_reset(last: str) -> None:
    events = feed(ring_size=3)
    for n in range(5):
        events.publish("incident.grew", {"incident_id": n})
    subscription = events.subscribe(last.replace("STREAM", events.stream))  # seq 0 fell off the ring
    first = await subscription.next(within=1)
    assert first is not None and first.type == FEED_RESET
    events.publish("incident.grew", {"incident_id": 9})
    after = await subscription.next(within=1)
    assert after is not None and after.data == {"incident_id": 9}


def test_bad_events_are_refused_and_numbering_stays_dense() -> None:
    events = feed()
    for type_, data in [
        ("Incident Opened", {}),
        ("incident", {}),
        ("incident.opened", {"incident_id": "7"}),
        ("incident.opened", {"x": object()}),
        ("incident.opened", {"x": float("nan")}),
        ("incident.opened", {"x": "y" * 70_000}),
    ]:
        with pytest.raises(ValueError):
            events.publish(type_, data)
    assert events.publish("incident.opened").id == f"{events.stream}-1"


async def test_close_ends_every_subscription() -> None:
    events = feed()
    subscription = events.subscribe()
    events.publish("incident.opened")
    events.close()
    assert events.subscribers == 0 and subscription.closed
    queued = await subscription.next(within=1)  # what was already queued still goes out
    assert queued is not None and queued.type == "incident.opened"
    assert await subscription.next(within=1) is None
    events.publish("incident.opened")
    assert await subscription.next(within=1) is None
