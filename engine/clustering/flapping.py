"""Flap detection per fingerprint, with hysteresis.

A fingerprint that changes state (fires, resolves, fires again, ...) `threshold` times within
`window` is flapping: its firings stop producing notifications. It stays flapping until it has been
stable, with no state change, for `hysteresis`, so that a pause between two bursts does not page
again. The total number of changes is kept after flapping stops: a fingerprint with a history of
flapping is worth knowing about.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FlapStatus:
    flapping: bool
    changes_in_window: int
    total_changes: int


@dataclass(slots=True)
class _History:
    last_change: float
    changes: deque[float] = field(default_factory=deque)
    total: int = 0
    flapping: bool = False


class FlapTracker:
    def __init__(self, *, threshold: int, window: float, hysteresis: float, memory: float) -> None:
        if threshold < 2:
            raise ValueError("flap threshold must be at least 2 state changes")
        self._threshold = threshold
        self._window = window
        self._hysteresis = hysteresis
        self._memory = memory
        # Ordered by last change, oldest first, so that forgetting idle fingerprints is cheap.
        self._histories: OrderedDict[str, _History] = OrderedDict()

    def __len__(self) -> int:
        return len(self._histories)

    def record(self, fingerprint: str, at: float) -> FlapStatus:
        """The fingerprint changed state (a new firing, or a resolution) at `at`."""
        history = self._histories.get(fingerprint)
        if history is None:
            history = _History(last_change=at)
            self._histories[fingerprint] = history
        else:
            self._settle(history, at)
            self._histories.move_to_end(fingerprint)
        history.last_change = max(history.last_change, at)
        history.changes.append(at)
        history.total += 1
        while history.changes and history.changes[0] < at - self._window:
            history.changes.popleft()
        if len(history.changes) >= self._threshold:
            history.flapping = True
        return FlapStatus(history.flapping, len(history.changes), history.total)

    def status(self, fingerprint: str, now: float) -> FlapStatus:
        history = self._histories.get(fingerprint)
        if history is None:
            return FlapStatus(False, 0, 0)
        self._settle(history, now)
        return FlapStatus(history.flapping, len(history.changes), history.total)

    def flapping_now(self, fingerprint: str, now: float) -> tuple[bool, int]:
        """(flapping, total changes): `status` without building a record, for every delivery."""
        history = self._histories.get(fingerprint)
        if history is None:
            return False, 0
        self._settle(history, now)
        return history.flapping, history.total

    def stable_at(self, fingerprint: str) -> float | None:
        """When a flapping fingerprint stops flapping if it does not change again; None if not flapping."""
        history = self._histories.get(fingerprint)
        if history is None or not history.flapping:
            return None
        return history.last_change + self._hysteresis

    def forget_idle(self, now: float) -> int:
        """Drop fingerprints idle for longer than `memory`; returns how many were dropped."""
        dropped = 0
        while self._histories:
            fingerprint, history = next(iter(self._histories.items()))
            if history.last_change >= now - self._memory:
                break
            del self._histories[fingerprint]
            dropped += 1
        return dropped

    def _settle(self, history: _History, now: float) -> None:
        if history.flapping and now - history.last_change >= self._hysteresis:
            history.flapping = False
            history.changes.clear()
