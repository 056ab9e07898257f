"""Where the streaming detector runs: in this process, or in a worker process of its own.

Scoring points is about a third of a metrics request's CPU. In a worker it runs on another core
while the event loop goes on parsing and storing the next requests; in this process it holds the
loop (the work is numpy calls too small to release the GIL for long). Both hosts answer the same
calls, and the watch makes them one at a time.

A worker that dies (crashed, killed by the OOM killer) takes what it learned since the last save
with it: the call in flight raises `DetectorLost`, `generation` moves on, and the next call starts a
new worker, into which the watch reloads saved states as series come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import sys
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from engine.detection.config import DetectorConfig
from engine.detection.detector import StreamingDetector, encode_series_rows
from engine.detection.result import AnomalyEvent

log = logging.getLogger(__name__)

SeriesArrays = dict[str, npt.NDArray[Any]]
FRAME_HEADER = 8  # little-endian length of the pickled message that follows
STOP_SECONDS = 5.0  # a worker told to stop (its input closed) exits at once; past this it is killed


class DetectorLost(RuntimeError):
    """The detector worker stopped; what it learned since the last save is gone with it."""


class DetectorHost(Protocol):
    config: DetectorConfig

    @property
    def generation(self) -> int:
        """Moves on each time the detector's memory is lost (slots learned before are blank)."""

    async def update(
        self, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
    ) -> list[AnomalyEvent]:
        """Score and learn the points; the episodes they start or end (only those cross the pipe)."""

    async def reserve(self, capacity: int) -> None: ...

    async def reset(self, slots: Sequence[int]) -> None: ...

    async def put_series(self, states: Mapping[int, SeriesArrays]) -> None:
        """Load saved states, by slot."""

    async def series_states(self, slots: Sequence[int]) -> list[bytes]:
        """The saved form of these series' states (`state_codec` blobs), in `slots` order."""

    async def close(self) -> None: ...


class InProcessDetector:
    """The detector in this process (`NOCBOT_DETECTOR_PROCESS=false`, for one-core machines; and a
    MetricWatch built without a host, as some tests do)."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.detector = StreamingDetector(config)
        self.config = self.detector.config

    @property
    def generation(self) -> int:
        return 0

    async def update(
        self, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
    ) -> list[AnomalyEvent]:
        return self.detector.update(slots, ts, values).events()

    async def reserve(self, capacity: int) -> None:
        self.detector.reserve(capacity)

    async def reset(self, slots: Sequence[int]) -> None:
        self.detector.reset(slots)

    async def put_series(self, states: Mapping[int, SeriesArrays]) -> None:
        put_states(self.detector, states)

    async def series_states(self, slots: Sequence[int]) -> list[bytes]:
        # copied at once (quick), encoded in a thread: updates of this loop go on meanwhile
        snapshots = self.detector.series_snapshots(slots)
        return await asyncio.to_thread(encode_series_rows, snapshots, self.config)

    async def close(self) -> None:
        return None


class DetectorProcess:
    """The detector in a worker process (`python -m engine.detector_worker`), started at the first
    call. Calls go over its standard input and output as length-prefixed pickles: both ends are this
    program, so the pipe carries nothing from outside."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self._worker: asyncio.subprocess.Process | None = None
        self._generation = 0
        self._lock = asyncio.Lock()

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def pid(self) -> int | None:
        return self._worker.pid if self._worker is not None else None

    async def update(
        self, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
    ) -> list[AnomalyEvent]:
        events: list[AnomalyEvent] = await self._call("update", slots, ts, values)
        return events

    async def reserve(self, capacity: int) -> None:
        await self._call("reserve", capacity)

    async def reset(self, slots: Sequence[int]) -> None:
        await self._call("reset", list(slots))

    async def put_series(self, states: Mapping[int, SeriesArrays]) -> None:
        if states:
            await self._call("put_series", dict(states))

    async def series_states(self, slots: Sequence[int]) -> list[bytes]:
        states: list[bytes] = await self._call("series_states", list(slots))
        return states

    async def close(self) -> None:
        async with self._lock:
            worker, self._worker = self._worker, None
            if worker is not None:
                await _stop(worker)

    async def _call(self, method: str, *args: Any) -> Any:
        frame = pickle.dumps((method, args), protocol=pickle.HIGHEST_PROTOCOL)
        # shielded: a caller cancelled halfway through would leave the pipe out of step with the
        # worker; the exchange finishes (and the lock is released) even if nobody waits for it
        status, value = await asyncio.shield(self._exchange(frame))
        if status == "error":
            raise value
        return value

    async def _exchange(self, frame: bytes) -> tuple[str, Any]:
        async with self._lock:
            worker = self._worker or await self._start()
            assert worker.stdin is not None and worker.stdout is not None
            try:
                worker.stdin.write(len(frame).to_bytes(FRAME_HEADER, "little") + frame)
                await worker.stdin.drain()
                size = int.from_bytes(await worker.stdout.readexactly(FRAME_HEADER), "little")
                # the worker is this program's own child, answering over a private pipe
                answer: tuple[str, Any] = pickle.loads(await worker.stdout.readexactly(size))  # noqa: S301
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self._worker = None
                self._generation += 1
                await _stop(worker)
                log.error("detector worker stopped", extra={"exit_code": worker.returncode})
                raise DetectorLost(f"the detector worker stopped (exit code {worker.returncode})") from exc
            return answer

    async def _start(self) -> asyncio.subprocess.Process:
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "engine.detector_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._worker = worker
        log.info("detector worker started", extra={"pid": worker.pid})
        config = pickle.dumps(self.config, protocol=pickle.HIGHEST_PROTOCOL)
        assert worker.stdin is not None
        worker.stdin.write(len(config).to_bytes(FRAME_HEADER, "little") + config)
        return worker


def put_states(detector: StreamingDetector, states: Mapping[int, SeriesArrays]) -> None:
    if states:
        detector.reserve(max(states) + 1)
    for slot, arrays in states.items():
        detector.put_series(slot, arrays)


async def _stop(worker: asyncio.subprocess.Process) -> None:
    """Close the worker's input (it exits on end of input) and reap it, killing it if it lingers."""
    if worker.stdin is not None:
        worker.stdin.close()
        with contextlib.suppress(ConnectionError):
            await worker.stdin.wait_closed()
    try:
        await asyncio.wait_for(worker.wait(), STOP_SECONDS)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            worker.kill()
        await worker.wait()
