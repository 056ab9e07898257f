"""Work started after Slack has been answered: tracked, bounded, logged, and drained at shutdown.

Slack wants an answer within 3 seconds, so listeners acknowledge first and hand the real work here;
nothing is left running unowned (an exception is logged, never lost with its task).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("nocbot.slack")

DEFAULT_CONCURRENCY = 32


class BackgroundWork:
    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(self._run(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def drain(self, seconds: float) -> None:
        """Let running work finish for up to `seconds`, then cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if pending:
            log.warning("slack work cancelled at shutdown", extra={"tasks": len(pending)})

    async def _run(self, work: Coroutine[Any, Any, None], name: str) -> None:
        async with self._slots:
            try:
                await work
            except Exception:
                log.exception("slack work failed", extra={"work": name})
