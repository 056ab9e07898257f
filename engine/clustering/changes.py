"""Recent change events (deploys, config changes) by service, to relate alerts to what changed.

An alert on a service, or on anything depending on it, shortly after that service changed is
evidence the change caused it; alerts blamed on the same change belong together.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable

from engine.models import ChangeEvent


class ChangeLog:
    def __init__(self, window: float) -> None:
        self._window = window
        self._by_service: dict[str, list[tuple[float, int, ChangeEvent]]] = {}
        self._sequence = 0

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_service.values())

    def record(self, change: ChangeEvent) -> None:
        self._sequence += 1
        # Kept sorted by time: changes may be reported late, out of order.
        entries = self._by_service.setdefault(change.service, [])
        insort(entries, (change.at.timestamp(), self._sequence, change))

    def latest_before(self, services: Iterable[str], at: float) -> ChangeEvent | None:
        """The most recent change to any of `services` in the window before `at`."""
        best: tuple[float, int, ChangeEvent] | None = None
        for service in services:
            for entry in reversed(self._by_service.get(service, ())):
                if entry[0] > at:
                    continue
                if entry[0] >= at - self._window and (best is None or entry[:2] > best[:2]):
                    best = entry
                break
        return None if best is None else best[2]

    def forget_before(self, cutoff: float) -> None:
        """Drop changes too old to explain any alert arriving from now on."""
        for service in list(self._by_service):
            kept = [entry for entry in self._by_service[service] if entry[0] >= cutoff]
            if kept:
                self._by_service[service] = kept
            else:
                del self._by_service[service]
