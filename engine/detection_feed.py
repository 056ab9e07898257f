"""Detection after the answer: a points request is answered once its points are stored, and their
detection follows in the background, batch after batch in the order they were stored.

Detecting inside the request made every points request wait for the detector's round trip (8–10 ms
of a 2,000-point batch, more when the detector worker was busy), and kept its transaction open that
long. The feed bounds what waits: past `DETECTION_BACKLOG` batches stored and not yet detected, the
next points request waits for room, so a detector that falls behind slows ingestion down instead of
growing memory.

Each batch takes a connection only while it uses one (handing over the points of series another
replica detects, reading saved baselines, finding the alerts its ended episodes resolve), never while
the detector scores it: batches waiting on a busy detector would otherwise hold the connections the
points requests need (seen: 19 of the pool's 20 taken). Batches are sent to the detector one after
the other, in the order they were put, and several are scored at once: batch n + 1 is sent as soon
as batch n is in the detector's queue, without waiting for its scores. A batch whose detection
fails (the database away at that moment) is logged and counted; its points stay stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from engine.models import Alert, PointBatch
from engine.watch import Connect

log = logging.getLogger("nocbot.detection")

DETECTION_BACKLOG = 32  # point batches stored and not yet detected, per process

DetectionListener = Callable[["Detected"], None]


class Watch(Protocol):
    """What detects the points (`engine.watch.MetricWatch`)."""

    async def observe(
        self, connect: Connect, batch: PointBatch, series_ids: list[int], *, sent: Callable[[], None]
    ) -> list[Alert]: ...


@dataclass(frozen=True, slots=True)
class Detected:
    points: int
    lag: float  # seconds from the batch being put to its alerts being raised
    raised: int  # alerts raised or resolved by it
    failed: bool


class DetectionFeed:
    def __init__(
        self,
        engine: AsyncEngine,
        watch: Watch,
        raise_alerts: Callable[[Sequence[Alert]], Awaitable[object]],
        *,
        backlog: int = DETECTION_BACKLOG,
    ) -> None:
        self._engine = engine
        self._watch = watch
        self._raise = raise_alerts
        self._room = asyncio.Semaphore(backlog)
        self._pending: set[asyncio.Task[None]] = set()
        self._last_sent: asyncio.Event | None = None  # set once the batch put last is sent
        self._listeners: list[DetectionListener] = []

    def subscribe(self, listener: DetectionListener) -> None:
        """Be told of each batch detected (or failed): for the service's own metrics."""
        self._listeners.append(listener)

    @property
    def backlog(self) -> int:
        return len(self._pending)

    async def put(self, batch: PointBatch, series_ids: list[int]) -> None:
        """Queue stored points for detection; waits while the backlog is full."""
        await self._room.acquire()
        # no await from here on: batches are chained in the order they got room
        previous, sent = self._last_sent, asyncio.Event()
        self._last_sent = sent
        task = asyncio.create_task(self._detect(batch, series_ids, previous, sent, time.monotonic()))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settled(self) -> None:
        """Wait until every batch put so far is detected (shutdown, tests)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def _detect(
        self,
        batch: PointBatch,
        series_ids: list[int],
        previous: asyncio.Event | None,
        sent: asyncio.Event,
        put_at: float,
    ) -> None:
        raised: list[Alert] = []
        failed = False
        try:
            if previous is not None:
                await previous.wait()
            raised = await self._watch.observe(self._engine.begin, batch, series_ids, sent=sent.set)
            if raised:
                await self._raise(raised)
        except Exception:
            failed = True
            log.exception("detecting a point batch failed", extra={"points": len(batch)})
        finally:
            sent.set()  # a failure must not hold up the batches after it
            self._room.release()
        outcome = Detected(len(batch), time.monotonic() - put_at, len(raised), failed)
        for listener in self._listeners:
            listener(outcome)
