"""The streaming detector: many series, one struct-of-arrays state, one vectorized update.

    detector = StreamingDetector()                  # DetectorConfig() defaults
    result = detector.update(slots, ts, values)     # numpy arrays, any order, any mix of series
    blob = detector.to_bytes(); detector = StreamingDetector.from_bytes(blob)

A slot is the caller's integer id for a series (the service maps series keys to slots). A point's
score depends only on that point and the series' earlier points. Within one call a series' points
are taken in timestamp order; across calls, in arrival order. The method lives in the modules
`model` wires together: admission (bad points), baseline (expected value), views (statistics),
tails (per-series rarity), rhythm (time-of-day habits), episodes (alert debounce).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.detection.config import DetectorConfig
from engine.detection.model import Calibration, run_round
from engine.detection.result import DetectionResult, EpisodeEvent
from engine.detection.rounds import split_rounds
from engine.detection.state import DetectorState
from engine.detection.state_codec import decode_state, encode_state

# a series' state is ~6 KB: a stored blob that inflates past this is damaged, not a state
SERIES_STATE_LIMIT = 1 << 20


class StreamingDetector:
    def __init__(self, config: DetectorConfig | None = None, capacity: int = 0) -> None:
        self.config = config or DetectorConfig()
        self._calibration = Calibration.of(self.config)
        self._state = DetectorState.allocate(0, self.config)
        self.reserve(capacity)

    @property
    def capacity(self) -> int:
        return self._state.capacity

    def reserve(self, capacity: int) -> None:
        """Make room for slots 0..capacity-1 (grows geometrically; existing state is kept)."""
        if capacity > self.capacity:
            self._state = self._state.grown(max(capacity, 2 * self.capacity), self.config)

    def reset(self, slots: npt.ArrayLike) -> None:
        """Forget these series entirely (e.g. a slot reused for another series)."""
        chosen = _slot_array(slots)
        blank = DetectorState.allocate(1, self.config).series_arrays(0)
        for slot in chosen.tolist():
            if slot < self.capacity:
                self._state.put_series(slot, blank)

    def update(self, slots: npt.ArrayLike, ts: npt.ArrayLike, values: npt.ArrayLike) -> DetectionResult:
        """Score and learn a batch of points; row i of the result describes input point i."""
        slot_array = _slot_array(slots)
        ts_array = np.asarray(ts, dtype=np.float64).ravel()
        value_array = np.asarray(values, dtype=np.float64).ravel()
        if not len(slot_array) == len(ts_array) == len(value_array):
            raise ValueError("slots, ts and values must have the same length")
        if slot_array.size:
            self.reserve(int(slot_array.max()) + 1)
        size = len(slot_array)
        score = np.zeros(size)
        alert_score = np.zeros(size)
        expected = np.full(size, np.nan)
        expected_low = np.full(size, np.nan)
        expected_high = np.full(size, np.nan)
        status = np.zeros(size, dtype=np.int8)
        event = np.zeros(size, dtype=np.int8)
        for positions in split_rounds(slot_array, ts_array):
            outcome = run_round(
                self._state,
                self.config,
                self._calibration,
                slot_array[positions],
                ts_array[positions],
                value_array[positions],
            )
            status[positions] = outcome.status
            where = positions[outcome.accepted]
            score[where] = outcome.score
            alert_score[where] = outcome.alert_score
            expected[where] = outcome.expected
            expected_low[where] = outcome.expected_low
            expected_high[where] = outcome.expected_high
            event[where[outcome.started]] = EpisodeEvent.STARTED
            event[where[outcome.ended]] = EpisodeEvent.ENDED
        return DetectionResult(
            slots=slot_array,
            ts=ts_array,
            values=value_array,
            score=score,
            alert_score=alert_score,
            is_anomaly=score >= self.config.alert_score,
            expected=expected,
            expected_low=expected_low,
            expected_high=expected_high,
            status=status,
            event=event,
        )

    def counters(self, slot: int) -> dict[str, int]:
        """How many points of this series were accepted and why others were ignored."""
        admission = self._state.admission
        known = 0 <= slot < self.capacity
        names = ("accepted", "not_finite", "out_of_order", "duplicate")
        return {name: int(getattr(admission, name)[slot]) if known else 0 for name in names}

    def episode_open(self, slot: int) -> bool:
        return 0 <= slot < self.capacity and bool(self._state.episodes.open[slot])

    # -- persistence: `state_codec` blobs, no pickles, safe to load from storage -----------------------

    def to_bytes(self) -> bytes:
        """Every slot's state."""
        return encode_state(self._state.to_arrays(), self.config, self.capacity)

    @classmethod
    def from_bytes(cls, blob: bytes) -> StreamingDetector:
        arrays, config, capacity = decode_state(blob)
        detector = cls(config)
        detector._state = DetectorState.from_arrays(arrays, capacity, config)
        return detector

    def series_state(self, slot: int) -> bytes:
        """One series' state (a few KB), to store beside the series; restore with `load_series_state`."""
        return self.encode_series(self.series_snapshot(slot))

    def series_snapshot(self, slot: int) -> dict[str, npt.NDArray[Any]]:
        """One series' state as detached arrays: quick to take while updates wait; encoding them
        (`encode_series`, milliseconds) can then happen while updates go on."""
        self.reserve(int(_slot_array([slot])[0]) + 1)
        return self._state.series_arrays(slot)

    def encode_series(self, snapshot: dict[str, npt.NDArray[Any]]) -> bytes:
        return encode_state(snapshot, self.config, 1)

    def series_snapshots(self, slots: Sequence[int]) -> dict[str, npt.NDArray[Any]]:
        """Many series' state at once: each array gets one row per slot, in `slots` order. One copy
        per state array however many series, so a save of thousands holds updates up briefly."""
        chosen = _slot_array(slots)
        if chosen.size:
            self.reserve(int(chosen.max()) + 1)
        return self._state.series_arrays(chosen)

    def encode_series_rows(self, snapshots: dict[str, npt.NDArray[Any]]) -> list[bytes]:
        """One blob per row of `series_snapshots`, each what `series_state` gives for its series."""
        return encode_series_rows(snapshots, self.config)

    def load_series_state(self, slot: int, blob: bytes) -> None:
        self.put_series(slot, self.decode_series(blob))

    def decode_series(self, blob: bytes) -> dict[str, npt.NDArray[Any]]:
        """The arrays of a saved series state (milliseconds: can run beside updates)."""
        return decode_series(blob, self.config)

    def put_series(self, slot: int, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.reserve(int(_slot_array([slot])[0]) + 1)
        self._state.put_series(slot, arrays)


def _slot_array(slots: npt.ArrayLike) -> npt.NDArray[np.int64]:
    array = np.asarray(slots, dtype=np.int64).ravel()
    if array.size and int(array.min()) < 0:
        raise ValueError("slots must be >= 0")
    return array


def encode_series_rows(snapshots: dict[str, npt.NDArray[Any]], config: DetectorConfig) -> list[bytes]:
    """One blob per row of a `series_snapshots` result (the detector need not be at hand)."""
    count = len(next(iter(snapshots.values()))) if snapshots else 0
    return [
        encode_state({name: array[row, ...] for name, array in snapshots.items()}, config, 1)
        for row in range(count)
    ]


def decode_series(blob: bytes, config: DetectorConfig) -> dict[str, npt.NDArray[Any]]:
    """The arrays of a series state saved by a detector with this configuration."""
    arrays, saved_with, _ = decode_state(blob, max_size=SERIES_STATE_LIMIT)
    if saved_with != config:
        raise ValueError("series state was saved with a different detector configuration")
    return arrays
