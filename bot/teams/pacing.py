"""Per-conversation pacing for Teams: its documented limits per bot and conversation are 7 calls a
second, 8 in 2 s, 60 in 30 s and 1,800 an hour.

A conversation's calls take turns in arrival order (asyncio.Lock is first come, first served), so
cards and replies reach a channel in the order they were handed over; other conversations are not
held up. A short wait is slept through; a longer one (the hourly budget spent, or Teams said 429)
raises `PacingBusy` so that the outbox puts the item back instead of holding a worker for an hour.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

DEFAULT_MAX_WAIT = 10.0


@dataclass(frozen=True, slots=True)
class Window:
    seconds: float
    calls: int


TEAMS_WINDOWS: tuple[Window, ...] = (Window(1, 7), Window(2, 8), Window(30, 60), Window(3600, 1800))


class PacingBusy(Exception):
    def __init__(self, conversation: str, seconds: float) -> None:
        super().__init__(f"conversation busy for {seconds:.1f}s (Teams' rate limits)")
        self.conversation = conversation
        self.seconds = seconds


class ConversationPacer:
    def __init__(
        self,
        windows: Sequence[Window] = TEAMS_WINDOWS,
        *,
        max_wait: float = DEFAULT_MAX_WAIT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.windows = tuple(windows)
        self.max_wait = max_wait
        self._longest = max((w.seconds for w in self.windows), default=0.0)
        self._clock = clock
        self._sleep = sleep
        self._turns: dict[str, asyncio.Lock] = {}
        self._calls: dict[str, list[float]] = {}
        self._held_until: dict[str, float] = {}

    @asynccontextmanager
    async def turn(self, conversation: str) -> AsyncIterator[None]:
        """Wait for `conversation`'s turn and for room in every window; the call counts from here."""
        lock = self._turns.setdefault(conversation, asyncio.Lock())
        async with lock:
            wait = self.wait(conversation)
            if wait > self.max_wait:
                raise PacingBusy(conversation, wait)
            if wait > 0:
                await self._sleep(wait)
            self._calls.setdefault(conversation, []).append(self._clock())
            yield

    def hold(self, conversation: str, seconds: float) -> None:
        """Teams said 429: make no call to `conversation` for `seconds`."""
        until = self._clock() + seconds
        self._held_until[conversation] = max(until, self._held_until.get(conversation, 0.0))

    def wait(self, conversation: str) -> float:
        """Seconds until a call to `conversation` fits in every window."""
        now = self._clock()
        calls = self._calls.get(conversation, [])
        del calls[: bisect.bisect_right(calls, now - self._longest)]  # older than any window
        wait = self._held_until.get(conversation, now) - now
        for window in self.windows:
            recent = calls[bisect.bisect_right(calls, now - window.seconds) :]
            if len(recent) >= window.calls:
                # the call that must leave the window before one more fits
                wait = max(wait, recent[len(recent) - window.calls] + window.seconds - now)
        return max(0.0, wait)
