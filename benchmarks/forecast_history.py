"""A synthetic estate history for the 30-minute incident forecaster. Nothing here is real data.

Each service has background alerts, bursts of warnings that fizzle out (with anomalies now and
then), deploys in business hours, and major incidents (P1/P2). About half of the major incidents
build up first: warnings at a rising rate for 10-50 minutes, often with metric anomalies and
sometimes a predicted breach; some follow a deploy; the rest start without warning. A fifth of
them spill over to another service a few minutes later. So a perfect forecaster cannot exist: the
sudden ones are unpredictable and the fizzling bursts look like build-ups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.forecasting import EventHistory, EventHistoryBuilder
from engine.models import AlertSource, Severity

MINUTE = 60.0
HOUR = 3600.0
DAY = 86_400.0
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class Generated:
    history: EventHistory
    majors: int
    preceded: int


def generate(services: int = 30, days: int = 90, seed: int = 7) -> Generated:
    rng = np.random.default_rng(seed)
    builder = EventHistoryBuilder()
    end = START + days * DAY
    names = [f"svc-{i:02d}" for i in range(services)]
    majors = preceded = 0
    busy: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for name in names:
        background = rng.lognormal(np.log(0.3), 0.6)  # alerts an hour
        for at in _poisson(rng, background / HOUR, START, end):
            builder.alert(name, at, int(rng.choice([1, 2, 3], p=[0.3, 0.6, 0.1])), AlertSource.ALERTMANAGER)
        for at in _poisson(rng, 1.0 / DAY, START, end):  # bursts that come to nothing
            _build_up(rng, builder, name, at, rng.uniform(10, 40) * MINUTE, fizzle=True)
        for at in _poisson(rng, 6.0 / DAY, START, end):
            if _business_hours(at):
                builder.change(name, at)
                if rng.random() < 0.04:  # a bad deploy
                    lag = rng.uniform(5, 40) * MINUTE
                    if rng.random() < 0.6:
                        _build_up(rng, builder, name, at + 2 * MINUTE, lag - 2 * MINUTE, fizzle=False)
                    majors += _major(rng, builder, names, name, at + lag, busy)
    for name in names:
        for at in _poisson(rng, 1.0 / (8 * DAY), START, end):
            if rng.random() < 0.5:
                lead = rng.uniform(10, 50) * MINUTE
                _build_up(rng, builder, name, at - lead, lead, fizzle=False)
                preceded += 1
            majors += _major(rng, builder, names, name, at, busy)
    return Generated(builder.build(START, end), majors, preceded)


def _poisson(rng: np.random.Generator, rate: float, start: float, end: float) -> list[float]:
    count = rng.poisson(rate * (end - start))
    return sorted(float(x) for x in rng.uniform(start, end, count))


def _business_hours(at: float) -> bool:
    hour = (at % DAY) / HOUR
    weekday = (int(at // DAY) + 3) % 7
    return weekday < 5 and 8 <= hour < 18


def _build_up(
    rng: np.random.Generator,
    builder: EventHistoryBuilder,
    name: str,
    start: float,
    length: float,
    *,
    fizzle: bool,
) -> None:
    """Warnings at a rate rising over `length` (falling again when the burst fizzles)."""
    count = int(rng.integers(3, 9)) if fizzle else int(rng.integers(5, 16))
    shape = rng.beta(1.0, 2.5, count) if fizzle else rng.beta(2.5, 1.0, count)
    anomalies = rng.random() < (0.35 if fizzle else 0.6)
    breach = rng.random() < (0.05 if fizzle else 0.25)
    for fraction in np.sort(shape):
        at = start + float(fraction) * length
        severity = Severity.ERROR if fraction > 0.8 and rng.random() < 0.4 else Severity.WARNING
        builder.alert(name, at, int(severity), AlertSource.ALERTMANAGER)
        if anomalies and rng.random() < 0.5:
            builder.alert(name, at + rng.uniform(0, 60), int(Severity.WARNING), AlertSource.ANOMALY)
    if breach:
        builder.alert(name, start + 0.5 * length, int(Severity.WARNING), AlertSource.PREDICTION)


def _major(
    rng: np.random.Generator,
    builder: EventHistoryBuilder,
    names: list[str],
    name: str,
    onset: float,
    busy: dict[str, list[tuple[float, float]]],
) -> int:
    duration = rng.uniform(20, 120) * MINUTE
    if not _claim(busy[name], onset, onset + duration):  # already in a major incident then
        return 0
    for _ in range(int(rng.integers(2, 8))):
        builder.alert(name, onset + rng.uniform(0, 120), int(Severity.CRITICAL), AlertSource.ALERTMANAGER)
    builder.major_incident(name, onset, onset + duration)
    if rng.random() < 0.2:  # the outage spills over to a dependent service
        other = names[int(rng.integers(len(names)))]
        later = onset + rng.uniform(1, 10) * MINUTE
        if other != name and _claim(busy[other], later, later + duration):
            builder.alert(other, later, int(Severity.CRITICAL), AlertSource.ALERTMANAGER)
            builder.major_incident(other, later, later + duration)
            return 2
    return 1


def _claim(spans: list[tuple[float, float]], start: float, end: float) -> bool:
    """Take [start, end) unless it overlaps a span taken before (spans arrive in any time order)."""
    if any(start < taken_end and taken_start < end for taken_start, taken_end in spans):
        return False
    spans.append((start, end))
    return True
