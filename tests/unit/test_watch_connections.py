"""The metric watch takes a database connection only while it uses one: a batch waiting for the
detector's scores holds none, since those connections are what the points requests need."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from engine.detection.result import AnomalyEvent
from engine.detector_host import InProcessDetector
from engine.models import PointBatch, SeriesRef
from engine.storage.schema import metadata
from engine.watch import MetricWatch


class GatedDetector(InProcessDetector):
    """Scores at once, but hands the scores back only when the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def submit(
        self, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
    ) -> Awaitable[list[AnomalyEvent]]:
        events = self.detector.update(slots, ts, values).events()

        async def scored() -> list[AnomalyEvent]:
            await self.gate.wait()
            return events

        return asyncio.ensure_future(scored())


class CountingConnect:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.open = 0
        self.taken = 0

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            self.open += 1
            self.taken += 1
            try:
                yield conn
            finally:
                self.open -= 1


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'watch.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_a_batch_awaiting_its_scores_holds_no_connection(engine: AsyncEngine) -> None:
    detector = GatedDetector()
    watch = MetricWatch(detector=detector)
    connect = CountingConnect(engine)
    batch = PointBatch(
        series=(SeriesRef("latency_ms", {"service": "checkout"}),),
        series_index=[0, 0],
        ts=[1794355200.0, 1794355260.0],
        values=[120.0, 121.0],
    )
    sent = asyncio.Event()

    observing = asyncio.create_task(watch.observe(connect, batch, [7], sent=sent.set))
    await asyncio.wait_for(sent.wait(), timeout=5)
    await asyncio.sleep(0.05)
    assert not observing.done()  # still waiting for the detector's scores
    assert connect.taken == 1  # the series was new here: its saved state was looked for
    assert connect.open == 0

    detector.gate.set()
    assert await asyncio.wait_for(observing, timeout=5) == []
    assert connect.open == 0
    assert connect.taken == 1  # no episode ended: no firing alert to look up
