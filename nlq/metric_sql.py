"""The rows a metric question reads: one SELECT per planned segment, glued with UNION ALL.

Every segment yields rows of one shape — series, bucket start (s), bucket width (s), count, sum,
min, max and optionally the sketch — so the query above aggregates rollup buckets and raw points
alike: a raw point is a bucket of one (count 1, sum = min = max = value, width 0, no sketch).
Each segment filters on the series first, which is what the (series_id, bucket) keys serve. A
range that one segment answers (most questions) reads that table directly, without a subquery.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    FromClause,
    LargeBinary,
    Select,
    Table,
    and_,
    cast,
    false,
    func,
    literal,
    null,
    select,
    union_all,
)

from engine.rollup.levels import Level
from engine.rollup.plan import RangePlan
from engine.storage.schema import metric_points, metric_series, rollup_1d, rollup_1h, rollup_5m
from nlq.ast import AggKind, Aggregation, LabelMatch

_TABLES: dict[Level, Table] = {Level.M5: rollup_5m, Level.H1: rollup_1h, Level.D1: rollup_1d}
COLUMNS = ("series_id", "bucket", "width", "count", "sum", "min", "max", "sketch")


def matching_series(metric: str, filters: tuple[LabelMatch, ...]) -> Select[Any]:
    """The ids of the metric's series whose labels match every filter."""
    conditions = [metric_series.c.metric == metric]
    for match in filters:
        value = label(match.key)
        conditions.append(value == match.values[0] if len(match.values) == 1 else value.in_(match.values))
    return select(metric_series.c.id).where(and_(*conditions))


def label(key: str) -> ColumnElement[str]:
    """A series' label value, read from the JSON labels the same way on both databases."""
    value: ColumnElement[str] = metric_series.c.labels[key].as_string()
    return value


@dataclass(frozen=True)
class BucketSource:
    """Where bucket rows come from: FROM this, WHERE these, and each named column's expression."""

    from_: FromClause
    where: tuple[ColumnElement[bool], ...]
    columns: dict[str, ColumnElement[Any]]


def bucket_rows(
    plans: list[RangePlan], series: Select[Any], columns: Iterable[str], *, parts: bool = False
) -> BucketSource:
    """Every segment of every plan (plan i tagged `part` = i when `parts`), as one row source.

    Only the named columns (of COLUMNS) are read: fewer column proxies is most of what keeps
    compiling a question well under a millisecond.
    """
    wanted = [name for name in COLUMNS if name in set(columns)]
    segments = [
        _segment(segment.level, segment.start_ms, segment.end_ms, series, wanted, index if parts else None)
        for index, plan in enumerate(plans)
        for segment in plan.segments
    ]
    if not segments:
        # nothing is stored for the range: an empty row set of the same shape
        empty = _segment(Level.RAW, 0, 0, series, wanted, 0 if parts else None)
        segments = [BucketSource(empty.from_, (*empty.where, false()), empty.columns)]
    if len(segments) == 1:
        return segments[0]
    union = union_all(
        *[
            select(*[expr.label(name) for name, expr in segment.columns.items()]).where(*segment.where)
            for segment in segments
        ]
    ).subquery("points")
    return BucketSource(union, (), {name: union.c[name] for name in segments[0].columns})


def columns_for(aggregation: Aggregation) -> set[str]:
    """The bucket columns an aggregate reads."""
    return {
        AggKind.AVG: {"sum", "count"},
        AggKind.MAX: {"max"},
        AggKind.MIN: {"min"},
        AggKind.SUM: {"sum"},
        AggKind.COUNT: {"count"},
        AggKind.QUANTILE: {"sketch", "sum", "count"},
    }[aggregation.kind]


def value_of(aggregation: Aggregation, points: BucketSource) -> ColumnElement[Any]:
    """The SQL aggregate over bucket rows; averages weigh every point once (sum / count)."""
    c = points.columns
    match aggregation.kind:
        case AggKind.AVG:
            return cast(func.sum(c["sum"]), Float) / cast(func.sum(c["count"]), Float)
        case AggKind.MAX:
            return func.max(c["max"])
        case AggKind.MIN:
            return func.min(c["min"])
        case AggKind.SUM:
            return cast(func.sum(c["sum"]), Float)
        case AggKind.COUNT:
            return cast(func.sum(c["count"]), BigInteger)
    raise ValueError(f"{aggregation.name} is not computed in SQL")


def _segment(
    level: Level, start_ms: int, end_ms: int, series: Select[Any], wanted: list[str], part: int | None
) -> BucketSource:
    table: Table
    if level is Level.RAW:
        table, p = metric_points, metric_points.c
        # a raw point is a bucket of one: count 1, sum = min = max = value, width 0, no sketch
        available: dict[str, ColumnElement[Any]] = {
            "series_id": p.series_id,
            "bucket": p.ts // 1000,
            "width": literal(0, BigInteger),
            "count": literal(1, BigInteger),
            "sum": p.value,
            "min": p.value,
            "max": p.value,
            "sketch": cast(null(), LargeBinary),
        }
        where = (p.series_id.in_(series), p.ts >= start_ms, p.ts < end_ms)
    else:
        table = _TABLES[level]
        t = table.c
        available = {
            "series_id": t.series_id,
            "bucket": t.bucket,
            "width": literal(level.width_s, BigInteger),
            "count": t.count,
            "sum": t.sum,
            "min": t.min,
            "max": t.max,
            "sketch": t.sketch,
        }
        where = (t.series_id.in_(series), t.bucket >= start_ms // 1000, t.bucket < end_ms // 1000)
    columns = {name: available[name] for name in wanted}
    if part is not None:
        columns["part"] = literal(part, BigInteger)
    return BucketSource(table, where, columns)
