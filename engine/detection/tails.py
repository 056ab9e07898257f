"""How rare is this value *for this series*: an empirical tail with a fitted extrapolation.

Each series keeps, for every view and each sign, a decayed histogram of |statistic| over
log-spaced bins, plus the largest magnitude seen (the record). The tail probability of a new
magnitude v is

    P(|s| >= v) ~ (count of past magnitudes >= v / tolerance  +  prior * beyond(v))
                  / (count of all past points + prior)

with beyond(v) = 1 up to record_tolerance * record and, past it, the power-law fall-off of the series'
own tail (see tail_shape.py). Within the range the series has shown, rarity is what its history says
(a metric that spikes every day stops alerting on its daily spike; the tolerance makes the 21st
identical spike as common as the other 20); beyond it, rarity grows with how far past the record
the value goes, steeply for noise around a level and gently for spiky series.

Forgetting is lazy: new counts are added with a weight that grows by 1/decay per point, so old
counts shrink relative to new ones without being touched. The tail index, the expected band and
the relevance cut change slowly, so they are cached per series and refreshed every few points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.detection import tail_shape
from engine.detection.config import DetectorConfig

# Cached values are refreshed this often (points) once a series is older than YOUNG_POINTS, and
# every YOUNG_REFRESH_POINTS before, while its histories still move quickly.
REFRESH_POINTS = 128
YOUNG_REFRESH_POINTS = 16
YOUNG_POINTS = 2048
# Keep the growing increment far from float overflow; renormalizing is exact up to rounding.
RENORMALIZE_ABOVE = 1e150


@dataclass(slots=True)
class TailState:
    # (slot, view, sign, J-1-bin): stored highest bin first, so a plain cumsum counts "at or above".
    # Arrays here are C-contiguous (allocated below): flat views of them write through.
    counts: npt.NDArray[np.float64]
    totals: npt.NDArray[np.float64]  # (slot, view)
    increment: npt.NDArray[np.float64]  # (slot,)
    # (slot, view, sign): largest magnitude seen, times the increment when it was seen: divided by
    # the current increment it is forgotten at the pace of the counts, without being touched.
    record: npt.NDArray[np.float64]
    index: npt.NDArray[np.float64]  # (slot, view, sign): cached tail index
    band: npt.NDArray[np.float64]  # (slot, view, sign): cached magnitude at the band probability
    relevant: npt.NDArray[np.float64]  # (slot, view, sign): cached magnitude below which p cannot matter
    # When in the refresh cycle a series refreshes: spread over slots so rounds share the work, and
    # kept with the series so a series moved to another slot keeps its exact behaviour.
    phase: npt.NDArray[np.int64]

    @classmethod
    def allocate(cls, capacity: int, views: int, config: DetectorConfig) -> TailState:
        return cls(
            counts=np.zeros((capacity, views, 2, config.tail_bins)),
            totals=np.zeros((capacity, views)),
            increment=np.ones(capacity),
            record=np.zeros((capacity, views, 2)),
            index=np.full((capacity, views, 2), config.tail_index_empty),
            band=np.full((capacity, views, 2), np.inf),
            relevant=np.zeros((capacity, views, 2)),
            phase=np.arange(capacity, dtype=np.int64) % REFRESH_POINTS,
        )


@dataclass(frozen=True, slots=True)
class Binned:
    bin: npt.NDArray[np.int64]
    fraction: npt.NDArray[np.float64]  # position inside the bin, 0 at its lower edge


def bin_magnitudes(magnitude: npt.NDArray[np.float64], config: DetectorConfig) -> Binned:
    """Bin 0 is [0, first_edge); bin j>0 is [first*ratio**(j-1), first*ratio**j); the last is open."""
    log_ratio = math.log(config.tail_edge_ratio)
    # float32 logarithms are several times faster and ample for a bin position.
    scaled = np.clip(magnitude / config.tail_first_edge, 1e-30, 1e30).astype(np.float32)
    position = np.log(scaled).astype(np.float64) / log_ratio
    above = magnitude >= config.tail_first_edge
    whole = np.floor(np.where(above, position, 0.0))
    bins = np.where(above, np.minimum(whole + 1, config.tail_bins - 1), 0).astype(np.int64)
    fraction = np.where(above, position - whole, magnitude / config.tail_first_edge)
    fraction = np.where(bins == config.tail_bins - 1, 0.0, np.clip(fraction, 0.0, 1.0))
    return Binned(bins, fraction)


def bin_index(magnitude: npt.NDArray[np.float64], config: DetectorConfig) -> npt.NDArray[np.int64]:
    """The bin of each magnitude (as `bin_magnitudes`, without the position inside the bin)."""
    scaled = np.clip(magnitude / config.tail_first_edge, 1e-30, 1e30).astype(np.float32)
    whole = np.floor(np.log(scaled) / np.float32(math.log(config.tail_edge_ratio)))
    bins: npt.NDArray[np.int64] = np.clip(whole + 1, 0, config.tail_bins - 1).astype(np.int64)
    return bins


def _rows(
    state: TailState, slots: npt.NDArray[np.int64], views: npt.NDArray[np.int64], signs: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Index of each (slot, view, sign) histogram in `counts` seen as a (rows, bins) matrix."""
    _, view_count, _, _ = state.counts.shape
    rows: npt.NDArray[np.int64] = (slots * view_count + views) * 2 + signs
    return rows


