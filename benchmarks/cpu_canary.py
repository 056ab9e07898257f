"""How fast the machine's cores are while a benchmark runs, measured beside it.

A virtual machine's cores can slow down for reasons the guest does not see: another tenant on the
same physical core (simultaneous multithreading) or the host's frequency. On the 2-core VM of
session 11 a fixed piece of Python work took 4.8 ms of CPU time in some seconds and 8.0 ms in
others, on an idle machine, switching every few seconds; every process of a benchmark then needs
~1.6 times the CPU for the same work, and its latency figures say more about the neighbours than
about nocbot. The canary times the same work once a second in a process of its own, by CPU time
(so waiting for a core does not count, only how fast the core is once it has it), at the lowest
priority, costing ~0.5 % of a core.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType

WORK_ITERATIONS = 100_000
SLOW = 1.3  # a second is slow when the work took this many times the fastest time seen


def fixed_work() -> int:
    total = 0
    for i in range(WORK_ITERATIONS):
        total += i * i % 7
    return total


def _probe(sink: Connection, interval: float) -> None:
    if hasattr(os, "nice"):
        os.nice(19)
    while True:
        began = time.thread_time()
        fixed_work()
        sink.send((time.time(), (time.thread_time() - began) * 1000))
        if sink.poll(interval):
            break
    sink.close()


@dataclass(frozen=True)
class CoreSpeed:
    samples: Sequence[tuple[float, float]]  # (epoch seconds, CPU ms of the fixed work)

    def between(self, start: float, end: float) -> CoreSpeed:
        return CoreSpeed([s for s in self.samples if start <= s[0] < end])

    def describe(self) -> str:
        times = [ms for _, ms in self.samples]
        if not times:
            return ""
        fastest = min(times)
        slow = sum(ms >= SLOW * fastest for ms in times) / len(times)
        return (
            f"core speed (fixed work, CPU ms a second): fastest {fastest:.1f}, median "
            f"{statistics.median(times):.1f}, slowest {max(times):.1f}; {slow:.0%} of "
            f"{len(times)} seconds ≥ {SLOW}× the fastest"
        )


class CpuCanary:
    """`with CpuCanary() as canary: ...` then `canary.speed`."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.speed = CoreSpeed([])
        context = multiprocessing.get_context("spawn")  # not a fork of an event loop
        self._here, self._there = context.Pipe()
        self._process = context.Process(target=_probe, args=(self._there, interval), daemon=True)

    def __enter__(self) -> CpuCanary:
        self._process.start()
        self._there.close()  # the probe's end: closed here, so its exit is seen as the end
        # a new interpreter's start takes a core for ~0.2 s: over before the caller measures
        if not self._here.poll(30):
            raise RuntimeError("the CPU canary did not start")
        self._first = self._here.recv()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        samples: list[tuple[float, float]] = [self._first]
        try:
            self._here.send("stop")
            while True:
                samples.append(self._here.recv())
        except (EOFError, OSError):
            pass
        self._process.join(timeout=10)
        self.speed = CoreSpeed(samples)
