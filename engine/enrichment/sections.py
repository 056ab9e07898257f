"""The five things a responder looks up first, as frozen records; each section is either present or
`Absent` with a note saying why (no catalog, empty history, nothing in the window…)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Absent:
    """A section left out, and why: shown to responders as is ("no service catalog configured")."""

    note: str


# --- 1. related alerts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Count:
    """How many of the incident's alerts share one alert name, service or host."""

    key: str
    total: int
    firing: int


@dataclass(frozen=True, slots=True)
class AlertBrief:
    name: str
    service: str | None
    host: str | None
    severity: str
    status: str
    starts_at: datetime
    summary: str


@dataclass(frozen=True, slots=True)
class RelatedAlerts:
    total: int  # alerts in the incident, including any not read (see `truncated`)
    firing: int
    worst_severity: str
    by_name: tuple[Count, ...]  # the most frequent first, at most `top_counts` each
    by_service: tuple[Count, ...]
    by_host: tuple[Count, ...]
    first: AlertBrief
    latest: AlertBrief
    still_firing: tuple[AlertBrief, ...]  # oldest first, capped
    truncated: bool  # counts cover only the alerts read, not all `total`


# --- 2. recent changes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeItem:
    service: str
    kind: str
    who: str
    what: str
    at: datetime
    relation: str  # "affected" or "dependency of <service>"
    minutes_before_start: float  # negative: after the incident opened


@dataclass(frozen=True, slots=True)
class RecentChanges:
    since: datetime
    until: datetime
    services: tuple[str, ...]  # searched: the affected services and what they depend on
    items: tuple[ChangeItem, ...]  # newest first
    more: bool  # more changes in the window than listed
    scope_note: str | None = None  # e.g. dependencies not searched without a catalog


# --- 3. similar past incidents ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimilarIncident:
    incident_id: int
    external_id: str | None
    origin: str  # nocbot | imported
    title: str
    service: str | None
    opened_at: datetime
    priority: int | None
    resolve_seconds: float | None  # time to resolve
    resolution: str | None
    playbook: str | None
    score: float  # 0..1
    shared_words: tuple[str, ...]
    shared_services: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SimilarIncidents:
    items: tuple[SimilarIncident, ...]  # best first
    compared: int  # past incidents ranked


# --- 4. affected services ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Neighbour:
    name: str
    firing_alerts: int  # firing anywhere, not only in this incident
    in_incident: bool


@dataclass(frozen=True, slots=True)
class ServiceContext:
    name: str
    kind: str
    tier: int
    customer_facing: bool
    owner: str | None
    runbook: str | None
    depends_on: tuple[Neighbour, ...]  # upstream: what this service calls
    dependents: tuple[Neighbour, ...]  # downstream: what calls this service

    @property
    def alerting_neighbours(self) -> tuple[Neighbour, ...]:
        return tuple(n for n in (*self.depends_on, *self.dependents) if n.firing_alerts)


@dataclass(frozen=True, slots=True)
class AffectedServices:
    services: tuple[ServiceContext, ...]
    not_in_catalog: tuple[str, ...]


# --- 5. metric context ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeriesWindow:
    """Points of one series in time order; `ts` in epoch seconds."""

    ts: tuple[float, ...]
    values: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True, slots=True)
class Band:
    """The range a series was expected to stay in, over time; `basis` says where it comes from."""

    ts: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    basis: str


@dataclass(frozen=True, slots=True)
class MetricContext:
    series_id: int
    metric: str
    labels: dict[str, str]
    incident_start: datetime
    window: SeriesWindow  # thinned to a chart's worth of points, extremes kept
    band: Band | None
    sparkline: str
    reason: str  # why this series was chosen
    deviation: float | None  # peak distance from the band, in robust standard deviations
    candidates: int  # series considered
