"""Will a service have a major incident in the next 30 minutes? Features from what happened on it
(alerts, anomalies, breach predictions, changes, earlier incidents), an XGBoost classifier trained
on the history, and precision / recall / lead time measured on a held-out later period. Pure: data in,
data out; storage and the serving loop live elsewhere (engine.storage.forecast_rows,
engine.forecast_watch)."""

from engine.forecasting.features import FEATURE_NAMES, LOOKBACK, feature_matrix
from engine.forecasting.history import EventHistory, EventHistoryBuilder, ServiceEvents
from engine.forecasting.model import ForecastModel, ForecastModelError
from engine.forecasting.training import ForecastMetrics, ForecastParams, train_forecaster

__all__ = [
    "FEATURE_NAMES",
    "LOOKBACK",
    "EventHistory",
    "EventHistoryBuilder",
    "ForecastMetrics",
    "ForecastModel",
    "ForecastModelError",
    "ForecastParams",
    "ServiceEvents",
    "feature_matrix",
    "train_forecaster",
]
