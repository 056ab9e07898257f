"""The features priority scoring sees, each defined once: name, pure computation, human phrase.

The order of `FEATURES` is the column order of every feature row and of every stored model; a model
records the names it was trained with and refuses to load against a different list.

Missing information is NaN: XGBoost learns where missing values should go, and the rule-based
scorer simply ignores them. Nothing here substitutes a default for an unknown fact.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from engine.models import Alert, Severity
from engine.scoring.facts import IncidentFacts

FeatureRow = npt.NDArray[np.float32]

NAN = math.nan
RECURRENCE_WINDOW = timedelta(days=30)
RECENT_CHANGE_WINDOW = timedelta(hours=1)
# Business hours are the hours a team is at its desks, Monday to Friday, in its own zone.
BUSINESS_HOURS = range(9, 18)
_HOST_LABELS = ("host", "hostname", "instance", "node")


class Known:
    """The facts of one extraction, with the values several features share computed once."""

    __slots__ = ("_affected", "_last_change", "_last_change_found", "facts", "opened_at")

    def __init__(self, facts: IncidentFacts) -> None:
        self.facts = facts
        self.opened_at = _aware(facts.opened_at)
        self._affected: frozenset[str] | None = None
        self._last_change: datetime | None = None
        self._last_change_found = False

    @property
    def affected_services(self) -> frozenset[str]:
        """Services named by the alerts or resolved in the catalog."""
        if self._affected is None:
            names = {service.name for service in self.facts.services}
            if self.facts.alerts:
                names.update(name for alert in self.facts.alerts if (name := alert.service))
            self._affected = frozenset(names)
        return self._affected

    @property
    def last_change(self) -> datetime | None:
        """Latest change on an affected service at or before the start; None if none is known."""
        if not self._last_change_found:
            self._last_change = self._find_last_change()
            self._last_change_found = True
        return self._last_change

    def _find_last_change(self) -> datetime | None:
        if not self.facts.recent_changes:
            return None
        affected = self.affected_services
        # A change after the start cannot have caused the incident (it is more likely the fix).
        candidates = [
            at
            for change in self.facts.recent_changes
            if change.service in affected and (at := _aware(change.at)) <= self.opened_at
        ]
        return max(candidates) if candidates else None


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    compute: Callable[[Known], float]
    describe: Callable[[float], str]


def _aware(moment: datetime) -> datetime:
    # Aware datetimes compare correctly whatever their zone; only naive ones (taken as UTC, as
    # engine.models.utc does) need fixing. Much cheaper than converting every timestamp to UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _counted(value: float, noun: str) -> str:
    count = round(value)
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _minutes(value: float) -> str:
    return f"{round(value)} min"


def _max_severity(known: Known) -> float:
    alerts = known.facts.alerts
    if not alerts:
        return NAN
    return float(max(alert.severity for alert in alerts))


def _alert_count(known: Known) -> float:
    alerts = known.facts.alerts
    return NAN if alerts is None else float(len(alerts))


def _host_of(alert: Alert) -> str | None:
    for key in _HOST_LABELS:
        host = alert.labels.get(key)
        if host:
            return host
    return None


def _distinct_hosts(known: Known) -> float:
    alerts = known.facts.alerts
    if alerts is None:
        return NAN
    hosts = {host for alert in alerts if (host := _host_of(alert))}
    # Alerts without host labels say nothing about hosts: unknown, not zero.
    return float(len(hosts)) if hosts else NAN


def _distinct_services(known: Known) -> float:
    names = known.affected_services
    return float(len(names)) if names else NAN


def _best_tier(known: Known) -> float:
    services = known.facts.services
    return float(min(service.tier for service in services)) if services else NAN


def _customer_facing(known: Known) -> float:
    services = known.facts.services
    if not services:
        return NAN
    return 1.0 if any(service.customer_facing for service in services) else 0.0


def _business_hours(known: Known) -> float:
    zone = known.facts.team_timezone
    if zone is None:
        return NAN
    local = known.opened_at.astimezone(zone)
    return 1.0 if local.weekday() < 5 and local.hour in BUSINESS_HOURS else 0.0


def _recurrence_30d(known: Known) -> float:
    similar = known.facts.similar_incidents
    if similar is None:
        return NAN
    opened = known.opened_at
    since = opened - RECURRENCE_WINDOW
    return float(sum(1 for past in similar if since <= _aware(past.opened_at) < opened))


def _median_minutes_to_resolve(known: Known) -> float:
    similar = known.facts.similar_incidents
    if similar is None:
        return NAN
    opened = known.opened_at
    durations = []
    for past in similar:
        if past.resolved_at is None:
            continue
        resolved = _aware(past.resolved_at)
        # Only resolutions known when this incident opened: training on history must not peek ahead.
        if resolved <= opened:
            durations.append((resolved - _aware(past.opened_at)).total_seconds() / 60)
    return float(statistics.median(durations)) if durations else NAN


def _minutes_since_change(known: Known) -> float:
    last = known.last_change
    return NAN if last is None else (known.opened_at - last).total_seconds() / 60


def _change_within_hour(known: Known) -> float:
    if known.facts.recent_changes is None:
        return NAN
    last = known.last_change
    return 1.0 if last is not None and known.opened_at - last <= RECENT_CHANGE_WINDOW else 0.0


def _peak_anomaly_score(known: Known) -> float:
    score = known.facts.peak_anomaly_score
    return NAN if score is None else float(score)


def _minutes_open(known: Known) -> float:
    now = known.facts.now
    if now is None:
        return NAN
    return max(0.0, (_aware(now) - known.opened_at).total_seconds() / 60)


FEATURES: tuple[Feature, ...] = (
    Feature("max_severity", _max_severity, lambda v: f"{Severity(round(v)).label} severity"),
    Feature("alert_count", _alert_count, lambda v: _counted(v, "alert")),
    Feature("distinct_hosts", _distinct_hosts, lambda v: f"{_counted(v, 'host')} affected"),
    Feature("distinct_services", _distinct_services, lambda v: f"{_counted(v, 'service')} affected"),
    Feature("best_tier", _best_tier, lambda v: f"tier-{round(v)} service"),
    Feature(
        "customer_facing",
        _customer_facing,
        lambda v: "customer-facing service" if v >= 0.5 else "internal services only",
    ),
    Feature(
        "business_hours",
        _business_hours,
        lambda v: "during business hours" if v >= 0.5 else "outside business hours",
    ),
    Feature(
        "recurrence_30d",
        _recurrence_30d,
        lambda v: f"seen {round(v)}× in 30 days" if v >= 0.5 else "first occurrence in 30 days",
    ),
    Feature(
        "median_minutes_to_resolve",
        _median_minutes_to_resolve,
        lambda v: f"similar incidents took {_minutes(v)} to resolve",
    ),
    Feature(
        "change_within_hour",
        _change_within_hour,
        lambda v: "change in the hour before" if v >= 0.5 else "no change in the hour before",
    ),
    Feature(
        "minutes_since_change",
        _minutes_since_change,
        lambda v: f"change {_minutes(v)} before it started",
    ),
    Feature("peak_anomaly_score", _peak_anomaly_score, lambda v: f"anomaly score {v:.2f}"),
    Feature("minutes_open", _minutes_open, lambda v: f"open for {_minutes(v)}"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)
FEATURE_COUNT = len(FEATURES)
_BY_NAME = {feature.name: feature for feature in FEATURES}


def feature_index(name: str) -> int:
    return FEATURE_NAMES.index(name)


def describe(name: str, value: float) -> str:
    """The human phrase for one known feature value, e.g. "14 alerts"."""
    return _BY_NAME[name].describe(value)


def _row_values(facts: IncidentFacts) -> list[float]:
    known = Known(facts)
    return [feature.compute(known) for feature in FEATURES]


def extract_features_into(facts: IncidentFacts, out: FeatureRow) -> None:
    """Fill a preallocated row: the hot path of single-incident scoring allocates no array."""
    out[:] = _row_values(facts)


def extract_features(facts: IncidentFacts) -> FeatureRow:
    row: FeatureRow = np.empty(FEATURE_COUNT, dtype=np.float32)
    extract_features_into(facts, row)
    return row


def feature_matrix(many: Iterable[IncidentFacts]) -> npt.NDArray[np.float32]:
    """One row per incident, in `FEATURE_NAMES` order."""
    rows = [_row_values(facts) for facts in many]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), FEATURE_COUNT)
