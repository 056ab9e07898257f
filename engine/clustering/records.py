"""What the engine returns to the service, and what the service gives back on startup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from engine.clustering.dedup import AlertKey, InstanceOutcome
from engine.clustering.explanation import Explanation
from engine.models import Alert, ChangeEvent


@dataclass(frozen=True, slots=True)
class IncidentClosure:
    incident_id: int
    closed_at: datetime
    reason: str  # "all alerts resolved", "closed by alice", "merged into #12"
    merged_into: int | None = None


class Decision(NamedTuple):
    """The outcome of one delivery.

    `notify` says whether the delivery is worth a chat message: a new alert instance that opened an
    incident (`opened`) or brought a fingerprint the incident had not seen, unless it is silenced or
    flapping. Re-deliveries, updates and resolutions never notify; an incident's resolution is
    announced through `incident_resolved` and `closed_incidents`.

    A named tuple rather than a frozen dataclass: one is built for every delivery, and this is the
    cheapest immutable record Python has.
    """

    key: AlertKey
    outcome: InstanceOutcome
    incident_id: int
    opened: bool
    explanation: Explanation  # why the instance is in `incident_id` (decided when it arrived)
    notify: bool
    silenced_by: tuple[str, ...]
    flapping: bool
    flap_count: int  # state changes of this fingerprint seen so far
    incident_resolved: bool  # the incident is resolved (closed) after this delivery
    closed_incidents: tuple[IncidentClosure, ...] = ()  # closed by the clock before this delivery
    # Incidents this alert explained too, merged into `incident_id` (they close as merged).
    merged_incidents: tuple[IncidentClosure, ...] = ()

    @property
    def joined(self) -> bool:
        return self.outcome is InstanceOutcome.NEW and not self.opened

    @property
    def silenced(self) -> bool:
        return bool(self.silenced_by)


@dataclass(frozen=True, slots=True)
class StoredIncident:
    """An open incident as the service stored it: every alert instance with its latest content."""

    id: int
    alerts: Sequence[Alert]
    change: ChangeEvent | None = None
