"""Files other tools export: metric points and incident history, as CSV or JSON lines.

Parsers take lines and yield models; a bad line raises `ImportFileError` with its line number, and
the importer rolls the whole file back, so a file is stored completely or not at all.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Column, String

from engine.models import MetricPoint, PastIncident, Priority
from engine.storage.schema import incidents
from integrations.nocbot_api import parse_point
from integrations.payload import NUL_MESSAGE, PayloadError, epoch_seconds, parse_iso

INCIDENT_COLUMNS = (
    "id",
    "title",
    "service",
    "priority",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "resolution",
    "playbook",
)


def _length(column: Column[str]) -> int | None:
    return column.type.length if isinstance(column.type, String) else None


# The columns these fields are stored in: PostgreSQL refuses longer text, mid-import and without a
# line number, where SQLite would keep it; so they are checked here, on both.
_MAX_LENGTH = {
    "id": _length(incidents.c.external_id),
    "service": _length(incidents.c.service),
    "playbook": _length(incidents.c.playbook),
}


class ImportFileError(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def is_json_lines(first_line: str) -> bool:
    return first_line.lstrip().startswith("{")


def read_metric_points(lines: Iterable[str]) -> Iterator[MetricPoint]:
    """Points from CSV `timestamp,metric,value,<label>...` or JSON lines `{metric, labels, ts, value}`."""
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        return
    if is_json_lines(first):
        yield from _json_lines(_chain(first, iterator), _point_from_json)
        return
    records = _csv_records(_chain(first, iterator))
    header_line, cells = next(records)
    header = [name.strip() for name in cells]
    if header[:3] != ["timestamp", "metric", "value"]:
        raise ImportFileError(
            header_line, "header must start with timestamp,metric,value (then one column per label)"
        )
    labels = header[3:]
    for name in labels:
        if not name.isidentifier():
            raise ImportFileError(header_line, f"label column {name!r} is not a valid label name")
    _check_unique(header, header, header_line)
    for line, row in records:
        if not row or row == [""]:
            continue
        if len(row) != len(header):
            raise ImportFileError(line, f"expected {len(header)} columns, found {len(row)}")
        ts = _csv_time(row[0], line)
        metric = row[1].strip()
        try:
            value = float(row[2])
        except ValueError:
            raise ImportFileError(line, f"value {row[2]!r} is not a number") from None
        if not math.isfinite(value):
            raise ImportFileError(line, f"value {row[2]!r} is not finite")
        point = {
            "metric": metric,
            "labels": {k: v for k, v in zip(labels, row[3:], strict=True) if v != ""},
            "ts": ts,
            "value": value,
        }
        yield _point_from_json(point, line)


def read_past_incidents(lines: Iterable[str]) -> Iterator[PastIncident]:
    """Incident history from CSV with the `INCIDENT_COLUMNS` header, or the same keys as JSON lines."""
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        return
    if is_json_lines(first):
        yield from _json_lines(_chain(first, iterator), _incident_from_record)
        return
    records = _csv_records(_chain(first, iterator))
    header_line, header = next(records)
    missing = [c for c in INCIDENT_COLUMNS if c not in header]
    if missing:
        raise ImportFileError(
            header_line, f"header lacks {', '.join(missing)}; expected {','.join(INCIDENT_COLUMNS)}"
        )
    # other columns are ignored, so only these must be unambiguous
    _check_unique(header, INCIDENT_COLUMNS, header_line)
    for line, row in records:
        if not row:
            continue
        if len(row) != len(header):
            # fewer cells is a line cut short as often as empty trailing fields: never guessed at
            side = "more" if len(row) > len(header) else "fewer"
            raise ImportFileError(line, f"{side} columns than the header ({len(row)}, not {len(header)})")
        yield _incident_from_record(dict(zip(header, row, strict=True)), line)


def _csv_records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of each CSV record; what the csv module cannot read fails at its line."""
    reader = csv.reader(lines)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # a field over csv's size limit, a quote it cannot close…
            raise ImportFileError(reader.line_num, f"not valid CSV: {exc}") from None
        yield reader.line_num, row


def _check_unique(header: list[str], names: Iterable[str], line: int) -> None:
    """A column twice would let one cell silently win over the other."""
    for name in names:
        if header.count(name) > 1:
            raise ImportFileError(line, f"column {name!r} appears more than once in the header")


def _json_lines(lines: Iterable[str], build: Any) -> Iterator[Any]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ImportFileError(number, f"invalid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise ImportFileError(number, "expected a JSON object")
        yield build(document, number)


def _point_from_json(document: dict[str, Any], line: int) -> MetricPoint:
    try:
        return parse_point(document, "")
    except PayloadError as exc:
        raise ImportFileError(line, f"{exc.field}: {exc.message}" if exc.field else exc.message) from None


def _incident_from_record(record: dict[str, Any], line: int) -> PastIncident:
    def text(key: str, *, required: bool = False) -> str | None:
        value = record.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise ImportFileError(line, f"{key} is required")
            return None
        if not isinstance(value, str):
            raise ImportFileError(line, f"{key} must be text")
        if "\x00" in value:
            raise ImportFileError(line, f"{key} {NUL_MESSAGE}")
        limit = _MAX_LENGTH.get(key)
        if limit is not None and len(value.strip()) > limit:
            raise ImportFileError(line, f"{key} is longer than {limit} characters")
        return value.strip()

    priority_raw = text("priority")
    priority = None
    if priority_raw is not None:
        try:
            priority = Priority.parse(priority_raw)
        except ValueError as exc:
            raise ImportFileError(line, str(exc)) from None
    opened = _time(record.get("opened_at"), line, "opened_at")
    if opened is None:
        raise ImportFileError(line, "opened_at is required")
    acknowledged = _time(record.get("acknowledged_at"), line, "acknowledged_at")
    resolved = _time(record.get("resolved_at"), line, "resolved_at")
    for name, moment in (("acknowledged_at", acknowledged), ("resolved_at", resolved)):
        if moment is not None and moment < opened:
            raise ImportFileError(line, f"{name} is before opened_at")
    return PastIncident(
        id=text("id", required=True) or "",
        title=text("title", required=True) or "",
        service=text("service"),
        priority=priority,
        opened_at=opened,
        acknowledged_at=acknowledged,
        resolved_at=resolved,
        resolution=text("resolution"),
        playbook=text("playbook"),
    )


def _time(value: Any, line: int, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ImportFileError(line, f"{name} must be an ISO 8601 time or epoch seconds")
    seconds = _as_number(value)
    if seconds is not None:
        try:
            return epoch_seconds(seconds, name)
        except PayloadError as exc:
            raise ImportFileError(line, f"{name}: {exc.message}") from None
    assert isinstance(value, str)
    parsed = parse_iso(value)
    if parsed is None:
        raise ImportFileError(line, f"{name} {value!r} is not an ISO 8601 time or epoch seconds")
    return parsed


def _as_number(value: int | float | str) -> float | None:
    if not isinstance(value, str):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return None


def _csv_time(raw: str, line: int) -> float:
    moment = _time(raw.strip(), line, "timestamp")
    if moment is None:
        raise ImportFileError(line, "timestamp is required")
    return moment.timestamp()


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest
