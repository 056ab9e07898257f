"""The statistics a point is judged on, each catching a different kind of anomaly.

For each predictor (level, seasonal), from its z = (value - expected) / spread:
- point:   z itself                                    spikes and dips
- short:   EWMA of clipped z over `short_span`         level shifts
- drift:   (anchor - its EWMA over `drift_span`)       slow drifts the predictor follows
           / spread; anchor = level or seasonal offset
Each is turned into a tail probability against the series' own history of that statistic; the two
predictors keep separate histories because their residuals are not alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.detection.config import DetectorConfig
from engine.detection.ewma import warm_weight

RESIDUAL_STATS = 3  # point, short, drift
LEVEL_MODEL, SEASON_MODEL = 0, 1
LEVEL_VIEWS = np.arange(0, RESIDUAL_STATS, dtype=np.int64)
SEASON_VIEWS = np.arange(RESIDUAL_STATS, 2 * RESIDUAL_STATS, dtype=np.int64)
VIEW_COUNT = 2 * RESIDUAL_STATS
# A score is the smallest p over the in-use predictor's views, corrected for having looked at that many.
VIEWS_PER_SCORE = RESIDUAL_STATS


@dataclass(slots=True)
class ViewState:
    memory: npt.NDArray[np.float64]  # (slot, model, [short, slow anchor])

    @classmethod
    def allocate(cls, capacity: int) -> ViewState:
        return cls(memory=np.zeros((capacity, 2, 2)))


def residual_views(
    state: ViewState,
    model: int,
    slots: npt.NDArray[np.int64],
    z: npt.NDArray[np.float64],
    anchor: npt.NDArray[np.float64],
    spread: npt.NDArray[np.float64],
    seen: npt.NDArray[np.int64],
    config: DetectorConfig,
) -> npt.NDArray[np.float64]:
    """Update one predictor's memories and return its (points, RESIDUAL_STATS) statistics.

    `anchor` is what the predictor tracks (the level, or today's offset from the daily profile);
    it follows a slow drift, so drift is measured as its distance from its own long average.
    """
    # Clipping keeps one spike from posing as a shift; the point view sees it whole.
    clipped = np.clip(z, -config.clip_spreads, config.clip_spreads)
    # Flat indices: fancy indexing with one index array is several times faster than with two.
    cells = state.memory.reshape(-1)
    at = (slots * 2 + model) * 2
    short = cells[at]
    short = short + warm_weight(seen, config.short_span) * (clipped - short)
    slow = np.where(seen > 0, cells[at + 1], anchor)
    drift = (anchor - slow) / spread
    cells[at] = short
    cells[at + 1] = slow + warm_weight(seen, config.drift_span) * (anchor - slow)
    return np.stack([z, short, drift], axis=1)


def rebase(
    state: ViewState, model: int, slots: npt.NDArray[np.int64], anchor: npt.NDArray[np.float64]
) -> None:
    """After a level shift the predictor re-anchored: old offsets and the drift reference are history."""
    state.memory[slots, model, 0] = 0.0
    state.memory[slots, model, 1] = anchor
