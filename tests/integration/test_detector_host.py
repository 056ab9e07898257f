"""The detector in a worker process answers exactly as the one in this process, survives a caller
that gives up halfway, re-raises the detector's own errors, and is replaced when it dies."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import numpy as np
import pytest

from engine.detection.result import AnomalyEvent, EpisodeEvent
from engine.detector_host import DetectorHost, DetectorLost, DetectorProcess, InProcessDetector
from engine.detector_worker import WORKER_NICENESS

SERIES = 50
START = 1_794_355_200.0
Batch = tuple[np.ndarray, np.ndarray, np.ndarray]


def batches(steps: int, *, spike_at: int | None = None) -> list[Batch]:
    """One point per series per step; series 7 jumps tenfold for three steps from `spike_at`."""
    rng = np.random.default_rng(3)
    out = []
    for step in range(steps):
        slots = np.arange(SERIES, dtype=np.int64)
        ts = np.full(SERIES, START + step * 60.0)
        values = 100.0 + np.arange(SERIES) + rng.normal(0, 1, SERIES)
        if spike_at is not None and spike_at <= step < spike_at + 3:
            values[7] *= 10
        out.append((slots, ts, values))
    return out


async def feed(
    host: DetectorHost, data: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> list[AnomalyEvent]:
    events: list[AnomalyEvent] = []
    for slots, ts, values in data:
        events += await host.update(slots, ts, values)
    return events


@pytest.fixture
async def worker() -> AsyncIterator[DetectorProcess]:
    host = DetectorProcess()
    yield host
    await host.close()


def exited(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie (not reaped yet) counts as exited
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rpartition(")")[2].split()[0] == "Z"


async def test_the_worker_answers_as_the_detector_in_this_process(worker: DetectorProcess) -> None:
    here = InProcessDetector()
    data = batches(400, spike_at=300)
    for host in (here, worker):
        await host.reserve(SERIES)
    found_here, found_there = await feed(here, data), await feed(worker, data)
    kinds = [(e.kind, e.slot) for e in found_here]
    assert (EpisodeEvent.STARTED, 7) in kinds and (EpisodeEvent.ENDED, 7) in kinds
    assert found_there == found_here
    slots = list(range(SERIES))
    saved = await here.series_states(slots)
    assert await worker.series_states(slots) == saved
    # a state saved from one loads into the other and both go on identically
    other = DetectorProcess()
    try:
        decoded = {slot: here.detector.decode_series(blob) for slot, blob in enumerate(saved)}
        await other.put_series(decoded)
        later = batches(430, spike_at=410)[400:]
        assert await feed(other, later) == await feed(here, later)
    finally:
        await other.close()


async def test_reset_forgets_a_series_in_the_worker(worker: DetectorProcess) -> None:
    here = InProcessDetector()
    data = batches(50)
    await feed(here, data)
    await feed(worker, data)
    learned = await worker.series_states([3, 4])
    await here.reset([3])
    await worker.reset([3])
    forgotten = await worker.series_states([3, 4])
    assert forgotten == await here.series_states([3, 4])
    assert forgotten[0] != learned[0] and forgotten[1] == learned[1]


async def test_an_error_in_the_detector_is_raised_here_and_the_worker_goes_on(
    worker: DetectorProcess,
) -> None:
    await worker.update(*batches(1)[0])
    pid = worker.pid
    with pytest.raises(ValueError, match="same length"):
        await worker.update(np.arange(3), np.zeros(2), np.zeros(3))
    await worker.update(*batches(2)[1])
    assert worker.pid == pid and worker.generation == 0


async def test_a_caller_cancelled_halfway_leaves_the_pipe_in_step(worker: DetectorProcess) -> None:
    here = InProcessDetector()
    data = batches(300, spike_at=250)
    await feed(here, data[:200])
    await feed(worker, data[:199])
    call = asyncio.ensure_future(worker.update(*data[199]))
    # cancel once the batch is written and its answer awaited: the answer still comes, and must be
    # read and dropped rather than handed to the next call
    for _ in range(3):
        await asyncio.sleep(0)
    assert not call.done()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    # the cancelled batch was still learned, and each next answer is its own batch's (compared batch
    # by batch: an answer one call late would shift the spike's episode to the following batch)
    answers = [await worker.update(*batch) for batch in data[200:]]
    expected = [await here.update(*batch) for batch in data[200:]]
    assert any(expected) and answers == expected
    assert worker.generation == 0


async def test_batches_sent_before_any_answer_is_awaited_get_their_own_answers(
    worker: DetectorProcess,
) -> None:
    here = InProcessDetector()
    data = batches(260, spike_at=250)
    await feed(here, data[:240])
    await feed(worker, data[:240])
    expected = [await here.update(*batch) for batch in data[240:]]
    # all sent first, as watch requests do while earlier ones are scored; awaited last first
    answers = [await worker.submit(*batch) for batch in data[240:]]
    got = [await answer for answer in reversed(answers)][::-1]
    assert any(expected) and got == expected


async def test_a_killed_worker_raises_once_then_a_blank_one_takes_over(worker: DetectorProcess) -> None:
    await feed(worker, batches(100))
    learned = await worker.series_states([0])
    pid = worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(DetectorLost):
        await worker.update(*batches(101)[100])
    assert worker.generation == 1
    assert worker.pid is None and exited(pid)
    # the next call starts a new worker, which knows nothing of what the old one learned
    assert await worker.series_states([0]) != learned
    assert await worker.series_states([0]) == await InProcessDetector().series_states([0])
    assert worker.pid not in (None, pid)


async def test_the_worker_ignores_interrupts_and_exits_when_closed(worker: DetectorProcess) -> None:
    await worker.reserve(1)
    pid = worker.pid
    assert pid is not None
    # Ctrl-C reaches the whole process group: the service still needs the worker to save its state
    os.kill(pid, signal.SIGINT)
    os.kill(pid, signal.SIGTERM)
    await asyncio.sleep(0.2)
    await worker.update(*batches(1)[0])
    assert worker.pid == pid
    await worker.close()
    assert exited(pid)


async def test_the_worker_yields_the_cores_to_the_requests(worker: DetectorProcess) -> None:
    await feed(worker, batches(1))
    pid = worker.pid
    assert pid is not None
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(ours + WORKER_NICENESS, 19)
