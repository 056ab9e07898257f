"""The detector worker process (`engine.detector_host.DetectorProcess` starts it): reads the detector
configuration, then calls, from standard input, and answers each on standard output, until its
input ends. Interrupts are ignored: on Ctrl-C or a SIGTERM sent to the whole process group, the
service still asks for the state to save before it closes the pipe."""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from engine.detection.detector import StreamingDetector, encode_series_rows
from engine.detector_host import FRAME_HEADER, put_states

# Scoring runs after the points request is answered, so the worker yields the cores to the web server
# and PostgreSQL, which a request waits for: at 100,000 points/s on 2 cores, competing with them on
# equal terms doubled the requests' p99 (README, Performance). A worker that falls behind makes the
# points requests wait for room in the detection backlog, so it is slowed, never starved.
WORKER_NICENESS = 10


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    config = _read(source)
    if config is None:
        return
    detector = StreamingDetector(config)
    calls: dict[str, Callable[..., Any]] = {
        "update": lambda slots, ts, values: detector.update(slots, ts, values).events(),
        "reserve": detector.reserve,
        "reset": detector.reset,
        "put_series": lambda states: put_states(detector, states),
        "series_states": lambda slots: encode_series_rows(detector.series_snapshots(slots), config),
    }
    while (message := _read(source)) is not None:
        method, args = message
        try:
            answer: tuple[str, Any] = ("ok", calls[method](*args))
        except Exception as exc:  # the caller re-raises it; the worker's state is as the call left it
            answer = ("error", exc)
        try:
            frame = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an error that cannot be pickled still reaches the caller
            frame = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        sink.write(len(frame).to_bytes(FRAME_HEADER, "little"))
        sink.write(frame)
        sink.flush()


def _read(source: BinaryIO) -> Any:
    header = source.read(FRAME_HEADER)
    if len(header) < FRAME_HEADER:
        return None
    size = int.from_bytes(header, "little")
    body = source.read(size)
    if len(body) < size:
        return None
    return pickle.loads(body)  # noqa: S301 - from the parent service, over a private pipe


def main() -> None:
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    serve(source, sink)


if __name__ == "__main__":
    main()
