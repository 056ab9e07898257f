"""How fast a series' upper tail falls off, to say how rare a value beyond anything seen is.

Past the record, rarity is extrapolated as a power law, S(v) / S(a) = (v / a) ** -index, with the
tail index from Hill's estimator on the top TAIL_FIT_SHARE of the series' history:
index = 1 / mean(log(x / u)) over the points x above the threshold u. Noise around a level gets a
steep index (a value twice the record is very rare), a spiky series a gentle one. A power law is
deliberately conservative for light tails: real metrics are rarely as well-behaved past their
record as their body suggests.

Everything is computed from log-binned histograms; bin centers sit half a bin above lower edges.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from engine.detection.config import DetectorConfig

TAIL_FIT_SHARE = 0.05


def lower_edges(config: DetectorConfig) -> npt.NDArray[np.float64]:
    edges = config.tail_first_edge * config.tail_edge_ratio ** np.arange(
        -1, config.tail_bins - 1, dtype=np.float64
    )
    edges[0] = 0.0
    return edges


def fit_index(
    hist: npt.NDArray[np.float64], at_or_above: npt.NDArray[np.float64], config: DetectorConfig
) -> npt.NDArray[np.float64]:
    """Tail index over the last axis (bins, lowest first); `at_or_above` is the reverse cumulative count.

    Bounded to [tail_index_min, tail_index_max]; `tail_index_empty` for an empty history.
    """
    total = at_or_above[..., :1]
    # at_or_above falls with the bin, so the bins holding the top share are a prefix; the last of
    # them is the threshold bin (never bin 0, whose lower edge is 0).
    threshold = np.maximum((at_or_above >= TAIL_FIT_SHARE * total).sum(axis=-1) - 1, 1)
    index = threshold[..., None]
    bins = np.arange(config.tail_bins, dtype=np.float64)
    count = np.take_along_axis(at_or_above, index, axis=-1)[..., 0]
    bin_sum = np.take_along_axis(np.cumsum((hist * bins)[..., ::-1], axis=-1)[..., ::-1], index, axis=-1)[
        ..., 0
    ]
    with np.errstate(divide="ignore", invalid="ignore"):
        # Bin centers sit half a bin above their lower edges.
        mean_log = (bin_sum / count - threshold + 0.5) * math.log(config.tail_edge_ratio)
        estimate = np.where(count > 0, 1.0 / mean_log, config.tail_index_empty)
    bounded: npt.NDArray[np.float64] = np.clip(estimate, config.tail_index_min, config.tail_index_max)
    return bounded


def survival_ratio(
    value: npt.NDArray[np.float64], anchor: npt.NDArray[np.float64], index: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """S(value) / S(anchor) for value >= anchor > 0: how much rarer `value` is than `anchor`."""
    with np.errstate(divide="ignore", over="ignore"):
        ratio: npt.NDArray[np.float64] = (np.maximum(value, anchor) / anchor) ** -index
    return ratio


def value_at_ratio(
    ratio: npt.NDArray[np.float64], anchor: npt.NDArray[np.float64], index: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The value whose survival is `ratio` (<= 1) times that of `anchor`."""
    with np.errstate(divide="ignore", over="ignore"):
        value: npt.NDArray[np.float64] = anchor * ratio ** (-1.0 / index)
    return value
