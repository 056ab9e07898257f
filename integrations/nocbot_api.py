"""nocbot's own JSON formats: generic alerts, metric points and change events → engine models.

Each endpoint takes one object or a list of them (metric points may also come as {"points": [...]}).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

import orjson

from engine.clustering.silences import Matcher, Silence
from engine.fingerprint import label_fingerprint
from engine.models import (
    Alert,
    AlertSource,
    AlertStatus,
    ChangeEvent,
    MetricPoint,
    PointBatch,
    SeriesRef,
    Severity,
)
from integrations.payload import (
    PayloadError,
    check_text,
    expect_list,
    expect_object,
    join,
    number,
    optional_text,
    required,
    string_map,
    text,
    timestamp,
)

T = TypeVar("T")

MAX_EPOCH = 32_503_680_000  # year 3000: anything later is a unit mistake

METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:.]{0,199}$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,199}$")
CHANGE_KINDS = ("deploy", "config", "rollback", "scale", "feature_flag", "infrastructure", "other")


def parse_many(document: Any, parse: Callable[[Any, str], T], *, wrapper: str | None = None) -> list[T]:
    """Parse a body that is one object, a list of them, or {wrapper: [...]}.

    Error paths follow the body's shape: `who` for a single object, `[3].who` in a list.
    """
    if isinstance(document, list):
        return [parse(item, f"[{index}]") for index, item in enumerate(document)]
    if wrapper and isinstance(document, dict) and wrapper in document:
        items = expect_list(document[wrapper], wrapper)
        return [parse(item, f"{wrapper}[{index}]") for index, item in enumerate(items)]
    return [parse(expect_object(document, "body"), "")]


def parse_alert(item: Any, field: str, *, now: datetime) -> Alert:
    doc = expect_object(item, field)
    name = text(doc, "name", field, max_length=200)
    severity_raw = text(doc, "severity", field, max_length=32)
    try:
        severity = Severity.parse(severity_raw)
    except ValueError as exc:
        raise PayloadError(join(field, "severity"), str(exc)) from None
    status_raw = doc.get("status", "firing")
    try:
        status = AlertStatus(status_raw)
    except ValueError:
        raise PayloadError(join(field, "status"), "must be 'firing' or 'resolved'") from None
    labels = string_map(doc, "labels", field)
    _check_label_names(labels, join(field, "labels"))
    labels.setdefault("alertname", name)
    labels.setdefault("severity", severity.label)
    annotations = string_map(doc, "annotations", field)
    for key in ("summary", "description"):
        value = optional_text(doc, key, field, max_length=10_000)
        if value:
            annotations[key] = value
    starts_at = _time_or(doc, "timestamp", field, now)
    ends_at = _time_or(doc, "ends_at", field, now) if status is AlertStatus.RESOLVED else None
    fingerprint = optional_text(doc, "fingerprint", field, max_length=64) or label_fingerprint(labels)
    return Alert(
        fingerprint=fingerprint,
        name=name,
        status=status,
        severity=severity,
        labels=labels,
        annotations=annotations,
        starts_at=starts_at,
        ends_at=ends_at,
        source=AlertSource.API,
        generator_url=optional_text(doc, "url", field, max_length=4000) or None,
    )


def parse_point(item: Any, field: str) -> MetricPoint:
    if not isinstance(item, dict):
        raise PayloadError(field, "expected an object {metric, labels, ts, value}")
    metric = item.get("metric")
    if not isinstance(metric, str) or not METRIC_NAME.match(metric):
        raise PayloadError(join(field, "metric"), "must be a metric name like http_request_seconds")
    labels = string_map(item, "labels", field)
    _check_label_names(labels, join(field, "labels"))
    ts_raw = required(item, "ts", field)
    if isinstance(ts_raw, int | float) and not isinstance(ts_raw, bool):
        ts = _epoch(float(ts_raw), join(field, "ts"))
    else:
        ts = timestamp(ts_raw, join(field, "ts")).timestamp()
    value = number(required(item, "value", field), join(field, "value"))
    return MetricPoint(metric=metric, labels=labels, ts=ts, value=value)


def parse_point_batch(document: Any) -> PointBatch:
    """A metrics document (a list, or {"points": [...]}) as columns, validated as `parse_point` does.

    The general path, for any JSON document; HTTP bodies take `point_body.parse_point_body`, which
    is faster for well-typed input and falls back to this to name what is wrong.
    """
    if isinstance(document, dict) and "points" in document:
        items, base = expect_list(document["points"], "points"), "points"
    elif isinstance(document, list):
        items, base = document, ""
    else:
        raise PayloadError("body", 'expected a list of points or {"points": [...]}')
    positions: dict[tuple[str, bytes], int] = {}
    series: list[SeriesRef] = []
    index: list[int] = []
    stamps: list[float] = []
    values: list[float] = []
    for position_in_body, item in enumerate(items):
        point = parse_point(item, f"{base}[{position_in_body}]")
        key = (point.metric, orjson.dumps(point.labels, option=orjson.OPT_SORT_KEYS))
        position = positions.get(key)
        if position is None:
            position = positions[key] = len(series)
            series.append(SeriesRef(point.metric, point.labels))
        index.append(position)
        stamps.append(point.ts)
        values.append(point.value)
    return PointBatch(tuple(series), index, stamps, values)


def parse_change(item: Any, field: str, *, now: datetime) -> ChangeEvent:
    doc = expect_object(item, field)
    kind = doc.get("kind", "deploy")
    if kind not in CHANGE_KINDS:
        raise PayloadError(join(field, "kind"), f"must be one of {', '.join(CHANGE_KINDS)}")
    labels = string_map(doc, "labels", field)
    _check_label_names(labels, join(field, "labels"))
    return ChangeEvent(
        service=text(doc, "service", field, max_length=200),
        kind=kind,
        who=text(doc, "who", field, max_length=200),
        what=text(doc, "what", field, max_length=10_000),
        at=_time_or(doc, "at", field, now),
        labels=labels,
        external_id=optional_text(doc, "id", field, max_length=200) or None,
    )


def _time_or(doc: Mapping[str, Any], key: str, field: str, default: datetime) -> datetime:
    value = doc.get(key)
    return default if value is None else timestamp(value, join(field, key))


def _epoch(value: float, field: str) -> float:
    if not 0 <= value < MAX_EPOCH:
        raise PayloadError(field, f"epoch seconds out of range: {value!r}")
    return value


def _check_label_names(labels: Mapping[str, str], field: str) -> None:
    for name in labels:
        if not LABEL_NAME.match(name):
            raise PayloadError(f"{field}.{name}", "label names are letters, digits and _")


__all__ = ["PayloadError", "parse_alert", "parse_change", "parse_many", "parse_point", "parse_silence"]


def parse_silence(item: Any, *, now: datetime) -> Silence:
    """`{matchers: ["service=payments", "alertname=~Disk.*"], starts_at?, ends_at | duration_minutes,
    created_by, comment}` → a Silence (Alertmanager matcher syntax)."""
    doc = expect_object(item, "body")
    raw_matchers = expect_list(required(doc, "matchers", ""), "matchers")
    if not raw_matchers:
        raise PayloadError(
            "matchers", "at least one matcher is required (a silence without one mutes everything)"
        )
    matchers = []
    for index, raw in enumerate(raw_matchers):
        field = f"matchers[{index}]"
        try:
            matchers.append(Matcher.parse(check_text(raw, field, max_length=1000)))
        except ValueError as exc:
            raise PayloadError(field, str(exc)) from None
    starts_at = _time_or(doc, "starts_at", "", now)
    if doc.get("ends_at") is not None:
        ends_at = _time_or(doc, "ends_at", "", now)
    else:
        minutes = number(required(doc, "duration_minutes", ""), "duration_minutes")
        if not 0 < minutes <= 366 * 24 * 60:
            raise PayloadError("duration_minutes", "must be between 1 minute and a year")
        ends_at = starts_at + timedelta(minutes=minutes)
    if ends_at <= starts_at:
        raise PayloadError("ends_at", "must be after starts_at")
    return Silence(
        id="new",
        matchers=tuple(matchers),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=text(doc, "created_by", "", max_length=200),
        comment=optional_text(doc, "comment", "", max_length=2000) or "",
    )
