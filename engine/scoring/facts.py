"""What is known about an incident at the moment its priority is decided.

Every optional field distinguishes "unknown" (None) from "known to be empty" (an empty tuple): an
incident imported from another tool has no alerts we know of, which is not the same as an incident
nocbot opened with zero alerts. Features computed from an unknown field are NaN, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from engine.models import Alert, ChangeEvent, PastIncident, Service


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """Input of every priority scorer.

    - `opened_at`: when the incident started; the reference point for recurrence, business hours
      and "change shortly before" (a change after the start cannot have caused it).
    - `now`: when the priority is being decided; None for imported history, where that moment is
      unknown (the duration feature is then missing rather than zero).
    - `alerts`: the incident's alerts; None when unknown (imported history).
    - `services`: catalog entries of the affected services; empty when none is in the catalog.
    - `recent_changes`: change events around the incident (any service: only those on affected
      services count); None when no change feed is connected.
    - `similar_incidents`: earlier incidents judged similar by enrichment; None when unknown. Keep
      it bounded (e.g. the last 90 days): scoring walks it on every call.
    - `peak_anomaly_score`: highest anomaly score of the incident's signals, on engine.detection's
      scale (0..1, 1 = a tail probability of 1e-8); None when no detector scored it.
    - `team_timezone`: the owning team's zone, for business hours; None when unknown.

    Datetimes should be timezone-aware; naive ones are taken as UTC, as `engine.models.utc` does.
    """

    opened_at: datetime
    now: datetime | None = None
    alerts: tuple[Alert, ...] | None = None
    services: tuple[Service, ...] = ()
    recent_changes: tuple[ChangeEvent, ...] | None = None
    similar_incidents: tuple[PastIncident, ...] | None = None
    peak_anomaly_score: float | None = None
    team_timezone: tzinfo | None = None
