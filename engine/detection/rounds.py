"""Split a batch into rounds in which every series appears at most once, in time order.

The model update is vectorized across series, so one round may hold one point per series; a
series' second point must see the state left by its first. Points of a series are sorted by
timestamp (stable, so duplicates keep their arrival order and the first one wins).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def split_rounds(slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64]) -> list[npt.NDArray[np.int64]]:
    """Input positions per round; round r holds the r-th point (by time) of every series."""
    if len(slots) == 0:
        return []
    # The common batch carries one point per series: one round, no sorting needed.
    if np.bincount(slots).max() == 1:
        return [np.arange(len(slots))]
    # NaN timestamps sort last within their series; admission then rejects them.
    order = np.lexsort((ts, slots))
    ordered_slots = slots[order]
    starts = np.flatnonzero(np.r_[True, ordered_slots[1:] != ordered_slots[:-1]])
    group_sizes = np.diff(np.r_[starts, len(order)])
    rank = np.arange(len(order)) - np.repeat(starts, group_sizes)
    by_rank = np.argsort(rank, kind="stable")
    boundaries = np.cumsum(np.bincount(rank))[:-1]
    return [order[chunk] for chunk in np.split(by_rank, boundaries)]
