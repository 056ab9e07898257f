"""What happened on each service, as sorted arrays of epoch seconds: the input of features and labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from engine.models import AlertSource, Severity

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

MAJOR_PRIORITY = 2
"""Incidents of priority P1 or P2 are the ones worth forecasting: someone is paged for them."""

SOURCE_CODES: Mapping[str, int] = {
    AlertSource.ALERTMANAGER: 0,
    AlertSource.API: 0,
    AlertSource.ANOMALY: 1,
    AlertSource.PREDICTION: 2,
}


@dataclass(frozen=True, slots=True)
class ServiceEvents:
    """One service's events; every array of a kind is sorted by its time column."""

    alert_starts: F64
    alert_severity: I64
    alert_source: I64
    """0 external (Alertmanager or the API), 1 anomaly, 2 breach prediction."""
    changes: F64
    major_onsets: F64
    """When each major incident (P1/P2) became serious: its first alert of severity error or worse,
    or its opening time when it has no alerts (imported history). Sorted."""
    major_ended: F64
    """Resolution time of the major incident at the same index, +inf while open."""


@dataclass(frozen=True, slots=True)
class EventHistory:
    services: Mapping[str, ServiceEvents]
    estate_alert_starts: F64
    estate_alert_severity: I64
    start: float
    end: float


@dataclass
class _Rows:
    alerts: list[tuple[float, int, int]] = field(default_factory=list)
    changes: list[float] = field(default_factory=list)
    majors: list[tuple[float, float]] = field(default_factory=list)


class EventHistoryBuilder:
    """Collects rows in any order, then sorts them into an `EventHistory`."""

    def __init__(self) -> None:
        self._rows: dict[str, _Rows] = {}
        self._times: list[float] = []

    def _service(self, service: str) -> _Rows:
        rows = self._rows.get(service)
        if rows is None:
            rows = self._rows[service] = _Rows()
        return rows

    def alert(self, service: str, at: float, severity: int, source: str) -> None:
        self._service(service).alerts.append((at, int(severity), SOURCE_CODES.get(source, 0)))
        self._times.append(at)

    def change(self, service: str, at: float) -> None:
        self._service(service).changes.append(at)
        self._times.append(at)

    def major_incident(self, service: str, onset: float, ended: float | None) -> None:
        """Only major incidents are history here: a minor one is known by its alerts, and an incident
        that becomes major later must not be counted before it does."""
        self._service(service).majors.append((onset, float("inf") if ended is None else ended))
        self._times.append(onset)

    def build(self, start: float | None = None, end: float | None = None) -> EventHistory:
        services = {name: _events(rows) for name, rows in self._rows.items()}
        every = [(at, sev) for rows in self._rows.values() for at, sev, _ in rows.alerts]
        every.sort()
        first = min(self._times, default=0.0)
        last = max(self._times, default=0.0)
        return EventHistory(
            services=services,
            estate_alert_starts=np.array([at for at, _ in every], dtype=np.float64),
            estate_alert_severity=np.array([sev for _, sev in every], dtype=np.int64),
            start=first if start is None else start,
            end=last if end is None else end,
        )


def _events(rows: _Rows) -> ServiceEvents:
    alerts = sorted(rows.alerts)
    majors = sorted(rows.majors)
    return ServiceEvents(
        alert_starts=np.array([a[0] for a in alerts], dtype=np.float64),
        alert_severity=np.array([a[1] for a in alerts], dtype=np.int64),
        alert_source=np.array([a[2] for a in alerts], dtype=np.int64),
        changes=np.array(sorted(rows.changes), dtype=np.float64),
        major_onsets=np.array([m[0] for m in majors], dtype=np.float64),
        major_ended=np.array([m[1] for m in majors], dtype=np.float64),
    )


SEVERE = int(Severity.ERROR)
