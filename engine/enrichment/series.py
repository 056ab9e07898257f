"""Choosing the series that best shows an incident, and what it was expected to look like.

Without a detector's band at hand, "expected" is the series' own recent past: the median of the
points before the start, give or take three robust standard deviations (MAD-based, so the spike
itself does not widen the band). The same statistics rank the candidates: the series that moved
furthest out of its band around the start is the one worth a picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.enrichment.sections import Band, SeriesWindow
from engine.models import SeriesRef

MIN_BASELINE_POINTS = 8
BAND_WIDTH = 3.0  # robust standard deviations either side of the median
LEAD_SECONDS = 300.0  # a series often moves a little before the first alert fires
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class SeriesCandidate:
    series_id: int
    ref: SeriesRef
    window: SeriesWindow
    named_by: str | None = None  # the alert that names this series, when one does


@dataclass(frozen=True, slots=True)
class Baseline:
    median: float
    sigma: float  # robust standard deviation, floored so a flat series still has a usable scale


def baseline(window: SeriesWindow, start: float) -> Baseline | None:
    ts, values = _arrays(window)
    before = values[ts < start]
    if len(before) < MIN_BASELINE_POINTS:
        return None
    median = float(np.median(before))
    mad = float(np.median(np.abs(before - median))) * _MAD_TO_SIGMA
    # a perfectly flat series has MAD 0: any wiggle would be infinitely anomalous
    sigma = max(mad, 0.01 * abs(median), 1e-9)
    return Baseline(median, sigma)


def deviation(window: SeriesWindow, start: float) -> float | None:
    """Largest distance from the baseline median at or after the start, in robust sigmas."""
    base = baseline(window, start)
    if base is None:
        return None
    ts, values = _arrays(window)
    after = values[ts >= start - LEAD_SECONDS]
    if not len(after):
        return None
    return float(np.max(np.abs(after - base.median)) / base.sigma)


def baseline_band(window: SeriesWindow, start: float) -> Band | None:
    base = baseline(window, start)
    if base is None or not len(window):
        return None
    low = base.median - BAND_WIDTH * base.sigma
    high = base.median + BAND_WIDTH * base.sigma
    return Band(
        ts=(window.ts[0], window.ts[-1]),
        low=(low, low),
        high=(high, high),
        basis="median ± 3 robust σ of the points before the start",
    )


@dataclass(frozen=True, slots=True)
class Choice:
    candidate: SeriesCandidate
    deviation: float | None
    reason: str


def choose_series(candidates: Sequence[SeriesCandidate], start: float) -> Choice | None:
    """A series named by one of the incident's alerts wins; otherwise the one that deviates most."""
    with_points = [c for c in candidates if len(c.window)]
    if not with_points:
        return None
    scored = [(deviation(c.window, start), c) for c in with_points]
    named = [(d, c) for d, c in scored if c.named_by is not None]
    pool = named or scored
    best_deviation, best = max(pool, key=_preference)
    if best.named_by is not None:
        reason = f"named by the alert {best.named_by}"
    elif best_deviation is None:
        reason = f"no history before the start to compare; the most points of {len(pool)} series"
    else:
        reason = f"moved furthest from its recent level among {len(pool)} series of the affected services"
    return Choice(best, best_deviation, reason)


def thin(window: SeriesWindow, max_points: int) -> SeriesWindow:
    """At most `max_points` points, keeping each stretch's lowest and highest so spikes survive."""
    if len(window) <= max_points:
        return window
    ts, values = _arrays(window)
    buckets = np.array_split(np.arange(len(ts)), max(1, max_points // 2))
    keep: list[int] = []
    for bucket in buckets:
        if not len(bucket):
            continue
        pair = {int(bucket[np.argmin(values[bucket])]), int(bucket[np.argmax(values[bucket])])}
        keep.extend(sorted(pair))
    return SeriesWindow(ts=tuple(float(ts[i]) for i in keep), values=tuple(float(values[i]) for i in keep))


def _preference(scored: tuple[float | None, SeriesCandidate]) -> tuple[float, int, int]:
    # largest deviation; without one, the most points; then the oldest series, for a stable choice
    deviation_, candidate = scored
    return (-1.0 if deviation_ is None else deviation_, len(candidate.window), -candidate.series_id)


def _arrays(window: SeriesWindow) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    return np.asarray(window.ts, dtype=np.float64), np.asarray(window.values, dtype=np.float64)
