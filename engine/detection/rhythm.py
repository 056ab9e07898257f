"""When in the day rare points are normal: a per-series, per-time-of-day rate of rare points.

A tail probability says how rare a value is over the whole history. Some series are rare at fixed
times (a nightly batch job spikes the CPU at 02:00 every day): such a spike is one in 288 points
overall, but one in a handful of points at 02:00. Each day bin keeps the rate at which its points
came out rare (corrected p < RARE_LEVEL), and probabilities below RARE_LEVEL are scaled by how much
more often rare points happen at this time of day than in the series overall:

    p_adjusted = p * max over the bin and its neighbours of (bin rate, shrunk towards the overall
                 rate) / overall rate

Only ever a discount: a quiet time of day does not make its points rarer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.detection.config import DetectorConfig
from engine.detection.ewma import warm_weight

RARE_LEVEL = 0.1
# Pseudo-visits at the overall rate that every bin starts with, so one odd visit proves little.
PRIOR_VISITS = 10.0


@dataclass(slots=True)
class RhythmState:
    bin_rate: npt.NDArray[np.float64]  # (slot, bin)
    bin_visits: npt.NDArray[np.float64]  # (slot, bin)
    overall_rate: npt.NDArray[np.float64]
    updates: npt.NDArray[np.int64]

    @classmethod
    def allocate(cls, capacity: int, config: DetectorConfig) -> RhythmState:
        return cls(
            bin_rate=np.zeros((capacity, config.day_bins)),
            bin_visits=np.zeros((capacity, config.day_bins)),
            overall_rate=np.zeros(capacity),
            updates=np.zeros(capacity, dtype=np.int64),
        )


def adjust(
    state: RhythmState,
    slots: npt.NDArray[np.int64],
    bins: npt.NDArray[np.int64],
    probability: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Scale (points,) probabilities below RARE_LEVEL by the relative rate of rare points around
    this time of day: the bin and its two neighbours, as a daily job rarely keeps to the minute."""
    adjusted = probability.copy()
    rare = np.flatnonzero(probability < RARE_LEVEL)
    if rare.size == 0:
        return adjusted
    slots, bins = slots[rare], bins[rare]
    overall = state.overall_rate[slots]
    _, day_bins = state.bin_rate.shape
    rates = state.bin_rate.reshape(-1)
    visit_counts = state.bin_visits.reshape(-1)
    shrunk = np.zeros(len(slots))
    for shift in (-1, 0, 1):
        cells = slots * day_bins + (bins + shift) % day_bins
        visits = visit_counts[cells]
        rate = (rates[cells] * visits + PRIOR_VISITS * overall) / (visits + PRIOR_VISITS)
        shrunk = np.maximum(shrunk, rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(overall > 0, np.maximum(shrunk / overall, 1.0), 1.0)
    adjusted[rare] = np.minimum(probability[rare] * ratio, 1.0)
    return adjusted


def learn(
    state: RhythmState,
    slots: npt.NDArray[np.int64],
    cells: npt.NDArray[np.int64],
    rare: npt.NDArray[np.bool_],
    config: DetectorConfig,
) -> None:
    hit = rare.astype(np.float64)
    updates = state.updates[slots]
    overall = state.overall_rate[slots]
    state.overall_rate[slots] = overall + warm_weight(updates, config.tail_span) * (hit - overall)
    state.updates[slots] = updates + 1
    rate_cells = state.bin_rate.reshape(-1)
    visit_cells = state.bin_visits.reshape(-1)
    visits = visit_cells[cells]
    rate = rate_cells[cells]
    weight = np.maximum(1.0 / (visits + 1.0), 1.0 / config.rhythm_visit_span)
    rate_cells[cells] = rate + weight * (hit - rate)
    visit_cells[cells] = np.minimum(visits + 1.0, config.rhythm_visit_span)
