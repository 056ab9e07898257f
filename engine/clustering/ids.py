"""Incident ids: the engine asks an allocator, so that the service can hand out database ids."""

from __future__ import annotations

from typing import Protocol


class IncidentIdAllocator(Protocol):
    def allocate(self) -> int:
        """A fresh id, never handed out before."""
        ...

    def reserve(self, incident_id: int) -> None:
        """`incident_id` exists already (restored on startup): never hand it out."""
        ...


class SequentialIds:
    """In-memory allocator for replays and tests: 1, 2, 3, ... skipping reserved ids."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def allocate(self) -> int:
        allocated = self._next
        self._next += 1
        return allocated

    def reserve(self, incident_id: int) -> None:
        self._next = max(self._next, incident_id + 1)
