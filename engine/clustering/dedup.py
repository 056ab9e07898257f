"""Deliveries versus alert instances.

Alertmanager re-delivers a firing alert while it lasts, with the same fingerprint and `startsAt`,
and finally delivers it as resolved. A new `startsAt` for the same fingerprint is a new firing.
So (fingerprint, startsAt) names an instance, and each delivery either creates one, changes one, or
tells nothing new.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from engine.models import Alert, AlertStatus


class AlertKey(NamedTuple):
    fingerprint: str
    starts_at: datetime

    @classmethod
    def of(cls, alert: Alert) -> AlertKey:
        return cls(alert.fingerprint, alert.starts_at)


class InstanceOutcome(enum.StrEnum):
    NEW = "new"  # first delivery of this instance (possibly already resolved)
    UPDATED = "updated"  # still firing, but annotations, labels or severity changed
    RESOLVED = "resolved"  # the firing instance ended
    DUPLICATE = "duplicate"  # nothing new: a re-delivery, or a stale firing after the resolution


@dataclass(slots=True)
class AlertInstance:
    """Engine-internal record of one instance; `alert` is the latest delivery's content while it
    fires. A resolved instance forgets it: resolution is final, so nothing compares against it any
    more, and closed incidents are kept for hours with thousands of resolved alerts."""

    key: AlertKey
    alert: Alert | None
    incident_id: int
    first_seen: float
    last_seen: float
    deliveries: int = 1
    resolved_at: float | None = None  # engine clock when the resolution arrived
    ended_at: float | None = None  # when the alert says it ended (endsAt), for re-fire gaps

    @property
    def firing(self) -> bool:
        return self.resolved_at is None


def classify(existing: AlertInstance | None, alert: Alert) -> InstanceOutcome:
    """What a delivery means for the instance it names; pure, the caller applies it."""
    if existing is None:
        return InstanceOutcome.NEW
    if not existing.firing:
        # Resolution is final for an instance: a late firing re-delivery is stale, a new firing
        # would carry a new startsAt.
        return InstanceOutcome.DUPLICATE
    if alert.status is AlertStatus.RESOLVED:
        return InstanceOutcome.RESOLVED
    previous = existing.alert
    if previous is None:  # not reached: only resolution forgets it
        return InstanceOutcome.DUPLICATE
    if (
        alert.annotations != previous.annotations
        or alert.labels != previous.labels
        or alert.severity != previous.severity
    ):
        return InstanceOutcome.UPDATED
    return InstanceOutcome.DUPLICATE
