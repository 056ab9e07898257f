"""A trained forecaster: XGBoost bytes plus what they mean (features, horizon, alarm threshold)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from engine.forecasting.features import FEATURE_NAMES


class ForecastModelError(ValueError):
    """A stored forecaster that cannot be used (corrupt bytes, other features)."""


@dataclass(frozen=True, slots=True)
class ForecastModel:
    ubj: bytes
    version: str
    threshold: float
    """Probability from which a forecast is an alarm; chosen on validation rows at training."""
    horizon_seconds: float
    metrics: dict[str, Any]
    """Held-out metrics recorded at training (`ForecastMetrics.to_json()`)."""
    feature_names: tuple[str, ...] = FEATURE_NAMES

    def details(self) -> dict[str, Any]:
        return {
            "format": "nocbot-incident-forecast-1",
            "version": self.version,
            "threshold": self.threshold,
            "horizon_seconds": self.horizon_seconds,
            "feature_names": list(self.feature_names),
            "sha256": hashlib.sha256(self.ubj).hexdigest(),
        }

    @classmethod
    def from_stored(cls, ubj: bytes, details: dict[str, Any], metrics: dict[str, Any]) -> ForecastModel:
        try:
            if details.get("format") != "nocbot-incident-forecast-1":
                raise ForecastModelError(f"unknown forecaster format {details.get('format')!r}")
            if hashlib.sha256(ubj).hexdigest() != details["sha256"]:
                raise ForecastModelError("forecaster bytes do not match their checksum")
            names = tuple(details["feature_names"])
            if names != FEATURE_NAMES:
                raise ForecastModelError("forecaster was trained on other features; train it again")
            return cls(
                ubj=ubj,
                version=str(details["version"]),
                threshold=float(details["threshold"]),
                horizon_seconds=float(details["horizon_seconds"]),
                metrics=metrics,
                feature_names=names,
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ForecastModelError):
                raise
            raise ForecastModelError(f"forecaster details unreadable: {exc}") from exc

    def booster(self) -> xgb.Booster:
        booster = xgb.Booster(params={"nthread": 1})
        try:
            booster.load_model(bytearray(self.ubj))
        except xgb.core.XGBoostError as exc:
            raise ForecastModelError(f"forecaster bytes unreadable: {exc}") from exc
        return booster


def probabilities(booster: xgb.Booster, features: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    if len(features) == 0:
        return np.zeros(0, dtype=np.float64)
    matrix = xgb.DMatrix(features, feature_names=list(FEATURE_NAMES), nthread=1)
    return np.asarray(booster.predict(matrix), dtype=np.float64)