def relevant_probability(
    state: TailState,
    slots: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    views: npt.NDArray[np.int64],
    config: DetectorConfig,
) -> npt.NDArray[np.float64]:
    """P(same sign, at least this magnitude) per point and view (`values`, `views`: (points, k)).

    Only values at or beyond the cached `relevant` magnitude are looked up; below it the answer
    could not matter to a score and is reported as 1. Most points are ordinary, so this is where
    the detector saves most of its work.
    """
    signs = (values < 0).astype(np.int64)
    magnitude = np.abs(values)
    rows = _rows(state, slots[:, None], views, signs)
    candidate = magnitude >= state.relevant.reshape(-1)[rows]
    probability = np.ones(values.shape)
    if candidate.any():
        owner = np.broadcast_to(slots[:, None], values.shape)[candidate]
        probability[candidate] = tail_probability(
            state,
            owner,
            rows[candidate],
            np.broadcast_to(views, values.shape)[candidate],
            magnitude[candidate],
            config,
        )
    return probability


def tail_probability(
    state: TailState,
    slots: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
    views: npt.NDArray[np.int64],
    magnitude: npt.NDArray[np.float64],
    config: DetectorConfig,
) -> npt.NDArray[np.float64]:
    """The tail probability of `magnitude` in histogram `rows` (flat index of slot, view, sign)."""
    binned = bin_magnitudes(magnitude / config.tail_tolerance, config)
    bins = config.tail_bins
    hist = state.counts.reshape(-1, bins)[rows]  # (n, bins), highest bin first
    at_or_above = np.cumsum(hist, axis=1)
    position = bins - 1 - binned.bin
    picked = np.arange(len(rows))
    # Count above the value: everything from its bin up, minus the part of its bin below it.
    count = at_or_above[picked, position] - binned.fraction * hist[picked, position]
    increment = state.increment[slots]
    _, view_count = state.totals.shape
    total = state.totals.reshape(-1)[slots * view_count + views] / increment
    record = state.record.reshape(-1)[rows] / increment
    reach = np.maximum(record, config.tail_first_edge) * config.tail_record_tolerance
    beyond = np.where(
        magnitude > reach,
        tail_shape.survival_ratio(magnitude, reach, state.index.reshape(-1)[rows]),
        1.0,
    )
    prior = config.tail_prior_points
    result: npt.NDArray[np.float64] = (count / increment + prior * beyond) / (total + prior)
    return np.minimum(result, 1.0)


