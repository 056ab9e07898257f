"""What one batch update returns: per-point arrays aligned with the input, and episode events."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


class PointStatus(enum.IntEnum):
    SCORED = 0
    WARMING_UP = 1  # accepted and learned from, but the series is too young to judge it
    NOT_FINITE = 2
    OUT_OF_ORDER = 3
    DUPLICATE = 4


class EpisodeEvent(enum.IntEnum):
    NONE = 0
    STARTED = 1
    ENDED = 2


@dataclass(frozen=True, slots=True)
class DetectionResult:
    """Row i describes input point i.

    `score` is how anomalous the point is (0..1; 0.5 = a corrected tail probability of
    10**-half_score_decades, see calibration.py);
    `alert_score` is the score after the episode debounce (zero while a higher score was raised
    recently): alerting and NAB use it. `is_anomaly` marks points whose own score reaches the alert
    level. `event` says where an episode starts or ends. Ignored points have score 0, NaN expectations.
    """

    slots: npt.NDArray[np.int64]
    ts: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    score: npt.NDArray[np.float64]
    alert_score: npt.NDArray[np.float64]
    is_anomaly: npt.NDArray[np.bool_]
    expected: npt.NDArray[np.float64]
    expected_low: npt.NDArray[np.float64]
    expected_high: npt.NDArray[np.float64]
    status: npt.NDArray[np.int8]
    event: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return len(self.slots)

    def events(self) -> list[AnomalyEvent]:
        """Episode starts and ends in this batch, in input order (time order within a series)."""
        return [
            AnomalyEvent(
                kind=EpisodeEvent(int(self.event[i])),
                slot=int(self.slots[i]),
                ts=float(self.ts[i]),
                value=float(self.values[i]),
                expected=float(self.expected[i]),
                expected_low=float(self.expected_low[i]),
                expected_high=float(self.expected_high[i]),
                score=float(self.score[i]),
            )
            for i in np.flatnonzero(self.event != EpisodeEvent.NONE).tolist()
        ]


@dataclass(frozen=True, slots=True)
class AnomalyEvent:
    """What an alert needs: the observed value against the range the detector expected.

    A STARTED event opens an anomaly alert (source `anomaly`); an ENDED one resolves it.
    """

    kind: EpisodeEvent
    slot: int
    ts: float
    value: float
    expected: float
    expected_low: float
    expected_high: float
    score: float
