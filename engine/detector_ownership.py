"""Which series this replica detects: those of the partitions it holds a lease on, once caught up.

Pure bookkeeping (no database): the lease loop tells it what is held and until when by this
process's own monotonic clock; the watch asks it, per point, whether to detect here or hand over.
A partition taken over from another replica is held but "catching up" until the points handed
over for it are drained, so a series' points are detected in the order they arrived.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

PARTITIONS = 64


class Ownership:
    def __init__(self, count: int = PARTITIONS, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self._monotonic = monotonic
        self._held: frozenset[int] = frozenset()
        self._inline = np.zeros(count, dtype=bool)  # held and caught up
        self._valid_until = float("-inf")

    def partitions_of(self, series_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return series_ids % self.count

    def partition_of(self, series_id: int) -> int:
        return series_id % self.count

    @property
    def held(self) -> frozenset[int]:
        """The partitions whose lease is still good by this process's clock (none once it lapsed)."""
        return self._held if self._monotonic() < self._valid_until else frozenset()

    def inline_mask(self, series_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Per point, whether its series is detected here and now."""
        if self._monotonic() >= self._valid_until:
            return np.zeros(len(series_ids), dtype=bool)
        mask: npt.NDArray[np.bool_] = self._inline[self.partitions_of(series_ids)]
        return mask

    def renewed(
        self, kept: Iterable[int], taken: Iterable[int], valid_until: float
    ) -> tuple[frozenset[int], frozenset[int]]:
        """The lease loop renewed: `kept` were held without a break, `taken` are new to this
        replica; all good until `valid_until` (monotonic). Returns (taken, lost). Taken partitions,
        and kept ones whose lease had lapsed here (their points were handed over meanwhile), catch
        up before they are detected inline again."""
        kept_now, taken_now = frozenset(kept), frozenset(taken)
        lapsed = self._monotonic() >= self._valid_until
        lost = self._held - kept_now
        for partition in lost | taken_now | (kept_now if lapsed else frozenset()):
            self._inline[partition] = False
        self._held = kept_now | taken_now
        self._valid_until = valid_until
        return taken_now, lost

    def drop(self, partitions: Iterable[int]) -> None:
        """Stop detecting these at once (about to be given back): their points are handed over."""
        dropped = frozenset(partitions)
        for partition in dropped:
            self._inline[partition] = False
        self._held -= dropped

    def caught_up(self, partitions: Iterable[int]) -> None:
        for partition in partitions:
            if partition in self._held:
                self._inline[partition] = True

    def catching_up(self) -> frozenset[int]:
        return frozenset(p for p in self._held if not self._inline[p])
