"""Offline scoring: run recorded series through the same streaming detector the service uses.

Each series gets its own slot and its points are fed in file order, exactly as if they had
arrived one by one; several series are simply scored side by side (rounds of one point each).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.detection.config import DetectorConfig
from engine.detection.detector import StreamingDetector
from engine.detection.result import EpisodeEvent


@dataclass(frozen=True, slots=True)
class ScoredSeries:
    score: npt.NDArray[np.float64]  # the debounced score alerting acts on, in [0, 1]
    raw_score: npt.NDArray[np.float64]
    alert: npt.NDArray[np.bool_]  # an alert (episode start) was raised at this row
    status: npt.NDArray[np.int8]
    expected_low: npt.NDArray[np.float64]
    expected_high: npt.NDArray[np.float64]


def score_many(
    series: Sequence[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]],
    config: DetectorConfig | None = None,
) -> list[ScoredSeries]:
    """Score every (ts, values) pair; a file's row order is its arrival order."""
    detector = StreamingDetector(config, capacity=len(series))
    lengths = [len(ts) for ts, _ in series]
    total = sum(lengths)
    slots = np.repeat(np.arange(len(series), dtype=np.int64), lengths)
    row = np.concatenate([np.arange(n) for n in lengths]) if total else np.empty(0, dtype=np.int64)
    ts = np.concatenate([np.asarray(t, dtype=np.float64) for t, _ in series]) if total else np.empty(0)
    values = np.concatenate([np.asarray(v, dtype=np.float64) for _, v in series]) if total else np.empty(0)

    score = np.zeros(total)
    raw_score = np.zeros(total)
    alert = np.zeros(total, dtype=np.bool_)
    status = np.zeros(total, dtype=np.int8)
    low = np.full(total, np.nan)
    high = np.full(total, np.nan)
    # Row i of every file forms one update: a late row is then judged against the rows before it
    # in the file, as a live feed would judge it (within one update call the detector would
    # otherwise put a series' points in timestamp order).
    order = np.argsort(row, kind="stable")
    boundaries = np.cumsum(np.bincount(row))[:-1] if total else np.empty(0, dtype=np.int64)
    for positions in np.split(order, boundaries):
        result = detector.update(slots[positions], ts[positions], values[positions])
        score[positions] = result.alert_score
        raw_score[positions] = result.score
        alert[positions] = result.event == EpisodeEvent.STARTED
        status[positions] = result.status
        low[positions] = result.expected_low
        high[positions] = result.expected_high

    pieces: list[ScoredSeries] = []
    start = 0
    for n in lengths:
        part = slice(start, start + n)
        pieces.append(
            ScoredSeries(score[part], raw_score[part], alert[part], status[part], low[part], high[part])
        )
        start += n
    return pieces


def score_series(
    ts: npt.NDArray[np.float64], values: npt.NDArray[np.float64], config: DetectorConfig | None = None
) -> ScoredSeries:
    return score_many([(ts, values)], config)[0]
