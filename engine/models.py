"""The domain's vocabulary: frozen records that every part of nocbot speaks.

Wire formats (Alertmanager JSON, PagerDuty webhooks, chat payloads) are translated into these at the
edge; the engine never sees a dict from the wire.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

Labels = Mapping[str, str]


class AlertStatus(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(enum.IntEnum):
    """Ordered so that `max()` over alerts gives the worst one."""

    INFO = 1
    WARNING = 2
    ERROR = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, raw: str) -> Severity:
        """Map the spellings seen in real alert rules onto four levels; raise ValueError otherwise."""
        key = raw.strip().lower()
        try:
            return _SEVERITY_ALIASES[key]
        except KeyError:
            known = ", ".join(sorted(_SEVERITY_ALIASES))
            raise ValueError(f"unknown severity {raw!r}; expected one of: {known}") from None


_SEVERITY_ALIASES: dict[str, Severity] = {
    "info": Severity.INFO,
    "informational": Severity.INFO,
    "low": Severity.INFO,
    "none": Severity.INFO,
    "notice": Severity.INFO,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "minor": Severity.WARNING,
    "medium": Severity.WARNING,
    "error": Severity.ERROR,
    "major": Severity.ERROR,
    "high": Severity.ERROR,
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
}


class AlertSource(enum.StrEnum):
    ALERTMANAGER = "alertmanager"
    API = "api"
    ANOMALY = "anomaly"
    PREDICTION = "prediction"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert instance: a fingerprint firing from `starts_at` (until `ends_at` once resolved).

    `fingerprint` + `starts_at` identify an instance: Alertmanager re-delivers the same pair while
    an alert lasts, and a new `starts_at` means the condition fired again.
    """

    fingerprint: str
    name: str
    status: AlertStatus
    severity: Severity
    labels: Labels
    annotations: Labels
    starts_at: datetime
    ends_at: datetime | None = None
    source: AlertSource = AlertSource.API
    generator_url: str | None = None

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or self.name

    @property
    def service(self) -> str | None:
        return self.labels.get("service")


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One observation of a series; `ts` is seconds since the Unix epoch (UTC)."""

    metric: str
    labels: Labels
    ts: float
    value: float


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """A metric series: a metric name and its labels."""

    metric: str
    labels: Labels


@dataclass(frozen=True, slots=True)
class PointBatch:
    """Many points as columns: the distinct series once, then per point its series index, time, value.

    This is the shape of the hot path (ingestion, detection): no object per point.
    """

    series: tuple[SeriesRef, ...]
    series_index: list[int]
    ts: list[float]
    values: list[float]

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_points(cls, points: Iterable[MetricPoint]) -> PointBatch:
        positions: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
        series: list[SeriesRef] = []
        index: list[int] = []
        ts: list[float] = []
        values: list[float] = []
        for point in points:
            key = (point.metric, tuple(sorted(point.labels.items())))
            position = positions.get(key)
            if position is None:
                position = positions[key] = len(series)
                series.append(SeriesRef(point.metric, point.labels))
            index.append(position)
            ts.append(point.ts)
            values.append(point.value)
        return cls(tuple(series), index, ts, values)

    def points(self) -> list[MetricPoint]:
        return [
            MetricPoint(self.series[i].metric, self.series[i].labels, t, v)
            for i, t, v in zip(self.series_index, self.ts, self.values, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """A deploy, config change or other intentional change to a service."""

    service: str
    kind: str
    who: str
    what: str
    at: datetime
    labels: Labels = field(default_factory=dict)
    external_id: str | None = None


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Priority(enum.IntEnum):
    """P1 is the most urgent; comparisons follow urgency inverted (P1 < P5)."""

    P1 = 1
    P2 = 2
    P3 = 3
    P4 = 4
    P5 = 5

    @classmethod
    def parse(cls, raw: str) -> Priority:
        key = raw.strip().upper()
        if key.isdigit():
            key = f"P{key}"
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown priority {raw!r}; expected P1..P5") from None


@dataclass(frozen=True, slots=True)
class Service:
    """One entry of the service catalog (format of shared scenarios' services.yaml, extended)."""

    name: str
    kind: str = "service"
    tier: int = 3
    customer_facing: bool = False
    owner: str | None = None
    runbook: str | None = None
    depends_on: tuple[str, ...] = ()
    pagerduty_routing_key: str | None = None


@dataclass(frozen=True, slots=True)
class PastIncident:
    """An incident from history, imported or handled by nocbot, as scoring and enrichment see it."""

    id: str
    title: str
    service: str | None
    priority: Priority | None
    opened_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    playbook: str | None = None


def utc(dt: datetime) -> datetime:
    """Return `dt` as an aware UTC datetime (naive input is taken to be UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
