"""Predictive time-to-breach: "disk will reach 95 % in ~40 min" before it does.

Pure functions over one series' recent points. The trend is a Theil–Sen line (median of pairwise
slopes) over `window_seconds`, so a few spikes neither fake nor hide a trend. `BreachWatch`
turns forecasts into raise/clear decisions with hysteresis:

- raise when the fitted line reaches the limit within `horizon_seconds`, the trend is real (the
  rise over the window is at least `min_trend_noise_ratio` times the residual noise) and there are
  `min_points` points in the window;
- clear when the forecast no longer reaches the limit within `clear_factor * horizon_seconds`,
  when the trend turned away from the limit, or once the limit is actually crossed (the plain
  threshold alert owns that situation).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Pairwise slopes are O(n^2): beyond this many points the window is thinned evenly.
MAX_FIT_POINTS = 120


@dataclass(frozen=True, slots=True)
class BreachRule:
    limit: float
    rising: bool = True  # True: breach means value >= limit; False: value <= limit
    window_seconds: float = 3_600.0
    horizon_seconds: float = 4 * 3_600.0
    min_points: int = 6
    min_trend_noise_ratio: float = 2.0
    clear_factor: float = 1.5

    def __post_init__(self) -> None:
        if not np.isfinite(self.limit):
            raise ValueError("limit must be finite")
        if self.window_seconds <= 0 or self.horizon_seconds <= 0:
            raise ValueError("window_seconds and horizon_seconds must be positive")
        if self.min_points < 3:
            raise ValueError("min_points must be >= 3")
        if self.clear_factor < 1.0:
            raise ValueError("clear_factor must be >= 1")


@dataclass(frozen=True, slots=True)
class BreachForecast:
    at: float  # timestamp of the newest point used
    points: int
    level: float  # fitted value at `at`
    slope_per_second: float
    noise: float  # median absolute residual around the line
    breached: bool  # the newest fitted level is already past the limit
    seconds_to_breach: float | None  # None: the line does not approach the limit

    @property
    def minutes_to_breach(self) -> float | None:
        return None if self.seconds_to_breach is None else self.seconds_to_breach / 60.0


def theil_sen(ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> tuple[float, float]:
    """(slope, intercept at ts[-1]) of the median-of-pairwise-slopes line; ts sorted ascending."""
    dt = ts[None, :] - ts[:, None]
    dv = values[None, :] - values[:, None]
    upper = dt > 0
    slope = float(np.median(dv[upper] / dt[upper]))
    intercept = float(np.median(values - slope * (ts - ts[-1])))
    return slope, intercept


def forecast_breach(ts: npt.ArrayLike, values: npt.ArrayLike, rule: BreachRule) -> BreachForecast | None:
    """Forecast from the points of the last `window_seconds`; None when there are too few."""
    t = np.asarray(ts, dtype=np.float64).ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    if len(t) != len(v):
        raise ValueError("ts and values must have the same length")
    usable = np.isfinite(t) & np.isfinite(v)
    t, v = t[usable], v[usable]
    if len(t) == 0:
        return None
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    in_window = t >= t[-1] - rule.window_seconds
    t, v = t[in_window], v[in_window]
    # Repeated timestamps carry no slope information; keep the first of each.
    t, first = np.unique(t, return_index=True)
    v = v[first]
    if len(t) < rule.min_points:
        return None
    if len(t) > MAX_FIT_POINTS:
        keep = np.unique(np.linspace(0, len(t) - 1, MAX_FIT_POINTS).round().astype(np.int64))
        t, v = t[keep], v[keep]
    slope, level = theil_sen(t, v)
    noise = float(np.median(np.abs(v - (level + slope * (t - t[-1])))))
    toward = slope if rule.rising else -slope
    gap = (rule.limit - level) if rule.rising else (level - rule.limit)
    breached = gap <= 0
    seconds = None if breached or toward <= 0 else gap / toward
    return BreachForecast(
        at=float(t[-1]),
        points=len(t),
        level=level,
        slope_per_second=slope,
        noise=noise,
        breached=breached,
        seconds_to_breach=seconds,
    )


class BreachDecision(enum.StrEnum):
    RAISE = "raise"
    CLEAR = "clear"


@dataclass(slots=True)
class BreachWatch:
    """Raise/clear hysteresis for one series; `raised` is its whole (persistable) state."""

    rule: BreachRule
    raised: bool = False

    def step(self, forecast: BreachForecast | None) -> BreachDecision | None:
        if forecast is None:
            return None
        if self.raised:
            if self._should_clear(forecast):
                self.raised = False
                return BreachDecision.CLEAR
            return None
        if self._should_raise(forecast):
            self.raised = True
            return BreachDecision.RAISE
        return None

    def _should_raise(self, forecast: BreachForecast) -> bool:
        rule = self.rule
        if forecast.breached or forecast.seconds_to_breach is None:
            return False
        if forecast.points < rule.min_points or forecast.seconds_to_breach > rule.horizon_seconds:
            return False
        rise = abs(forecast.slope_per_second) * rule.window_seconds
        return rise >= rule.min_trend_noise_ratio * forecast.noise

    def _should_clear(self, forecast: BreachForecast) -> bool:
        if forecast.breached or forecast.seconds_to_breach is None:
            return True
        return forecast.seconds_to_breach > self.rule.clear_factor * self.rule.horizon_seconds
