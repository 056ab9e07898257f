"""Where the streaming detector runs: in this process, or in a worker process of its own.

Scoring points is about a third of a metrics request's CPU. In a worker it runs on another core
while the event loop goes on parsing and storing the next requests; in this process it holds the
loop (the work is numpy calls too small to release the GIL for long). Both hosts answer the same
calls. The watch sends batches one at a time, in order, under its lock, and awaits their answers
with the lock released, so a batch is sent while the one before it is scored.

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
from collections import deque
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
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

    async def submit(
        self, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
    ) -> Awaitable[list[AnomalyEvent]]:
        """`update`, in two steps: the points are sent now, in call order, and the episodes are
        awaited later — after the caller let go of its lock, so the next batch is sent meanwhile."""

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

    async def submit(
        self, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
    ) -> Awaitable[list[AnomalyEvent]]:
        answer: asyncio.Future[list[AnomalyEvent]] = asyncio.get_running_loop().create_future()
        answer.set_result(self.detector.update(slots, ts, values).events())
        return answer

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
    program, so the pipe carries nothing from outside.

    Calls are pipelined: each is written at once, in call order, and a reader task hands the answers,
    which come back in the same order, to their callers. A caller that gives up (cancelled) leaves
    the pipe in step: its answer is read and dropped."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self._worker: _Worker | None = None
        self._generation = 0
        self._lost = False  # the worker died with no answer due: the next call is told
        self._lock = asyncio.Lock()  # one worker started at a time

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def pid(self) -> int | None:
        return self._worker.process.pid if self._worker is not None else None

    async def update(
        self, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
    ) -> list[AnomalyEvent]:
        return await (await self.submit(slots, ts, values))

    async def submit(
        self, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
    ) -> Awaitable[list[AnomalyEvent]]:
        return await self._send("update", slots, ts, values)

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
            await _stop(worker.process)
            await worker.reader  # fails what was still due with DetectorLost

    async def _call(self, method: str, *args: Any) -> Any:
        return await (await self._send(method, *args))

    async def _send(self, method: str, *args: Any) -> asyncio.Future[Any]:
        """Write the call to the worker now; the returned future gets its answer."""
        frame = pickle.dumps((method, args), protocol=pickle.HIGHEST_PROTOCOL)
        async with self._lock:
            if self._lost:
                self._lost = False
                raise DetectorLost("the detector worker stopped")
            worker = self._worker or await self._start()
            answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            worker.due.append(answer)
            stdin = worker.process.stdin
            assert stdin is not None
            stdin.write(len(frame).to_bytes(FRAME_HEADER, "little") + frame)
        with contextlib.suppress(ConnectionError):
            # a worker gone meanwhile: its reader sees its output end and fails the answer
            await stdin.drain()
        return answer

    async def _start(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "engine.detector_worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        log.info("detector worker started", extra={"pid": process.pid})
        config = pickle.dumps(self.config, protocol=pickle.HIGHEST_PROTOCOL)
        assert process.stdin is not None
        process.stdin.write(len(config).to_bytes(FRAME_HEADER, "little") + config)
        worker = _Worker(process, deque())
        worker.reader = asyncio.create_task(self._read_answers(worker), name="detector-answers")
        self._worker = worker
        return worker

    async def _read_answers(self, worker: _Worker) -> None:
        """Hand each answer to its call, in order, until the worker's output ends."""
        stdout = worker.process.stdout
        assert stdout is not None
        try:
            while True:
                size = int.from_bytes(await stdout.readexactly(FRAME_HEADER), "little")
                # the worker is this program's own child, answering over a private pipe
                status, value = pickle.loads(await stdout.readexactly(size))  # noqa: S301
                answer = worker.due.popleft()
                if answer.cancelled():
                    continue
                if status == "error":
                    answer.set_exception(value)
                else:
                    answer.set_result(value)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the worker exited: closed by us, crashed or killed
        except Exception:
            log.exception("the detector worker's answer could not be read; stopping it")
            with contextlib.suppress(ProcessLookupError):
                worker.process.kill()
        lost = worker is self._worker  # not closed by us
        if lost:
            self._worker = None
            self._generation += 1
            # told to the call waiting for an answer, or else to the next call
            self._lost = not any(not answer.done() for answer in worker.due)
            await _stop(worker.process)
            log.error("detector worker stopped", extra={"exit_code": worker.process.returncode})
        for answer in worker.due:
            if not answer.done():
                answer.set_exception(
                    DetectorLost(f"the detector worker stopped (exit code {worker.process.returncode})")
                )
        worker.due.clear()


@dataclass
class _Worker:
    process: asyncio.subprocess.Process
    due: deque[asyncio.Future[Any]]  # answers not read yet, in call order
    reader: asyncio.Task[None] = field(init=False)


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
