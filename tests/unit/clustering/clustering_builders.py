"""Builders for alerts and catalogs shared by the clustering tests (a plain module: importable)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from engine.catalog import Catalog
from engine.clustering import label_fingerprint
from engine.models import Alert, AlertStatus, Service, Severity

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def at(seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0) -> datetime:
    return T0 + timedelta(seconds=seconds, minutes=minutes, hours=hours)


def alert(
    name: str,
    service: str | None,
    *,
    start: datetime,
    summary: str | None = None,
    pod: str | None = "auto",
    host: str | None = "node-1:9100",
    cluster: str | None = "prod-1",
    status: AlertStatus = AlertStatus.FIRING,
    end: datetime | None = None,
    extra: Mapping[str, str] | None = None,
) -> Alert:
    labels = {"alertname": name, "severity": "critical"}
    if host is not None:
        labels["instance"] = host
    if service is not None:
        labels["service"] = service
        if pod == "auto":
            pod = f"{service}-7f9c4"
    if pod and pod != "auto":
        labels["pod"] = pod
    if cluster is not None:
        labels["cluster"] = cluster
    labels.update(extra or {})
    return Alert(
        fingerprint=label_fingerprint(labels),
        name=name,
        status=status,
        severity=Severity.CRITICAL,
        labels=labels,
        annotations={"summary": summary or f"{service or host}: {name}"},
        starts_at=start,
        ends_at=end,
    )


def resolved(firing: Alert, end: datetime) -> Alert:
    return Alert(firing.fingerprint, firing.name, AlertStatus.RESOLVED, firing.severity, firing.labels,
                 firing.annotations, firing.starts_at, end, firing.source)


def shop_catalog() -> Catalog:
    """frontend -> checkout -> payments -> db-payments <- refunds; search -> search-index; mailer."""
    return Catalog.from_services([
        Service("db-payments", kind="database"),
        Service("search-index", kind="database"),
        Service("payments", depends_on=("db-payments",)),
        Service("refunds", depends_on=("db-payments",)),
        Service("checkout", depends_on=("payments",)),
        Service("search", depends_on=("search-index",)),
        Service("frontend", depends_on=("checkout", "search")),
        Service("mailer"),
    ])
