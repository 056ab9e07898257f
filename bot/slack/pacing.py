"""Per-channel pacing: Slack takes about one message a second per channel, bursts not guaranteed.

A channel's calls also take turns in arrival order (asyncio.Lock is first come, first served), so
messages for one channel reach it in the order they were handed over, retries included; other
channels are not held up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

DEFAULT_INTERVAL = 1.0


class ChannelPacer:
    def __init__(
        self,
        interval: float = DEFAULT_INTERVAL,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._turns: dict[str, asyncio.Lock] = {}
        self._last_call: dict[str, float] = {}

    @asynccontextmanager
    async def turn(self, channel: str) -> AsyncIterator[None]:
        """Wait for `channel`'s turn and for `interval` since its last call ended."""
        lock = self._turns.setdefault(channel, asyncio.Lock())
        async with lock:
            last = self._last_call.get(channel)
            if last is not None:
                wait = last + self.interval - self._clock()
                if wait > 0:
                    await self._sleep(wait)
            try:
                yield
            finally:
                self._last_call[channel] = self._clock()
