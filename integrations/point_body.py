"""A metrics request body (bytes) → PointBatch, validated as strictly as `nocbot_api.parse_point`.

This is the ingestion hot path: a request carries thousands of points, nearly all of series seen
before. msgspec decodes the body straight into typed fields (a wrong type is an error, never a
coercion), and keeps each point's labels as their raw JSON bytes: together with the metric name
they key the series cache, so a known series costs no label dict and no validation. Whatever the
fast decoder refuses is parsed again by the general path, which names the offending field.
"""

from __future__ import annotations

import math
from typing import Any, cast

import msgspec
import orjson

from engine.models import PointBatch, SeriesRef
from integrations.nocbot_api import MAX_EPOCH, parse_point, parse_point_batch
from integrations.payload import PayloadError, loads_json

_NO_LABELS = msgspec.Raw(b"null")


# Unknown fields send the body down the general path: msgspec would skip them unchecked, where the
# general parser refuses a body that is not valid JSON anywhere.
class _Point(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    metric: str
    ts: float | str
    value: float
    labels: msgspec.Raw = _NO_LABELS


class _Body(msgspec.Struct, gc=False, forbid_unknown_fields=True):
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
        return _fast_path(body, known)
    except PayloadError:
        # msgspec passes label bytes through unchecked: a body that is not valid JSON further on is
        # refused as such, as the general parser would
        loads_json(body)
        raise
    except Exception:
        # not the well-typed shape (or bytes msgspec passes through unchecked, such as labels that
        # are not valid UTF-8): the general parser says precisely what is wrong, and takes what it
        # accepts should the two ever disagree
        return parse_point_batch(loads_json(body))


def _fast_path(body: bytes, known: KnownSeries) -> PointBatch:
    decoded = _DECODER.decode(body)
    points, base = (decoded.points, "points") if isinstance(decoded, _Body) else (decoded, "")
    known.make_room()
    # Column by column: a comprehension per field costs a fraction of a loop doing everything per
    # point. The common case (known series, epoch-second times) needs nothing more.
    keys = [(point.metric, bytes(point.labels)) for point in points]
    refs: list[SeriesRef | None] = list(map(known.as_sent.get, keys))
    stamps: list[float | str] = [point.ts for point in points]
    values = [point.value for point in points]
    if not (all(refs) and _plain_times(stamps) and math.isfinite(sum(values))):
        _check_each(points, base, keys, refs, stamps, known)
    series_refs = cast(list[SeriesRef], refs)
    positions: dict[int, int] = {}  # one SeriesRef object per series: keyed by identity
    index = [positions.setdefault(id(ref), len(positions)) for ref in series_refs]
    series = tuple({id(ref): ref for ref in series_refs}.values())
    return PointBatch(series, index, cast(list[float], stamps), values)


def _plain_times(stamps: list[float | str]) -> bool:
    try:
        return not stamps or (min(stamps) >= 0 and max(stamps) < MAX_EPOCH)  # type: ignore[operator]
    except TypeError:  # a time given as text
        return False


def _check_each(
    points: list[_Point],
    base: str,
    keys: list[tuple[str, bytes]],
    refs: list[SeriesRef | None],
    stamps: list[float | str],
    known: KnownSeries,
) -> None:
    """Validate, in body order, each point of a series not seen before or with a time or value to
    convert or refuse: the first bad one raises, as the general parser would."""
    for number, point in enumerate(points):
        ts = point.ts
        if refs[number] is None:
            refs[number] = known.as_sent.get(keys[number])  # learned from an earlier point
        fine_time = not isinstance(ts, str) and 0 <= ts < MAX_EPOCH
        if refs[number] is not None and fine_time and math.isfinite(point.value):
            continue
        parsed = parse_point(_as_document(point), f"{base}[{number}]")  # or PayloadError
        if refs[number] is None:
            refs[number] = known.learn(keys[number], SeriesRef(parsed.metric, parsed.labels))
        stamps[number] = parsed.ts


def _as_document(point: _Point) -> dict[str, Any]:
    return {
        "metric": point.metric,
        "labels": orjson.loads(bytes(point.labels)),
        "ts": point.ts,
        "value": point.value,
    }
