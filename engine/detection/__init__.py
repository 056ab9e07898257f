"""Streaming anomaly detection for metric series (pure: numpy only, no I/O).

The service keeps one `StreamingDetector` for many series (integer slots), feeds it batches with
`update(slots, ts, values)`, turns `result.events()` into alerts, and persists state with
`to_bytes()` / `from_bytes()` (or per series with `series_state` / `load_series_state`).
`forecast` predicts time-to-breach for series with a limit; `offline` replays recorded series.
"""

from engine.detection.config import DetectorConfig
from engine.detection.detector import StreamingDetector
from engine.detection.forecast import BreachDecision, BreachForecast, BreachRule, BreachWatch, forecast_breach
from engine.detection.offline import ScoredSeries, score_many, score_series
from engine.detection.result import AnomalyEvent, DetectionResult, EpisodeEvent, PointStatus

__all__ = [
    "AnomalyEvent",
    "BreachDecision",
    "BreachForecast",
    "BreachRule",
    "BreachWatch",
    "DetectionResult",
    "DetectorConfig",
    "EpisodeEvent",
    "PointStatus",
    "ScoredSeries",
    "StreamingDetector",
    "forecast_breach",
    "score_many",
    "score_series",
]
