"""What a series should look like now, by two predictors kept side by side.

  - level: a clipped EWMA of the values (a spike moves it by at most `clip_spreads` spreads);
  - seasonal: the typical value at this time of day (one bin per 1/day_bins of a day, learned over
    visits of the bin), plus this weekday's offset where the series has a weekly rhythm (the
    offsets are used only while they beat the daily profile alone), plus today's offset from the
    typical (a clipped EWMA); with a spread per bin because busy hours are noisier than quiet ones.
A *visit* of a bin is one day's pass through it: a series sampled every 5 minutes puts 6 points in
a 30-minute bin per visit. The points of one visit share that day's conditions (they are not
independent samples of "typical at this time"), so the profile's memory, `season_visit_span`, is
counted in visits, i.e. days, whatever the sampling rate.
The seasonal predictor is *ready* at a bin once that bin holds `season_min_visits` earlier points
(a low bar: readiness only lets it compete); it is *used* when it is ready, has `warmup_points` of
error history, and its mean absolute error is below the level's. Both are always learned, so
switching costs nothing.
A run of `shift_run_points` residuals beyond the clip on the same side is a level shift: the
predictor jumps to the recent values instead of crawling there spread by spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.detection.config import SECONDS_PER_DAY, DetectorConfig
from engine.detection.ewma import span_weight, warm_weight

# The spread is floored (see `spread_floor`) by these shares of the unclipped error and the level.
RAW_ERROR_SHARE = 0.1
RELATIVE_SPREAD_FLOOR = 1e-3
ABSOLUTE_SPREAD_FLOOR = 1e-12
# A bin's own spread is used once it holds this many points, never below this share of the
# series-wide seasonal error, and averaged with that error as if the latter were
# BIN_ERROR_PRIOR_POINTS more points of the bin: an error measured on a handful of points can look
# deceptively quiet (trusted alone after 3, it made ~1 in 80 healthy young series raise an anomaly
# a few points into each new half-hour of their first day).
BIN_ERROR_MIN_VISITS = 3
BIN_ERROR_SHARE = 0.25
BIN_ERROR_PRIOR_POINTS = 10.0
# Re-anchoring after a level shift jumps to this short EWMA of the values.
RECENT_SPAN = 3
DAYS_PER_WEEK = 7
# A weekday's offset starts as if it had this many points saying 0, so a few odd hours cannot
# set it; the offsets are used once they cut the typical value's error by WEEKLY_GAIN.
WEEKDAY_PRIOR_POINTS = 8.0
WEEKLY_GAIN = 0.95
# Visits of a bin hold at most this many points (a bin's length over the sampling interval).
MAX_POINTS_PER_VISIT = 10_000.0


@dataclass(slots=True)
class BaselineState:
    level: npt.NDArray[np.float64]
    level_error: npt.NDArray[np.float64]
    raw_error: npt.NDArray[np.float64]
    profile: npt.NDArray[np.float64]  # (slot, bin)
    profile_visits: npt.NDArray[np.int64]  # (slot, bin)
    profile_error: npt.NDArray[np.float64]  # (slot, bin)
    weekday: npt.NDArray[np.float64]  # (slot, day of week): offset of that weekday from the profile
    weekday_points: npt.NDArray[np.int64]  # (slot, day of week)
    # Mean absolute error of the typical value without and with the weekday offsets: the offsets
    # are used only where they help, i.e. where the series has a weekly rhythm.
    daily_error: npt.NDArray[np.float64]
    weekly_error: npt.NDArray[np.float64]
    season_offset: npt.NDArray[np.float64]
    season_error: npt.NDArray[np.float64]
    season_updates: npt.NDArray[np.int64]
    prefers_season: npt.NDArray[np.bool_]
    recent: npt.NDArray[np.float64]
    level_run: npt.NDArray[np.int64]
    season_run: npt.NDArray[np.int64]

    @classmethod
    def allocate(cls, capacity: int, config: DetectorConfig) -> BaselineState:
        return cls(
            level=np.zeros(capacity),
            level_error=np.zeros(capacity),
            raw_error=np.zeros(capacity),
            profile=np.zeros((capacity, config.day_bins)),
            profile_visits=np.zeros((capacity, config.day_bins), dtype=np.int64),
            profile_error=np.zeros((capacity, config.day_bins)),
            weekday=np.zeros((capacity, DAYS_PER_WEEK)),
            weekday_points=np.zeros((capacity, DAYS_PER_WEEK), dtype=np.int64),
            daily_error=np.zeros(capacity),
            weekly_error=np.zeros(capacity),
            season_offset=np.zeros(capacity),
            season_error=np.zeros(capacity),
            season_updates=np.zeros(capacity, dtype=np.int64),
            prefers_season=np.zeros(capacity, dtype=np.bool_),
            recent=np.zeros(capacity),
            level_run=np.zeros(capacity, dtype=np.int64),
            season_run=np.zeros(capacity, dtype=np.int64),
        )


@dataclass(frozen=True, slots=True)
class Prediction:
    level_mean: npt.NDArray[np.float64]
    level_spread: npt.NDArray[np.float64]
    season_mean: npt.NDArray[np.float64]
    season_offset: npt.NDArray[np.float64]
    season_spread: npt.NDArray[np.float64]
    season_ready: npt.NDArray[np.bool_]
    uses_season: npt.NDArray[np.bool_]
    day_bin: npt.NDArray[np.int64]
    cell: npt.NDArray[np.int64]  # flat index of (slot, day bin) in the per-bin arrays
    weekday_cell: npt.NDArray[np.int64]  # flat index of (slot, day of week)
    weekday: npt.NDArray[np.float64]  # the weekday offset in the seasonal mean (0 where not used)

    @property
    def mean(self) -> npt.NDArray[np.float64]:
        return np.where(self.uses_season, self.season_mean, self.level_mean)

    @property
    def spread(self) -> npt.NDArray[np.float64]:
        return np.where(self.uses_season, self.season_spread, self.level_spread)


def day_bin(ts: npt.NDArray[np.float64], bins: int) -> npt.NDArray[np.int64]:
    fraction = np.mod(ts, SECONDS_PER_DAY) / SECONDS_PER_DAY
    return np.minimum((fraction * bins).astype(np.int64), bins - 1)


def day_of_week(ts: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """0 = Monday (1970-01-01, day 0 of the epoch, was a Thursday)."""
    days: npt.NDArray[np.int64] = (np.floor(ts / SECONDS_PER_DAY).astype(np.int64) + 3) % DAYS_PER_WEEK
    return days


def points_per_visit(
    first_ts: npt.NDArray[np.float64],
    ts: npt.NDArray[np.float64],
    seen: npt.NDArray[np.int64],
    config: DetectorConfig,
) -> npt.NDArray[np.float64]:
    """Points one visit of a day bin holds: the bin's length over the mean sampling interval so far.

    At least 1 (a series sampled more coarsely than the bins skips bins, it does not split points)
    and at most MAX_POINTS_PER_VISIT; 1 until the series has an interval.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        per_visit = (SECONDS_PER_DAY / config.day_bins) * np.maximum(seen, 1) / (ts - first_ts)
    bounded: npt.NDArray[np.float64] = np.where(
        (seen > 0) & np.isfinite(per_visit), np.clip(per_visit, 1.0, MAX_POINTS_PER_VISIT), 1.0
    )
    return bounded


