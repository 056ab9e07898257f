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
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.clock import Clock
from engine.forecasting import ForecastModel, ForecastModelError, feature_matrix
from engine.forecasting.model import probabilities
from engine.storage.forecast_rows import (
    FORECAST_MODEL,
    Alarm,
    Reach,
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
        self._model: tuple[ForecastModel, xgb.Booster] | None = None
        self._refused: str | None = None  # an active version that cannot be used (logged once)

    async def run_once(self) -> ForecastRound:
        now = self._clock.now()
        # settled apart: a model that cannot be loaded must not stop the bookkeeping
        async with self._engine.begin() as conn:
            settled = await settle_alarms(conn, now)
        async with self._engine.begin() as conn:
            current = await self._current_model(conn)
            if current is None or not await _take_turn(conn):
                return ForecastRound(now, None, 0, (), settled)
            model, booster = current
            history = await read_event_history(conn, Reach.for_serving(now, RECENT), now)
            skip = await services_in_major_incident(conn, now) | await services_with_pending_alarm(conn, now)
            services = sorted(name for name in history.services if name not in skip)
            at = np.array([now.timestamp()])
            rows = [feature_matrix(history, name, at) for name in services]
            chances = probabilities(booster, np.vstack(rows)) if rows else np.zeros(0)
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

    async def _current_model(self, conn: AsyncConnection) -> tuple[ForecastModel, xgb.Booster] | None:
        version = await active_version(conn, kind=FORECAST_MODEL)
        if version is None or version == self._refused:
            self._model = None
            return None
        if self._model is not None and self._model[0].version == version:
            return self._model
        try:
            model = await load_forecaster(conn)
            self._model = None if model is None else (model, model.booster())
        except ForecastModelError as exc:
            log.error("the active incident forecaster %s cannot be used (%s): train it again", version, exc)
            self._refused, self._model = version, None
        return self._model


async def _take_turn(conn: AsyncConnection) -> bool:
    """One forecasting replica at a time: two that both believe they decide for a moment would
    otherwise each raise the same alarm."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(await conn.scalar(select(func.pg_try_advisory_xact_lock(_TURN_KEY))))


_TURN_KEY = 0x6E6F63_0004  # beside writer_turns', leadership's and the outbox claim's keys
