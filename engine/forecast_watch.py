"""The incident forecaster in the service: every few minutes, on the deciding replica, each service
that raised an alert or changed lately is forecast with the active model; a probability at or above
the model's threshold is recorded as an alarm, and alarms whose horizon has passed are settled with
what happened (engine.storage.forecast_rows). Without a trained model nothing is forecast."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import xgboost as xgb
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.clock import Clock
from engine.forecasting import EventHistory, ForecastModel, feature_matrix
from engine.forecasting.features import LOOKBACK
from engine.forecasting.model import probabilities
from engine.storage.forecast_rows import (
    FORECAST_MODEL,
    Alarm,
    load_forecaster,
    read_event_history,
    record_alarms,
    services_in_major_incident,
    services_with_pending_alarm,
    settle_alarms,
)
from engine.storage.model_rows import active_version

log = logging.getLogger(__name__)

RECENT = timedelta(hours=1)
"""Alerts are read one hour back (the longest alert window); older ones only as each service's
latest, for "minutes since the last alert"."""


@dataclass(frozen=True, slots=True)
class ForecastRound:
    at: datetime
    model_version: str | None
    forecast: int
    alarms: tuple[Alarm, ...]
    settled: int


class IncidentForecaster:
    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._model: ForecastModel | None = None
        self._booster: xgb.Booster | None = None

    async def run_once(self) -> ForecastRound:
        now = self._clock.now()
        async with self._engine.begin() as conn:
            settled = await settle_alarms(conn, now)
            model = await self._current_model(conn)
            if model is None or self._booster is None:
                return ForecastRound(now, None, 0, (), settled)
            history = await _recent_history(conn, now)
            skip = await services_in_major_incident(conn) | await services_with_pending_alarm(conn, now)
            services = sorted(name for name in history.services if name not in skip)
            at = np.array([now.timestamp()])
            rows = [feature_matrix(history, name, at) for name in services]
            chances = probabilities(self._booster, np.vstack(rows)) if rows else np.zeros(0)
            horizon = now + timedelta(seconds=model.horizon_seconds)
            alarms = tuple(
                Alarm(name, now, horizon, float(chance), model.threshold, model.version)
                for name, chance in zip(services, chances, strict=True)
                if chance >= model.threshold
            )
            await record_alarms(conn, alarms)
        for alarm in alarms:
            log.info(
                "incident forecast: %s may have a major incident within %d min (p=%.2f)",
                alarm.service,
                model.horizon_seconds // 60,
                alarm.probability,
                extra={"service": alarm.service, "probability": alarm.probability},
            )
        return ForecastRound(now, model.version, len(services), alarms, settled)

    async def _current_model(self, conn: AsyncConnection) -> ForecastModel | None:
        version = await active_version(conn, kind=FORECAST_MODEL)
        if version is None:
            self._model = self._booster = None
        elif self._model is None or self._model.version != version:
            self._model = await load_forecaster(conn)
            self._booster = None if self._model is None else self._model.booster()
        return self._model


async def _recent_history(conn: AsyncConnection, now: datetime) -> EventHistory:
    return await read_event_history(
        conn,
        now - timedelta(seconds=max(LOOKBACK["alerts"], LOOKBACK["changes"])),
        now,
        alerts_since=now - RECENT,
        majors_since=now - timedelta(seconds=LOOKBACK["majors"]),
    )
