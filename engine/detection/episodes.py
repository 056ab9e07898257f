"""From per-point scores to alerts: one "started" per episode, one "ended" when it is over.

Debounce works on rarity itself (decades, -log10 of the corrected tail probability), independent of
any threshold: after a point of rarity r, later points only count (`alert_score` > 0) if they beat
r minus what has decayed since. The guard falls from the alert level to zero over `guard_points`
points, linearly, and never starts above `guard_ceiling_decades`. So an ongoing incident is told
once, and again only if it gets clearly worse, while an unrelated anomaly after the guard has
decayed is told as new. An episode starts when
`alert_score >= config.alert_score` and none is open; it ends after `clear_points` consecutive
points with a score below `clear_score`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.detection.config import DetectorConfig


@dataclass(slots=True)
class EpisodeState:
    guard: npt.NDArray[np.float64]  # decades of rarity a point must beat to count
    open: npt.NDArray[np.bool_]
    calm_run: npt.NDArray[np.int64]

    @classmethod
    def allocate(cls, capacity: int) -> EpisodeState:
        return cls(
            guard=np.zeros(capacity),
            open=np.zeros(capacity, dtype=np.bool_),
            calm_run=np.zeros(capacity, dtype=np.int64),
        )


@dataclass(frozen=True, slots=True)
class EpisodeStep:
    alert_score: npt.NDArray[np.float64]
    started: npt.NDArray[np.bool_]
    ended: npt.NDArray[np.bool_]


def advance(
    state: EpisodeState,
    slots: npt.NDArray[np.int64],
    rarity: npt.NDArray[np.float64],
    score: npt.NDArray[np.float64],
    config: DetectorConfig,
) -> EpisodeStep:
    """`rarity` in decades and its `score` for one round of points (each slot at most once)."""
    guard = state.guard[slots]
    fresh = rarity > guard
    alert_score = np.where(fresh, score, 0.0)
    decay = config.half_score_decades / config.guard_points
    # However extreme a point, it silences its series for a bounded time.
    state.guard[slots] = np.where(fresh, np.minimum(rarity, config.guard_ceiling_decades), guard - decay)

    was_open = state.open[slots]
    started = ~was_open & (alert_score >= config.alert_score)
    calm = np.where(score < config.clear_score, state.calm_run[slots] + 1, 0)
    ended = was_open & (calm >= config.clear_points)
    state.open[slots] = (was_open | started) & ~ended
    state.calm_run[slots] = np.where(ended | started, 0, calm)
    return EpisodeStep(alert_score, started, ended)
