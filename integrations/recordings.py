"""Recorded streams to replay against a running nocbot.

Two line formats are understood, and may be mixed:
- a nocbot event: `{"at": <time>, "kind": <alertmanager, alerts, metrics or changes>, "body": <body>}`
- a bare Alertmanager alert object (the shared scenarios' format), delivered at its `startsAt`, or at
  its `endsAt` when resolved; consecutive alerts delivered at the same moment go in one webhook.

`shift` moves every timestamp inside the bodies, so a recording from last week can be replayed as if
it were happening now; `starting_at` does that for a whole stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from engine.fingerprint import label_fingerprint
from integrations.payload import parse_iso

PATHS = {
    "alertmanager": "/api/v1/alerts/alertmanager",
    "alerts": "/api/v1/alerts",
    "metrics": "/api/v1/metrics",
    "changes": "/api/v1/changes",
}
_ZERO_TIME = "0001-01-01T00:00:00Z"
MAX_ALERTS_PER_WEBHOOK = 100


class RecordingError(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    at: datetime
    kind: str
    body: Any
    line: int  # first line of the recording this event came from

    @property
    def path(self) -> str:
        return PATHS[self.kind]

    def items(self) -> int:
        if self.kind == "alertmanager":
            return len(self.body["alerts"])
        if isinstance(self.body, list):
            return len(self.body)
        if isinstance(self.body, dict) and isinstance(self.body.get("points"), list):
            return len(self.body["points"])
        return 1


def read_recording(lines: Iterable[str]) -> Iterator[ReplayEvent]:
    pending: list[tuple[int, dict[str, Any]]] = []
    pending_at: datetime | None = None
    latest: datetime | None = None
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RecordingError(number, f"invalid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise RecordingError(number, "expected a JSON object")
        if "kind" in document:
            if pending:
                yield _webhook(pending, pending_at)
                pending = []
            event = _event(document, number)
            latest = event.at if latest is None else max(latest, event.at)
            yield event
            continue
        at = _alert_delivery_time(document, number)
        # re-deliveries of a firing alert keep its startsAt; the file order is the delivery order
        latest = at if latest is None else max(latest, at)
        if pending and (latest != pending_at or len(pending) >= MAX_ALERTS_PER_WEBHOOK):
            yield _webhook(pending, pending_at)
            pending = []
        pending_at = latest
        pending.append((number, document))
    if pending:
        yield _webhook(pending, pending_at)


def shift(event: ReplayEvent, delta: timedelta) -> ReplayEvent:
    """The same event `delta` later, with every timestamp in its body moved too."""
    body = orjson.loads(orjson.dumps(event.body))
    if event.kind == "alertmanager":
        for alert in body["alerts"]:
            _shift_key(alert, "startsAt", delta)
            _shift_key(alert, "endsAt", delta)
    elif event.kind == "alerts":
        for alert in body if isinstance(body, list) else [body]:
            _shift_key(alert, "timestamp", delta)
            _shift_key(alert, "ends_at", delta)
    elif event.kind == "metrics":
        points = body["points"] if isinstance(body, dict) else body
        for point in points:
            _shift_key(point, "ts", delta)
    elif event.kind == "changes":
        for change in body if isinstance(body, list) else [body]:
            _shift_key(change, "at", delta)
    return ReplayEvent(at=event.at + delta, kind=event.kind, body=body, line=event.line)


def starting_at(events: Iterable[ReplayEvent], start: datetime) -> Iterator[ReplayEvent]:
    """The stream moved in time so that its first event happens at `start`."""
    delta: timedelta | None = None
    for event in events:
        if delta is None:
            delta = start - event.at
        yield shift(event, delta)


def alert_instances(event: ReplayEvent) -> list[tuple[str, str]]:
    """(fingerprint, start) of each alert an event delivers, as the server tells instances apart;
    the fingerprint is computed from the labels when the sender left it out, as the server does."""
    if event.kind == "alertmanager":
        alerts = event.body.get("alerts") if isinstance(event.body, dict) else None
        return [
            (str(a.get("fingerprint") or label_fingerprint(a.get("labels") or {})), str(a.get("startsAt")))
            for a in alerts or ()
            if isinstance(a, dict)
        ]
    if event.kind == "alerts":
        found = []
        for alert in event.body if isinstance(event.body, list) else [event.body]:
            if not isinstance(alert, dict):
                continue
            labels = {"alertname": str(alert.get("name")), **(alert.get("labels") or {})}
            labels.setdefault("severity", str(alert.get("severity")))
            found.append(
                (str(alert.get("fingerprint") or label_fingerprint(labels)), str(alert.get("timestamp")))
            )
        return found
    return []


def _event(document: dict[str, Any], line: int) -> ReplayEvent:
    kind = document.get("kind")
    if kind not in PATHS:
        raise RecordingError(line, f"kind must be one of {', '.join(PATHS)}")
    at = _time(document.get("at"), line, "at")
    if "body" not in document:
        raise RecordingError(line, "body is required")
    return ReplayEvent(at=at, kind=str(kind), body=document["body"], line=line)


def _alert_delivery_time(document: dict[str, Any], line: int) -> datetime:
    if "startsAt" not in document or "labels" not in document:
        raise RecordingError(line, "neither a nocbot event (kind, at, body) nor an Alertmanager alert")
    starts = _time(document["startsAt"], line, "startsAt")
    ends_raw = document.get("endsAt")
    if document.get("status") == "resolved" and ends_raw and ends_raw != _ZERO_TIME:
        return max(starts, _time(ends_raw, line, "endsAt"))
    return starts


def _webhook(pending: list[tuple[int, dict[str, Any]]], at: datetime | None) -> ReplayEvent:
    if at is None:
        raise ValueError("a webhook needs a delivery time")
    body = {
        "version": "4",
        "status": "firing",
        "receiver": "nocbot-replay",
        "alerts": [a for _, a in pending],
    }
    return ReplayEvent(at=at, kind="alertmanager", body=body, line=pending[0][0])


def _time(value: Any, line: int, name: str) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=UTC)
    parsed = parse_iso(value) if isinstance(value, str) else None
    if parsed is None:
        raise RecordingError(line, f"{name} is not an ISO 8601 time or epoch seconds")
    return parsed


def _shift_key(document: Any, key: str, delta: timedelta) -> None:
    if not isinstance(document, dict) or key not in document:
        return
    value = document[key]
    if isinstance(value, int | float) and not isinstance(value, bool):
        document[key] = value + delta.total_seconds()
    elif isinstance(value, str) and value and value != _ZERO_TIME:
        parsed = parse_iso(value)
        if parsed is not None:
            document[key] = (parsed + delta).isoformat().replace("+00:00", "Z")
