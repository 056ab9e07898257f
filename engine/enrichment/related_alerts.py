"""Section 1: the incident's alerts at a glance — what fires, where, since when, and what still does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from engine.enrichment.sections import Absent, AlertBrief, Count, RelatedAlerts
from engine.models import Alert, AlertStatus

# Keys naming the machine an alert is about, most specific first (Prometheus setups differ).
HOST_LABELS = ("host", "hostname", "instance", "node", "nodename", "kubernetes_node")


def summarize_alerts(
    alerts: Sequence[Alert], *, total: int, top_counts: int, max_firing_listed: int
) -> RelatedAlerts | Absent:
    """`alerts` are those read (maybe fewer than the incident's `total`)."""
    if not alerts:
        return Absent("no alerts in this incident yet")
    by_start = sorted(alerts, key=lambda a: (a.starts_at, a.fingerprint))
    firing = [a for a in by_start if a.status is AlertStatus.FIRING]
    return RelatedAlerts(
        total=max(total, len(alerts)),
        firing=len(firing),
        worst_severity=max(a.severity for a in alerts).label,
        by_name=_counts(alerts, lambda a: a.name, top_counts),
        by_service=_counts(alerts, lambda a: a.service, top_counts),
        by_host=_counts(alerts, host_of, top_counts),
        first=brief(by_start[0]),
        latest=brief(by_start[-1]),
        still_firing=tuple(brief(a) for a in firing[:max_firing_listed]),
        truncated=total > len(alerts),
    )


def host_of(alert: Alert) -> str | None:
    for key in HOST_LABELS:
        value = alert.labels.get(key)
        if value:
            return _without_port(value)
    return None


def brief(alert: Alert) -> AlertBrief:
    return AlertBrief(
        name=alert.name,
        service=alert.service,
        host=host_of(alert),
        severity=alert.severity.label,
        status=alert.status.value,
        starts_at=alert.starts_at,
        summary=alert.summary,
    )


def _counts(alerts: Sequence[Alert], key: Callable[[Alert], str | None], limit: int) -> tuple[Count, ...]:
    totals: Counter[str] = Counter()
    firing: Counter[str] = Counter()
    for alert in alerts:
        value = key(alert)
        if value is None:
            continue
        totals[value] += 1
        if alert.status is AlertStatus.FIRING:
            firing[value] += 1
    ranked = sorted(totals, key=lambda value: (-totals[value], value))[:limit]
    return tuple(Count(value, totals[value], firing[value]) for value in ranked)


def _without_port(raw: str) -> str:
    # "node-4:9100" is node-4: the port belongs to the exporter, not to the host
    head, sep, tail = raw.rpartition(":")
    return head.strip("[]") if sep and head and tail.isdigit() else raw
