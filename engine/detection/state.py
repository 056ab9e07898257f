"""All per-series state of the detector, as struct-of-arrays bundles indexed by slot.

Serialization is a flat dict of named arrays (`to_arrays`/`from_arrays`), stored as .npz by the
detector; one series can be taken out and put back (`series_arrays`/`put_series`) so the service
may persist each series beside its other data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from engine.detection.admission import AdmissionState
from engine.detection.baseline import BaselineState
from engine.detection.config import DetectorConfig
from engine.detection.episodes import EpisodeState
from engine.detection.rhythm import RhythmState
from engine.detection.slots import (
    SlotArrays,
    capacity_of,
    copy_slots,
    fill_from,
    put_rows,
    rows_of,
    to_arrays,
)
from engine.detection.tails import TailState
from engine.detection.views import VIEW_COUNT, ViewState


@dataclass(slots=True)
class DetectorState:
    admission: AdmissionState
    baseline: BaselineState
    views: ViewState
    rhythm: RhythmState
    tails: TailState
    episodes: EpisodeState

    @classmethod
    def allocate(cls, capacity: int, config: DetectorConfig) -> DetectorState:
        return cls(
            admission=AdmissionState.allocate(capacity),
            baseline=BaselineState.allocate(capacity, config),
            views=ViewState.allocate(capacity),
            rhythm=RhythmState.allocate(capacity, config),
            tails=TailState.allocate(capacity, VIEW_COUNT, config),
            episodes=EpisodeState.allocate(capacity),
        )

    @property
    def capacity(self) -> int:
        return capacity_of(self.admission)

    def grown(self, capacity: int, config: DetectorConfig) -> DetectorState:
        """Self if it has room for `capacity` slots, else a larger copy (new slots are fresh)."""
        if capacity <= self.capacity:
            return self
        larger = DetectorState.allocate(capacity, config)
        for (_, old), (_, new) in zip(self._named(), larger._named(), strict=True):
            copy_slots(new, old)
        return larger

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        arrays: dict[str, npt.NDArray[Any]] = {}
        for name, bundle in self._named():
            arrays.update(to_arrays(bundle, name))
        return arrays

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, npt.NDArray[Any]], capacity: int, config: DetectorConfig
    ) -> DetectorState:
        fresh = cls.allocate(capacity, config)
        for name, bundle in fresh._named():
            fill_from(bundle, arrays, name)
        return fresh

    def series_arrays(self, slot: int | npt.NDArray[np.int64]) -> dict[str, npt.NDArray[Any]]:
        """One series' state, or with an array of slots every array gets one row per slot."""
        arrays: dict[str, npt.NDArray[Any]] = {}
        for name, bundle in self._named():
            arrays.update(rows_of(bundle, slot, name))
        return arrays

    def put_series(self, slot: int, arrays: dict[str, npt.NDArray[Any]]) -> None:
        for name, bundle in self._named():
            put_rows(bundle, slot, arrays, name)

    def _named(self) -> list[tuple[str, SlotArrays]]:
        return [
            ("admission", self.admission),
            ("baseline", self.baseline),
            ("views", self.views),
            ("rhythm", self.rhythm),
            ("tails", self.tails),
            ("episodes", self.episodes),
        ]
