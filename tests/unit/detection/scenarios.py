"""Synthetic series shared by the detection tests (deterministic: fixed seeds)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

START = 1_700_000_000.0  # a Tuesday, 22:13 UTC; any start works
STEP = 60.0
POINTS = 1500
EVENT_AT = 1200


def timestamps(points: int = POINTS, step: float = STEP) -> npt.NDArray[np.float64]:
    return START + step * np.arange(points, dtype=np.float64)


def noise(seed: int, points: int = POINTS) -> npt.NDArray[np.float64]:
    return np.random.default_rng(seed).normal(0.0, 1.0, points)


def flat(points: int = POINTS) -> npt.NDArray[np.float64]:
    return np.full(points, 42.0)


def noisy(seed: int = 1) -> npt.NDArray[np.float64]:
    return 100.0 + 2.0 * noise(seed)


def with_spike(seed: int = 2) -> npt.NDArray[np.float64]:
    values = noisy(seed)
    values[EVENT_AT] += 60.0  # 30 standard deviations
    return values


def with_level_shift(seed: int = 3) -> npt.NDArray[np.float64]:
    values = noisy(seed)
    values[EVENT_AT:] += 32.0  # 16 standard deviations, for good
    return values


def with_drift(seed: int = 4) -> npt.NDArray[np.float64]:
    """A steady ramp of 0.25 standard deviations per point: never a jump the noise would not make."""
    values = noisy(seed)
    ramp = np.clip(np.arange(POINTS) - EVENT_AT, 0, None) * 0.5
    return values + ramp
