"""One round of the detector: score points of distinct series, then learn from them.

Order matters for "no look-ahead": every statistic a point is scored with is computed from state
learned on earlier points plus the point itself; the state is updated only after scoring.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.detection import baseline, episodes, rhythm, tails, views
from engine.detection.admission import admit
from engine.detection.calibration import probability_at_score, score_from_decades
from engine.detection.config import DetectorConfig
from engine.detection.result import PointStatus
from engine.detection.state import DetectorState
from engine.detection.views import (
    LEVEL_MODEL,
    LEVEL_VIEWS,
    RESIDUAL_STATS,
    SEASON_MODEL,
    SEASON_VIEWS,
    VIEWS_PER_SCORE,
)

ALL_VIEWS = np.concatenate([LEVEL_VIEWS, SEASON_VIEWS])


@dataclass(frozen=True, slots=True)
class RoundOutcome:
    """`status` is per input point; the other arrays are per accepted point (`status` SCORED/WARMING_UP)."""

    status: npt.NDArray[np.int8]
    accepted: npt.NDArray[np.bool_]
    score: npt.NDArray[np.float64]
    alert_score: npt.NDArray[np.float64]
    expected: npt.NDArray[np.float64]
    expected_low: npt.NDArray[np.float64]
    expected_high: npt.NDArray[np.float64]
    started: npt.NDArray[np.bool_]
    ended: npt.NDArray[np.bool_]


def persistence(span: int) -> float:
    """Points an EWMA over `span` takes to forget (about) one value: its autocorrelation length."""
    return (span + 1) / 2


@dataclass(frozen=True, slots=True)
class Calibration:
    """Per-view constants derived from the configuration once."""

    persistence: npt.NDArray[np.float64]  # (views per predictor,)
    band_probability: float
    relevant_probability: npt.NDArray[np.float64]  # (all views,)

    @classmethod
    def of(cls, config: DetectorConfig) -> Calibration:
        spans = (config.short_span, config.drift_span)
        per_view = np.array([1.0, *(persistence(span) for span in spans)])
        # A lone point reaches the alert score when its point-view p is this small.
        band = probability_at_score(config.alert_score, config.half_score_decades) / VIEWS_PER_SCORE
        # Below the clear score nothing is decided, so p above this (per view) need not be exact.
        floor = probability_at_score(config.clear_score, config.half_score_decades) / VIEWS_PER_SCORE
        return cls(per_view, band, np.tile(floor / per_view, 2))


def run_round(
    state: DetectorState,
    config: DetectorConfig,
    calibration: Calibration,
    slots: npt.NDArray[np.int64],
    ts: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
) -> RoundOutcome:
    """Points of one round (each slot at most once), in any slot order."""
    status = admit(state.admission, slots, ts, values)
    accepted = status == PointStatus.SCORED
    slots, ts, values = slots[accepted], ts[accepted], values[accepted]
    seen = state.admission.accepted[slots] - 1

    prediction = baseline.predict(state.baseline, slots, ts, config)
    level_z = np.where(seen > 0, (values - prediction.level_mean) / prediction.level_spread, 0.0)
    season_z = np.where(
        prediction.season_ready, (values - prediction.season_mean) / prediction.season_spread, 0.0
    )
    level_stats = views.residual_views(
        state.views, LEVEL_MODEL, slots, level_z, prediction.level_mean, prediction.level_spread, seen, config
    )
    season_stats = views.residual_views(
        state.views,
        SEASON_MODEL,
        slots,
        season_z,
        prediction.season_offset,
        prediction.season_spread,
        seen,
        config,
    )

    # Only the predictor in use is judged; both keep learning. An EWMA over a span repeats its
    # extremes for about span/2 points, so its history holds that many fewer independent values:
    # its p is scaled up accordingly, and the smallest p is corrected for the views looked at.
    in_use = prediction.uses_season[:, None]
    stats = np.where(in_use, season_stats, level_stats)
    probability = tails.relevant_probability(
        state.tails, slots, stats, np.where(in_use, SEASON_VIEWS, LEVEL_VIEWS), config
    )
    corrected = np.minimum(VIEWS_PER_SCORE * (probability * calibration.persistence).min(axis=1), 1.0)
    rare = corrected < rhythm.RARE_LEVEL
    corrected = rhythm.adjust(state.rhythm, slots, prediction.day_bin, corrected)
    warming = seen < config.warmup_points + config.tail_min_points
    rarity = np.where(warming, 0.0, -np.log10(np.maximum(corrected, 1e-300)))
    score = score_from_decades(rarity, config.half_score_decades)

    point_view = np.where(prediction.uses_season, SEASON_VIEWS[0], LEVEL_VIEWS[0])
    band = state.tails.band.reshape(-1, 2)[slots * state.tails.band.shape[1] + point_view]
    mean, spread = prediction.mean, prediction.spread

    per_visit = baseline.points_per_visit(state.admission.first_ts[slots], ts, seen, config)
    _learn(
        state,
        config,
        calibration,
        slots,
        values,
        seen,
        per_visit,
        prediction,
        level_stats,
        season_stats,
        rare,
    )
    level_shift, season_shift = baseline.shift_runs(
        state.baseline, slots, level_z, season_z, prediction, seen, config
    )
    moved = slots[level_shift]
    views.rebase(state.views, LEVEL_MODEL, moved, state.baseline.level[moved])
    moved = slots[season_shift]
    views.rebase(state.views, SEASON_MODEL, moved, state.baseline.season_offset[moved])

    step = episodes.advance(state.episodes, slots, rarity, score, config)
    status[np.flatnonzero(accepted)[warming]] = PointStatus.WARMING_UP
    return RoundOutcome(
        status=status,
        accepted=accepted,
        score=score,
        alert_score=step.alert_score,
        expected=mean,
        expected_low=mean - band[:, 1] * spread,
        expected_high=mean + band[:, 0] * spread,
        started=step.started,
        ended=step.ended,
    )


def _learn(
    state: DetectorState,
    config: DetectorConfig,
    calibration: Calibration,
    slots: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    seen: npt.NDArray[np.int64],
    per_visit: npt.NDArray[np.float64],
    prediction: baseline.Prediction,
    level_stats: npt.NDArray[np.float64],
    season_stats: npt.NDArray[np.float64],
    rare: npt.NDArray[np.bool_],
) -> None:
    # Statistics of a series younger than `warmup_points` rest on a guessed spread: not learned.
    learning = seen >= config.warmup_points
    taught = slots[learning]
    # The seasonal histories learn only where the seasonal predictor had something to say.
    seasonal = prediction.season_ready[learning, None]
    tails.learn(
        state.tails,
        taught,
        np.concatenate([level_stats[learning], season_stats[learning]], axis=1),
        ALL_VIEWS,
        np.concatenate(
            [np.ones_like(seasonal).repeat(RESIDUAL_STATS, 1), seasonal.repeat(RESIDUAL_STATS, 1)], axis=1
        ),
        config,
    )
    tails.age(state.tails, taught, config)
    due = tails.due_for_refresh(state.tails, slots, seen + 1)
    if due.any():
        tails.refresh(
            state.tails, slots[due], calibration.band_probability, calibration.relevant_probability, config
        )
    rhythm.learn(state.rhythm, taught, prediction.cell[learning], rare[learning], config)
    baseline.learn(state.baseline, slots, values, prediction, seen, per_visit, config)
