"""A min-heap of (deadline, item) with lazy cancellation, for the engine's timed work.

Closing quiet incidents, sealing incidents whose window passed, expiring stale alerts and evicting
old state all wait for the clock. Entries are not removed when plans change; the consumer re-checks
each popped item against current state and re-schedules it if needed, which keeps every operation
O(log n).
"""

from __future__ import annotations

import heapq
import itertools
from typing import Generic, TypeVar

T = TypeVar("T")


class DeadlineQueue(Generic[T]):
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._order = itertools.count()  # ties pop in insertion order; items need not be comparable

    def __len__(self) -> int:
        return len(self._heap)

    @property
    def next_deadline(self) -> float:
        return self._heap[0][0] if self._heap else float("inf")

    def push(self, deadline: float, item: T) -> None:
        heapq.heappush(self._heap, (deadline, next(self._order), item))

    def pop_due(self, now: float) -> list[tuple[float, T]]:
        due: list[tuple[float, T]] = []
        while self._heap and self._heap[0][0] <= now:
            deadline, _, item = heapq.heappop(self._heap)
            due.append((deadline, item))
        return due
