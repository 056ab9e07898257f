"""A metrics request body (bytes) → PointBatch, validated as strictly as `nocbot_api.parse_point`.

This is the ingestion hot path: a request carries thousands of points, nearly all of series seen
before. msgspec decodes the body straight into typed fields (a wrong type is an error, never a
coercion), and keeps each point's labels as their raw JSON bytes: together with the metric name
they key the series cache, so a known series costs no label dict and no validation. Whatever the
fast decoder refuses is parsed again by the general path, which names the offending field.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import orjson

from engine.models import PointBatch, SeriesRef
from integrations.nocbot_api import MAX_EPOCH, parse_point, parse_point_batch
from integrations.payload import loads_json

_NO_LABELS = msgspec.Raw(b"null")


class _Point(msgspec.Struct, gc=False):
    metric: str
    ts: float | str
    value: float
    labels: msgspec.Raw = _NO_LABELS


class _Body(msgspec.Struct, gc=False):
    points: list[_Point]


_DECODER = msgspec.json.Decoder(_Body | list[_Point])


class KnownSeries:
    """Series validated before, by metric and labels exactly as sent, and by canonical labels.

    Agents send the same series with the same bytes again and again. Two spellings of one series
    (labels in another order) get the same SeriesRef object, which later stages key by identity.
    Bounded: when full it starts over, between batches, so one batch never holds two refs of a series.
    """

    def __init__(self, capacity: int = 500_000) -> None:
        self.capacity = capacity
        self.as_sent: dict[tuple[str, bytes], SeriesRef] = {}
        self._canonical: dict[tuple[str, bytes], SeriesRef] = {}

    def make_room(self) -> None:
        if len(self.as_sent) >= self.capacity or len(self._canonical) >= self.capacity:
            self.as_sent.clear()
            self._canonical.clear()

    def learn(self, as_sent: tuple[str, bytes], ref: SeriesRef) -> SeriesRef:
        canonical = (ref.metric, orjson.dumps(ref.labels, option=orjson.OPT_SORT_KEYS))
        known = self._canonical.setdefault(canonical, ref)
        self.as_sent[as_sent] = known
        return known


def parse_point_body(body: bytes, known: KnownSeries) -> PointBatch:
    """The points of a metrics body (a list, or {"points": [...]}); PayloadError names a bad field."""
    try:
        decoded = _DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        # not the well-typed shape: the general parser says precisely what is wrong (and takes
        # what it accepts, should the two ever disagree)
        return parse_point_batch(loads_json(body))
    points, base = (decoded.points, "points") if isinstance(decoded, _Body) else (decoded, "")
    known.make_room()
    as_sent = known.as_sent
    positions: dict[int, int] = {}
    series: list[SeriesRef] = []
    index: list[int] = []
    stamps: list[float] = []
    values: list[float] = []
    for number, point in enumerate(points):
        key = (point.metric, bytes(point.labels))
        ref = as_sent.get(key)
        if ref is None:
            ref = known.learn(key, _validated_series(point, f"{base}[{number}]"))
        position = positions.get(id(ref))
        if position is None:
            position = positions[id(ref)] = len(series)
            series.append(ref)
        index.append(position)
        ts = point.ts
        if isinstance(ts, str) or not 0 <= ts < MAX_EPOCH or not math.isfinite(point.value):
            ts = parse_point(_as_document(point), f"{base}[{number}]").ts  # or PayloadError
        stamps.append(ts)
        values.append(point.value)
    return PointBatch(tuple(series), index, stamps, values)


def _validated_series(point: _Point, field: str) -> SeriesRef:
    parsed = parse_point(_as_document(point), field)
    return SeriesRef(parsed.metric, parsed.labels)


def _as_document(point: _Point) -> dict[str, Any]:
    return {
        "metric": point.metric,
        "labels": orjson.loads(bytes(point.labels)),
        "ts": point.ts,
        "value": point.value,
    }
