"""The detector's knobs: time constants and risk levels, the same for every series.

Nothing here describes a particular metric. Each series learns its own level, spread, seasonality,
tail behaviour and daily habits; these numbers only say how fast to learn and how rare is "rare".
Spans count points of the series. The defaults are the configuration benchmarked in
benchmarks/nab.py (one configuration for every file).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    # Points before the spread is trusted (statistics before then are not learned as "normal"),
    # then `tail_min_points` more to build the tail histories before anything is scored.
    warmup_points: int = 48
    tail_min_points: int = 48

    # Baseline (baseline.py). The level follows the recent values; errors are mean absolute errors.
    level_span: int = 6
    error_span: int = 300
    # The unclipped error only floors the spread; a long memory keeps z-scores of intermittent
    # series comparable across their quiet and busy stretches.
    raw_error_span: int = 2000
    # Residuals beyond this many spreads are clipped before they move a baseline, so one spike
    # cannot drag it; a run of `shift_run_points` of them on one side is a level shift, re-anchored.
    clip_spreads: float = 4.0
    shift_run_points: int = 10
    # Daily profile: bins per day; memory in visits of a bin (a visit is one day's pass through it,
    # however many points the sampling rate puts in it); points in a bin before it is used.
    day_bins: int = 48
    season_visit_span: int = 12
    season_min_visits: int = 2
    # Each weekday's offset from the daily profile (weekends are quieter...), memory in points.
    weekday_span: int = 2000
    # The seasonal predictor is taken up when its error is below `season_gain` x the level's and
    # dropped only once it exceeds `season_keep_ratio` x (an anomaly inflates the error of the
    # predictor in use; switching in the middle of one would hide it).
    season_gain: float = 1.0
    season_keep_ratio: float = 1.25

    # Views (views.py): EWMA spans of the short and drift statistics.
    short_span: int = 6
    drift_span: int = 300

    # Rhythm (rhythm.py): memory, in visits of a day bin, of how often it produces rare points.
    rhythm_visit_span: int = 30

    # Tails (tails.py, tail_shape.py): log-spaced histogram bins of |statistic|, memory, prior.
    tail_first_edge: float = 0.25
    tail_edge_ratio: float = math.sqrt(2.0)
    tail_bins: int = 32
    tail_span: int = 20_000
    tail_prior_points: float = 1.0
    # Past the record rarity falls as a power law; its index is fitted per series within bounds.
    tail_index_min: float = 1.0
    tail_index_max: float = 10.0
    tail_index_empty: float = 3.0
    # Past magnitudes within `tail_tolerance` of a value count as "seen it" (the 21st daily spike is
    # not a record); the extrapolation starts `tail_record_tolerance` past the record.
    tail_tolerance: float = math.sqrt(2.0)
    tail_record_tolerance: float = 1.2

    # Score (calibration.py): 0.5 means a corrected tail probability of 10**-half_score_decades.
    # The debounce only lets new local highs through, so a modest rarity is already telling; this
    # is where the NAB threshold sweep lands.
    half_score_decades: float = 1.2

    # Alerting (episodes.py): an episode starts when the debounced score reaches `alert_score`
    # (stricter than NAB's optimum, to keep false alerts on noisy series rare); it ends after
    # `clear_points` points scoring below `clear_score`. Scores below `clear_score` are not
    # computed exactly (reported as 0). After a point of rarity r, later points must beat r minus
    # what has decayed (the alert level over `guard_points`, linearly; at most from
    # `guard_ceiling_decades`) to count again.
    alert_score: float = 0.7
    clear_score: float = 0.3
    clear_points: int = 6
    guard_points: int = 150
    guard_ceiling_decades: float = 8.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{field.name} must be a positive number, got {value!r}")
        if not self.clear_score <= self.alert_score < 1.0:
            raise ValueError("need 0 < clear_score <= alert_score < 1")
        if self.tail_edge_ratio <= 1.0 or self.tail_tolerance < 1.0 or self.tail_record_tolerance < 1.0:
            raise ValueError("tail_edge_ratio must exceed 1 and the tolerances must be at least 1")
        if self.tail_index_min > self.tail_index_max:
            raise ValueError("tail_index_min must not exceed tail_index_max")
