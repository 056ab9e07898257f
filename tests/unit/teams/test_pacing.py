"""Teams' per-conversation limits: every window respected, 429 holds honoured, long waits handed back."""

from __future__ import annotations

import pytest

from bot.teams.pacing import ConversationPacer, PacingBusy, Window


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def calls(pacer: ConversationPacer, conversation: str, count: int) -> None:
    for _ in range(count):
        async with pacer.turn(conversation):
            pass


async def test_seven_a_second_then_the_eighth_waits() -> None:
    clock = Clock()
    pacer = ConversationPacer(clock=clock, sleep=clock.sleep)
    await calls(pacer, "c", 7)
    assert clock.slept == []
    await calls(pacer, "c", 1)
    assert clock.slept == [pytest.approx(1.0)]
    await calls(pacer, "c", 1)  # 8 in 2 s: the ninth waits for the first to leave that window
    assert sum(clock.slept) == pytest.approx(2.0)


async def test_conversations_are_paced_apart() -> None:
    clock = Clock()
    pacer = ConversationPacer(clock=clock, sleep=clock.sleep)
    await calls(pacer, "a", 7)
    await calls(pacer, "b", 7)
    assert clock.slept == []


async def test_the_hourly_budget_is_handed_back_not_slept_through() -> None:
    clock = Clock()
    pacer = ConversationPacer([Window(3600, 3)], clock=clock, sleep=clock.sleep, max_wait=10)
    await calls(pacer, "c", 3)
    clock.now += 600
    with pytest.raises(PacingBusy) as busy:
        await calls(pacer, "c", 1)
    assert busy.value.seconds == pytest.approx(3000)
    clock.now += 3000
    await calls(pacer, "c", 1)


async def test_a_429_holds_the_conversation() -> None:
    clock = Clock()
    pacer = ConversationPacer(clock=clock, sleep=clock.sleep, max_wait=10)
    pacer.hold("c", 4)
    await calls(pacer, "c", 1)
    assert clock.slept == [pytest.approx(4)]
    pacer.hold("c", 30)
    with pytest.raises(PacingBusy):
        await calls(pacer, "c", 1)
    assert pacer.wait("d") == 0
