"""Metric questions → one SELECT over rollups and raw points, planned for the range asked."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from engine.rollup.levels import Level
from engine.rollup.plan import RangePlan, finest_holding, plan_range
from engine.storage.schema import metric_series
from nlq.ast import (
    AVERAGE,
    AggKind,
    Direction,
    MetricQuestion,
    PeakQuestion,
    Rolling,
    ThresholdQuestion,
    TimeExpr,
    Unit,
)
from nlq.compiled import CompiledQuery, Context, KeyColumn, KeyKind, ResultKind
from nlq.metric_sql import bucket_rows, columns_for, label, matching_series, value_of
from nlq.ordering import key_order, ranked_rows
from nlq.periods import StepKeys
from nlq.timerange import TimeRange, resolve

DEFAULT_TIME: TimeExpr = Rolling(24, Unit.HOUR)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PLAIN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
_RESERVED = {"part", "period", "value", "bucket", "width", "count", "sum", "min", "max", "sketch"}


def compile_metric(question: MetricQuestion, ctx: Context) -> CompiledQuery:
    ranges = [resolve(question.time or DEFAULT_TIME, ctx.now, ctx.tz)]
    if question.compare_time is not None:
        ranges.append(resolve(question.compare_time, ctx.now, ctx.tz))
    steps = (
        StepKeys.over(question.step, ctx.tz, min(r.start for r in ranges), max(r.end for r in ranges))
        if question.step
        else None
    )
    plans = [_plan(r, ctx, steps.coarsest_level if steps else Level.D1) for r in ranges]
    compared = len(plans) > 1
    columns = columns_for(question.aggregation)
    columns |= {"bucket"} if steps else set()
    columns |= {"series_id"} if question.group_by else set()
    points = bucket_rows(plans, matching_series(question.metric, question.filters), columns, parts=compared)
    keys: list[tuple[KeyColumn, ColumnElement[Any]]] = []
    if compared:
        keys.append((KeyColumn("range", KeyKind.PART), points.columns["part"]))
    if steps is not None:
        keys.append((KeyColumn("period", KeyKind.STEP), steps.key(points.columns["bucket"])))
    for position, key in enumerate(question.group_by):
        keys.append((KeyColumn(key, KeyKind.LABEL), label(key).label(_alias(key, position))))
    source = (
        points.from_.join(metric_series, metric_series.c.id == points.columns["series_id"])
        if question.group_by
        else points.from_
    )
    labelled = [_labelled(column, expr) for column, expr in keys]

    def compiled(statement: Select[Any], kind: ResultKind) -> CompiledQuery:
        return CompiledQuery(
            question=question,
            statement=statement,
            kind=kind,
            keys=tuple(column for column, _expr in keys),
            value_name=question.aggregation.name,
            time_range=_answered(ranges[0], plans[0]),
            resolution=_resolution(plans),
            row_limit=ctx.limits.max_rows,
            tz=ctx.tz,
            steps=steps,
            parts=tuple(_answered(r, p) for r, p in zip(ranges, plans, strict=True)) if compared else (),
            quantile=question.aggregation.q,
            ranking=question.ranking,
        )

    if question.aggregation.kind is AggKind.QUANTILE:
        # sketches merge in Python: read the bucket rows, not an aggregate
        return compiled(
            select(
                *labelled,
                points.columns["sketch"].label("sketch"),
                points.columns["sum"].label("value"),
                points.columns["count"].label("count"),
            )
            .select_from(source)
            .where(*points.where)
            .limit(ctx.limits.max_scanned_rows + 1),
            ResultKind.SKETCHES,
        )
    value = value_of(question.aggregation, points).label("value")
    statement = select(*labelled, value).select_from(source).where(*points.where)
    if labelled:
        statement = statement.group_by(*labelled)
    if question.ranking is not None:
        descending = question.ranking.direction is Direction.HIGHEST
        statement = statement.order_by(
            value.desc() if descending else value.asc(), *key_order(labelled)
        ).limit(ranked_rows(question.ranking, ctx.limits))
    else:
        statement = statement.order_by(*key_order(labelled)).limit(ctx.limits.max_rows + 1)
    return compiled(statement, ResultKind.TABLE)


def compile_peak(question: PeakQuestion, ctx: Context) -> CompiledQuery:
    requested = resolve(question.time or DEFAULT_TIME, ctx.now, ctx.tz)
    plan = _plan(requested, ctx, finest_holding(_ms(requested.start), ctx.availability))
    highest = question.direction is Direction.HIGHEST
    extreme = "max" if highest else "min"
    points = bucket_rows(
        [plan], matching_series(question.metric, question.filters), {"bucket", "width", extreme}
    )
    c = points.columns
    value = (func.max(c["max"]) if highest else func.min(c["min"])).label("value")
    # segments never overlap in time, so a bucket start belongs to one level and one width
    bucket = c["bucket"].label("bucket")
    statement = (
        select(bucket, func.max(c["width"]).label("width"), value)
        .select_from(points.from_)
        .where(*points.where)
        .group_by(bucket)
        .order_by(value.desc() if highest else value.asc(), bucket)
        .limit(1)
    )
    return CompiledQuery(
        question=question,
        statement=statement,
        kind=ResultKind.PEAK,
        keys=(),
        value_name="max" if highest else "min",
        time_range=_answered(requested, plan),
        resolution=plan.resolution,
        row_limit=1,
        tz=ctx.tz,
    )


def compile_threshold(question: ThresholdQuestion, ctx: Context) -> CompiledQuery:
    requested = resolve(question.time or DEFAULT_TIME, ctx.now, ctx.tz)
    steps = StepKeys.over(question.step, ctx.tz, requested.start, requested.end)
    plan = _plan(requested, ctx, steps.coarsest_level)
    points = bucket_rows(
        [plan], matching_series(question.metric, question.filters), {"bucket", "sum", "count"}
    )
    period = steps.key(points.columns["bucket"]).label("period")
    average = value_of(AVERAGE, points)
    crossed = average > question.threshold if question.above else average < question.threshold
    per_step = (
        select(period, average.label("value"))
        .select_from(points.from_)
        .where(*points.where)
        .group_by(period)
        .having(crossed)
        .subquery("steps")
    )
    statement = select(func.count().label("steps")).select_from(per_step)
    return CompiledQuery(
        question=question,
        statement=statement,
        kind=ResultKind.DURATION,
        keys=(),
        value_name={3600: "hours", 86_400: "days"}.get(steps.seconds or 0, "minutes"),
        time_range=_answered(requested, plan),
        resolution=plan.resolution,
        row_limit=1,
        tz=ctx.tz,
        steps=steps,
        step_seconds=steps.seconds,
    )


def _plan(requested: TimeRange, ctx: Context, coarsest: Level) -> RangePlan:
    return plan_range(_ms(requested.start), _ms(requested.end), ctx.availability, coarsest)


def _answered(requested: TimeRange, plan: RangePlan) -> TimeRange:
    """The range the data actually covers, after snapping to what the stores keep."""
    if not plan.segments:
        return requested
    return TimeRange(_from_ms(plan.start_ms), _from_ms(plan.end_ms), requested.words)


def _resolution(plans: list[RangePlan]) -> str:
    labels = [plan.resolution for plan in plans]
    return labels[0] if len(set(labels)) == 1 else " | ".join(labels)


def _labelled(column: KeyColumn, expr: ColumnElement[Any]) -> ColumnElement[Any]:
    if column.kind is KeyKind.LABEL:
        return expr  # already labelled with a safe alias
    return expr.label(column.name if column.kind is KeyKind.STEP else "part")


def _alias(key: str, position: int) -> str:
    """The key itself when it is a plain identifier (readable SQL), else a neutral name."""
    return key if _PLAIN_NAME.match(key) and key not in _RESERVED else f"label_{position + 1}"


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)
