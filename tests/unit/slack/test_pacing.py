"""About one call a second per channel, in the order handed over; channels do not wait on each other."""

from __future__ import annotations

import asyncio

from bot.slack.pacing import ChannelPacer


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds
        await asyncio.sleep(0)


async def test_calls_to_one_channel_are_spaced_and_ordered() -> None:
    clock = ManualClock()
    pacer = ChannelPacer(1.0, clock=clock, sleep=clock.sleep)
    order: list[tuple[str, float]] = []

    async def call(name: str, channel: str) -> None:
        async with pacer.turn(channel):
            order.append((name, clock.now))

    await asyncio.gather(call("a1", "A"), call("a2", "A"), call("b1", "B"), call("a3", "A"))
    assert [name for name, _ in order if name.startswith("a")] == ["a1", "a2", "a3"]
    times = dict(order)
    assert times["a2"] - times["a1"] >= 1.0 and times["a3"] - times["a2"] >= 1.0
    assert [name for name, _ in order] == ["a1", "b1", "a2", "a3"]  # B went while A waited
    assert clock.slept == [1.0, 1.0]  # only A's second and third calls waited


async def test_no_wait_once_the_interval_has_passed() -> None:
    clock = ManualClock()
    pacer = ChannelPacer(1.0, clock=clock, sleep=clock.sleep)
    async with pacer.turn("A"):
        pass
    clock.now += 5
    async with pacer.turn("A"):
        pass
    assert clock.slept == []