def learn(
    state: TailState,
    slots: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    views: npt.NDArray[np.int64],
    taught: npt.NDArray[np.bool_],
    config: DetectorConfig,
) -> None:
    """Add (points, k) statistics of `views` (k,) to these series' histories where `taught` is set."""
    _, view_count = state.totals.shape
    bins = config.tail_bins
    rows = _rows(state, slots[:, None], views[None, :], (values < 0).astype(np.int64))
    totals = slots[:, None] * view_count + views[None, :]
    magnitude = np.abs(values)
    increment = np.broadcast_to(state.increment[slots][:, None], values.shape)
    if not taught.all():
        rows, totals, magnitude, increment = (
            rows[taught],
            totals[taught],
            magnitude[taught],
            increment[taught],
        )
    else:
        rows, totals, magnitude, increment = (
            rows.ravel(),
            totals.ravel(),
            magnitude.ravel(),
            increment.ravel(),
        )
    # Each (slot, view) appears once per round, so plain fancy-index += is exact.
    state.counts.reshape(-1)[rows * bins + (bins - 1 - bin_index(magnitude, config))] += increment
    state.totals.reshape(-1)[totals] += increment
    records = state.record.reshape(-1)
    scaled = magnitude * increment
    higher = scaled > records[rows]
    records[rows[higher]] = scaled[higher]


def age(state: TailState, slots: npt.NDArray[np.int64], config: DetectorConfig) -> None:
    """One point of forgetting for these series (call once per accepted point)."""
    grown = state.increment[slots] / (1.0 - 1.0 / config.tail_span)
    overflow = grown > RENORMALIZE_ABOVE
    if overflow.any():
        heavy = slots[overflow]
        state.counts[heavy] /= grown[overflow][:, None, None, None]
        state.totals[heavy] /= grown[overflow][:, None]
        state.record[heavy] /= grown[overflow][:, None, None]
        grown[overflow] = 1.0
    state.increment[slots] = grown


def due_for_refresh(
    state: TailState, slots: npt.NDArray[np.int64], accepted: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Which of these series refresh their cached values now."""
    interval = np.where(accepted < YOUNG_POINTS, YOUNG_REFRESH_POINTS, REFRESH_POINTS)
    due: npt.NDArray[np.bool_] = (accepted + state.phase[slots]) % interval == 0
    return due


def refresh(
    state: TailState,
    slots: npt.NDArray[np.int64],
    band_probability: float,
    relevant_probability: npt.NDArray[np.float64],
    config: DetectorConfig,
) -> None:
    """Recompute the cached tail index, band and relevance cut of every view and sign of these series.

    `relevant_probability` (views,) is, per view, the largest p that could still matter; the cut is
    taken a bin lower than where that p is reached, so a cache a few points old stays on the safe side.
    """
    stored = state.counts[slots]  # (points, views, signs, bins), highest bin first
    hist = stored[..., ::-1]
    at_or_above = np.cumsum(stored, axis=-1)[..., ::-1]
    fitted = tail_shape.fit_index(hist, at_or_above, config)
    state.index[slots] = fitted
    increment = state.increment[slots][:, None, None, None]
    counts = at_or_above / increment
    total = state.totals[slots][:, :, None, None] / increment
    record = state.record[slots] / increment[..., 0]
    state.band[slots] = band_magnitude(counts, total, record, fitted, np.asarray(band_probability), config)
    cut = band_magnitude(counts, total, record, fitted, relevant_probability[:, None], config)
    state.relevant[slots] = cut / config.tail_edge_ratio


def band_magnitude(
    at_or_above: npt.NDArray[np.float64],
    total: npt.NDArray[np.float64],
    record: npt.NDArray[np.float64],
    index: npt.NDArray[np.float64],
    probability: npt.NDArray[np.float64],
    config: DetectorConfig,
) -> npt.NDArray[np.float64]:
    """Smallest magnitude whose tail probability is at most `probability` (bin resolution).

    Shapes: counts (points, views, signs, bins); `probability` broadcasts against (views, signs).
    Inside the recorded range it is read off bin edges; past the record the power law is inverted.
    """
    prior = config.tail_prior_points
    probable = (at_or_above + prior) / (total + prior) > probability[..., None]
    # Counts fall with the bin, so the probable bins are a prefix and the first rare one ends it.
    first_rare = probable.sum(axis=-1)
    edges = np.append(tail_shape.lower_edges(config), np.inf)
    from_bins = edges[first_rare] * config.tail_tolerance
    reach = np.maximum(record, config.tail_first_edge) * config.tail_record_tolerance
    ratio = np.minimum(probability * (total[..., 0] + prior) / prior, 1.0)
    from_record = tail_shape.value_at_ratio(ratio, reach, index)
    result: npt.NDArray[np.float64] = np.where(from_bins <= reach, from_bins, from_record)
    return result
