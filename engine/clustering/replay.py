"""Replaying recorded deliveries through the engine exactly as the service would receive them.

A recording has no arrival times, so the clock is the deliveries' own: when a firing alert started
or a resolved one ended, never running backwards (a re-delivery carries its old startsAt).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from engine.clustering.correlator import AlertCorrelator
from engine.clustering.records import Decision
from engine.models import Alert, AlertStatus


def delivery_time(alert: Alert) -> datetime:
    if alert.status is AlertStatus.RESOLVED and alert.ends_at is not None:
        return alert.ends_at
    return alert.starts_at


def replay(alerts: Iterable[Alert], engine: AlertCorrelator) -> Iterator[Decision]:
    clock: datetime | None = None
    for alert in alerts:
        at = delivery_time(alert)
        clock = at if clock is None or at > clock else clock
        yield engine.ingest(alert, clock)
