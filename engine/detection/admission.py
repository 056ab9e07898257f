"""Which points reach the model: the rules for bad values and bad clocks.

- NaN/inf value or timestamp: ignored and counted (`not_finite`).
- Timestamp older than the series' last accepted one: ignored and counted (`out_of_order`).
- Timestamp equal to the last accepted one: ignored and counted (`duplicate`); the first value wins.
Ignored points never change the model, so a replayed or re-delivered batch is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.detection.result import PointStatus


@dataclass(slots=True)
class AdmissionState:
    last_ts: npt.NDArray[np.float64]
    first_ts: npt.NDArray[np.float64]
    accepted: npt.NDArray[np.int64]
    not_finite: npt.NDArray[np.int64]
    out_of_order: npt.NDArray[np.int64]
    duplicate: npt.NDArray[np.int64]

    @classmethod
    def allocate(cls, capacity: int) -> AdmissionState:
        return cls(
            last_ts=np.full(capacity, -np.inf),
            first_ts=np.full(capacity, np.nan),
            accepted=np.zeros(capacity, dtype=np.int64),
            not_finite=np.zeros(capacity, dtype=np.int64),
            out_of_order=np.zeros(capacity, dtype=np.int64),
            duplicate=np.zeros(capacity, dtype=np.int64),
        )


def admit(
    state: AdmissionState,
    slots: npt.NDArray[np.int64],
    ts: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
) -> npt.NDArray[np.int8]:
    """Classify one round (each slot at most once), update clocks and counters, return statuses.

    Accepted points get `PointStatus.SCORED`; the caller may downgrade them to WARMING_UP.
    """
    last = state.last_ts[slots]
    finite = np.isfinite(values) & np.isfinite(ts)
    stale = finite & (ts < last)
    repeated = finite & (ts == last)
    accepted = finite & (ts > last)

    status = np.full(len(slots), PointStatus.SCORED, dtype=np.int8)
    status[~finite] = PointStatus.NOT_FINITE
    status[stale] = PointStatus.OUT_OF_ORDER
    status[repeated] = PointStatus.DUPLICATE

    state.not_finite[slots[~finite]] += 1
    state.out_of_order[slots[stale]] += 1
    state.duplicate[slots[repeated]] += 1
    taken = slots[accepted]
    state.last_ts[taken] = ts[accepted]
    fresh = taken[state.accepted[taken] == 0]
    state.first_ts[fresh] = ts[accepted][state.accepted[taken] == 0]
    state.accepted[taken] += 1
    return status