def spread_floor(
    level: npt.NDArray[np.float64], raw_error: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The least spread a series is credited with.

    Clipped errors alone collapse on series that are exactly flat between rare spikes (every spike
    is clipped to a few spreads, the spread shrinks, the next spike is clipped harder...), so the
    unclipped mean error bounds them from below; the relative term covers perfectly flat series.
    """
    return RAW_ERROR_SHARE * raw_error + RELATIVE_SPREAD_FLOOR * np.abs(level) + ABSOLUTE_SPREAD_FLOOR


def predict(
    state: BaselineState, slots: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], config: DetectorConfig
) -> Prediction:
    bins = day_bin(ts, config.day_bins)
    # Flat indices: fancy indexing with one index array is several times faster than with two.
    cell = slots * config.day_bins + bins
    weekday_cell = slots * DAYS_PER_WEEK + day_of_week(ts)
    weekly = state.weekly_error[slots] < WEEKLY_GAIN * state.daily_error[slots]
    weekday = np.where(weekly, state.weekday.reshape(-1)[weekday_cell], 0.0)
    level = state.level[slots]
    level_error = state.level_error[slots]
    floor = spread_floor(level, state.raw_error[slots])
    visits = state.profile_visits.reshape(-1)[cell]
    season_error = state.season_error[slots]
    bin_error = state.profile_error.reshape(-1)[cell]
    shrunk = (visits * bin_error + BIN_ERROR_PRIOR_POINTS * season_error) / (visits + BIN_ERROR_PRIOR_POINTS)
    season_spread = np.where(
        visits >= BIN_ERROR_MIN_VISITS, np.maximum(shrunk, BIN_ERROR_SHARE * season_error), season_error
    )
    season_ready = visits >= config.season_min_visits
    uses_season = (
        season_ready & (state.season_updates[slots] >= config.warmup_points) & state.prefers_season[slots]
    )
    return Prediction(
        level_mean=level,
        level_spread=np.maximum(level_error, floor),
        season_mean=state.profile.reshape(-1)[cell] + weekday + state.season_offset[slots],
        season_offset=state.season_offset[slots],
        season_spread=np.maximum(season_spread, floor),
        season_ready=season_ready,
        uses_season=uses_season,
        day_bin=bins,
        cell=cell,
        weekday_cell=weekday_cell,
        weekday=weekday,
    )


def learn(
    state: BaselineState,
    slots: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    prediction: Prediction,
    seen: npt.NDArray[np.int64],
    per_visit: npt.NDArray[np.float64],
    config: DetectorConfig,
) -> None:
    """Fold accepted values in; `seen` counts points learned before these, `per_visit` is
    `points_per_visit` of these series."""
    clipping = seen >= config.warmup_points
    limit = np.where(clipping, config.clip_spreads, np.inf)
    level_weight = warm_weight(seen, config.level_span)
    error_weight = np.maximum(1.0 / np.maximum(seen, 1), span_weight(config.error_span))

    level = state.level[slots]
    level_error = state.level_error[slots]
    raw_error = state.raw_error[slots]
    level_limit = limit * prediction.level_spread
    level_step = np.clip(values - level, -level_limit, level_limit)
    state.level[slots] = level + level_weight * level_step
    state.level_error[slots] = np.where(
        seen > 0, level_error + error_weight * (np.abs(level_step) - level_error), 0.0
    )
    raw_weight = np.maximum(1.0 / np.maximum(seen, 1), span_weight(config.raw_error_span))
    state.raw_error[slots] = np.where(
        seen > 0, raw_error + raw_weight * (np.abs(values - level) - raw_error), 0.0
    )

    cell = prediction.cell
    profile_cells = state.profile.reshape(-1)
    visit_cells = state.profile_visits.reshape(-1)
    error_cells = state.profile_error.reshape(-1)
    weekday_cells = state.weekday.reshape(-1)
    weekday_count_cells = state.weekday_points.reshape(-1)
    weekday_learned = weekday_cells[prediction.weekday_cell]
    weekday_count = weekday_count_cells[prediction.weekday_cell]
    weekday = prediction.weekday
    # The typical value at this time (on this weekday, where weekdays matter).
    profile = profile_cells[cell] + weekday
    visits = visit_cells[cell]
    visited = visits > 0
    ready = prediction.season_ready
    offset = state.season_offset[slots]
    season_error = state.season_error[slots]
    updates = state.season_updates[slots]
    # Until the seasonal model has an error history of its own, clip it with the level's spread.
    season_limit = limit * np.where(
        updates >= config.warmup_points,
        prediction.season_spread,
        np.maximum(prediction.season_spread, prediction.level_spread),
    )
    season_step = np.clip(values - profile - offset, -season_limit, season_limit)
    season_weight = np.maximum(1.0 / (updates + 1.0), span_weight(config.error_span))
    state.season_error[slots] = np.where(
        ready, season_error + season_weight * (np.abs(season_step) - season_error), season_error
    )
    state.season_updates[slots] = updates + ready
    # Hysteresis: an anomaly inflates the error of whichever model is in use, and switching models
    # in the middle of one would hide it.
    new_season_error = state.season_error[slots]
    new_level_error = state.level_error[slots]
    prefers = state.prefers_season[slots]
    state.prefers_season[slots] = np.where(
        prefers,
        new_season_error < config.season_keep_ratio * new_level_error,
        new_season_error < config.season_gain * new_level_error,
    )
    # A bin's first visit defines it; later visits move the bin, and the offset tracks today.
    state.season_offset[slots] = np.where(visited, offset + level_weight * season_step, offset)
    # A running mean of the bin's points until it spans `season_visit_span` visits, then an EWMA
    # over that many visits (each visit's points share the weight of one).
    visit_weight = np.maximum(1.0 / (visits + 1.0), 1.0 / (config.season_visit_span * per_visit))
    # The daily profile learns the weekday-adjusted value (adjusted whether or not the offsets are
    # used yet, so that it does not soak up a weekly rhythm the offsets are still learning).
    daily_profile = profile_cells[cell]
    typical_step = np.clip(values - weekday_learned - daily_profile, -season_limit, season_limit)
    profile_cells[cell] = np.where(
        visited, daily_profile + visit_weight * typical_step, values - offset - weekday_learned
    )
    # A weekday's offset is what stays of the daily typical value's error on that weekday, learned
    # much more slowly, and shrunk towards 0 until the weekday has been seen for a while.
    weekday_weight = np.maximum(1.0 / (weekday_count + WEEKDAY_PRIOR_POINTS), 1.0 / config.weekday_span)
    daily = profile - weekday
    weekday_step = np.clip(values - daily - weekday_learned, -season_limit, season_limit)
    weekday_cells[prediction.weekday_cell] = weekday_learned + np.where(
        visited, weekday_weight * weekday_step, 0.0
    )
    weekday_count_cells[prediction.weekday_cell] = weekday_count + visited
    daily_error = state.daily_error[slots]
    weekly_error = state.weekly_error[slots]
    without = np.abs(np.clip(values - daily, -season_limit, season_limit))
    state.daily_error[slots] = np.where(
        visited, daily_error + season_weight * (without - daily_error), daily_error
    )
    state.weekly_error[slots] = np.where(
        visited, weekly_error + season_weight * (np.abs(weekday_step) - weekly_error), weekly_error
    )

    bin_error = error_cells[cell]
    error_cells[cell] = np.where(visited, bin_error + visit_weight * (np.abs(season_step) - bin_error), 0.0)
    visit_cells[cell] = visits + 1

    recent = state.recent[slots]
    state.recent[slots] = np.where(seen > 0, recent + span_weight(RECENT_SPAN) * (values - recent), values)


def shift_runs(
    state: BaselineState,
    slots: npt.NDArray[np.int64],
    level_z: npt.NDArray[np.float64],
    season_z: npt.NDArray[np.float64],
    prediction: Prediction,
    seen: npt.NDArray[np.int64],
    config: DetectorConfig,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Count same-side runs beyond the clip; re-anchor a predictor whose run got long enough."""
    clipping = seen >= config.warmup_points
    level_shift = _advance_run(state.level_run, slots, level_z, clipping, config)
    season_shift = _advance_run(state.season_run, slots, season_z, clipping & prediction.season_ready, config)
    recent = state.recent[slots]
    moved = slots[level_shift]
    state.level[moved] = recent[level_shift]
    moved = slots[season_shift]
    state.season_offset[moved] = (
        recent[season_shift] - state.profile.reshape(-1)[prediction.cell[season_shift]]
    )
    return level_shift, season_shift


def _advance_run(
    runs: npt.NDArray[np.int64],
    slots: npt.NDArray[np.int64],
    z: npt.NDArray[np.float64],
    active: npt.NDArray[np.bool_],
    config: DetectorConfig,
) -> npt.NDArray[np.bool_]:
    run = runs[slots]
    beyond = active & (np.abs(z) > config.clip_spreads)
    run = np.where(
        beyond & (z > 0), np.maximum(run, 0) + 1, np.where(beyond & (z < 0), np.minimum(run, 0) - 1, 0)
    )
    shifted = np.abs(run) >= config.shift_run_points
    runs[slots] = np.where(shifted, 0, run)
    return shifted
