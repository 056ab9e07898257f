"""Prometheus Alertmanager webhook (payload version 4) → engine Alerts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.fingerprint import label_fingerprint
from engine.models import Alert, AlertSource, AlertStatus, Severity
from integrations.payload import (
    PayloadError,
    expect_list,
    expect_object,
    join,
    optional_text,
    required,
    string_map,
    timestamp_of,
)

# Go's zero time: Alertmanager sends it for "not set"
_ZERO_TIME = "0001-01-01T00:00:00Z"
_ZERO_TIME_YEAR = 1


def parse_webhook(document: Any, *, now: datetime) -> list[Alert]:
    body = expect_object(document, "body")
    version = body.get("version")
    # "1" is Grafana alerting's webhook, whose alerts are Alertmanager's (its Alertmanager inside)
    if version is not None and str(version) not in {"4", "1"}:
        raise PayloadError("version", f"unsupported Alertmanager webhook version {version!r}; expected '4'")
    items = expect_list(required(body, "alerts", ""), "alerts")
    return [parse_alert(item, join("alerts", index), now=now) for index, item in enumerate(items)]


def parse_alert(item: Any, field: str, *, now: datetime) -> Alert:
    """One Alertmanager alert object (also the line format of recorded scenarios)."""
    doc = expect_object(item, field)
    status_raw = required(doc, "status", field)
    try:
        status = AlertStatus(status_raw)
    except ValueError:
        raise PayloadError(join(field, "status"), "must be 'firing' or 'resolved'") from None
    labels = string_map(doc, "labels", field, required_key=True)
    name = labels.get("alertname")
    if not name:
        raise PayloadError(join(field, "labels.alertname"), "is required")
    starts_at = timestamp_of(doc, "startsAt", field)
    ends_at = _optional_time(doc, "endsAt", field)
    if status is AlertStatus.FIRING:
        ends_at = None
    elif ends_at is None:
        ends_at = now
    fingerprint = optional_text(doc, "fingerprint", field, max_length=64) or label_fingerprint(labels)
    return Alert(
        fingerprint=fingerprint,
        name=name,
        status=status,
        severity=severity_of(labels),
        labels=labels,
        annotations=string_map(doc, "annotations", field),
        starts_at=starts_at,
        ends_at=ends_at,
        source=AlertSource.ALERTMANAGER,
        generator_url=optional_text(doc, "generatorURL", field, max_length=4000) or None,
    )


def severity_of(labels: Mapping[str, str]) -> Severity:
    """Alert rules name severities freely; an unknown one is kept in the labels and treated as warning.

    Rejecting the whole delivery over a label spelling would make Alertmanager retry it forever.
    """
    raw = labels.get("severity")
    if raw is None:
        return Severity.WARNING
    try:
        return Severity.parse(raw)
    except ValueError:
        return Severity.WARNING


def _optional_time(doc: Mapping[str, Any], key: str, field: str) -> datetime | None:
    value = doc.get(key)
    if value is None or value == "" or value == _ZERO_TIME:
        return None
    parsed = timestamp_of(doc, key, field)
    return None if parsed.year == _ZERO_TIME_YEAR else parsed
