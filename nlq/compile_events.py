"""Incident-history questions → one SELECT over incidents, alerts or playbook runs.

Incidents belong to the range they were opened in (alerts: started; playbook runs: requested).
MTTR is the mean of (resolved − opened) over resolved incidents, MTTA of (acknowledged − opened)
over acknowledged ones; the auto-resolved share counts every incident opened in the range.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    FromClause,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)

from engine.storage.schema import alerts, incidents, playbook_runs
from nlq.ast import Direction, EventQuestion, Measure, Rolling, Subject, TimeExpr, Unit
from nlq.compiled import CompiledQuery, Context, KeyColumn, KeyKind, ResultKind
from nlq.ordering import key_order, ranked_rows
from nlq.periods import StepKeys
from nlq.timerange import resolve

DEFAULT_TIME: TimeExpr = Rolling(30, Unit.DAY)
_VALUE_NAMES = {
    Measure.MTTR: "mttr_seconds",
    Measure.MTTA: "mtta_seconds",
    Measure.AUTO_RESOLVED_SHARE: "auto_resolved_share",
}


def compile_event(question: EventQuestion, ctx: Context) -> CompiledQuery:
    ranges = [resolve(question.time or DEFAULT_TIME, ctx.now, ctx.tz)]
    if question.compare_time is not None:
        ranges.append(resolve(question.compare_time, ctx.now, ctx.tz))
    source, opened, columns = _source(question.subject)
    conditions: list[ColumnElement[bool]] = [or_(*[and_(opened >= r.start, opened < r.end) for r in ranges])]
    if question.services:
        conditions.append(columns["service"].in_(question.services))
    if question.priorities:
        conditions.append(columns["priority"].in_(question.priorities))
    if question.auto_resolved_only:
        conditions.append(incidents.c.auto_resolved == true())
    value, required = _measure(question.measure)
    if required is not None:
        conditions.append(required)
    keys: list[tuple[KeyColumn, ColumnElement[Any]]] = []
    if len(ranges) > 1:
        compared = and_(opened >= ranges[1].start, opened < ranges[1].end)
        keys.append((KeyColumn("range", KeyKind.PART), case((compared, literal(1)), else_=literal(0))))
    steps = None
    if question.step is not None:
        steps = StepKeys.over(question.step, ctx.tz, min(r.start for r in ranges), max(r.end for r in ranges))
        keys.append(
            (KeyColumn("period", KeyKind.STEP), steps.key(type_coerce(opened, BigInteger) // 1_000_000))
        )
    for key in question.group_by:
        kind = KeyKind.PRIORITY if key == "priority" else KeyKind.LABEL
        keys.append((KeyColumn(key, kind), columns[key]))
    labelled = [
        expr.label(column.name if column.kind is not KeyKind.PART else "part") for column, expr in keys
    ]
    measured = value.label("value")
    statement: Select[Any] = select(*labelled, measured).select_from(source).where(*conditions)
    if labelled:
        statement = statement.group_by(*labelled)
    if question.ranking is not None:
        descending = question.ranking.direction is Direction.HIGHEST
        statement = statement.order_by(
            measured.desc() if descending else measured.asc(), *key_order(labelled)
        ).limit(ranked_rows(question.ranking, ctx.limits))
    else:
        statement = statement.order_by(*key_order(labelled)).limit(ctx.limits.max_rows + 1)
    return CompiledQuery(
        question=question,
        statement=statement,
        kind=ResultKind.TABLE,
        keys=tuple(column for column, _expr in keys),
        value_name=_VALUE_NAMES.get(question.measure, question.subject.value.replace(" ", "_")),
        time_range=ranges[0],
        resolution="exact",
        row_limit=ctx.limits.max_rows,
        tz=ctx.tz,
        steps=steps,
        parts=tuple(ranges) if len(ranges) > 1 else (),
        ranking=question.ranking,
    )


def _source(subject: Subject) -> tuple[FromClause, ColumnElement[Any], dict[str, ColumnElement[Any]]]:
    """The table to read, its time column, and the columns a question may filter or group by."""
    if subject is Subject.ALERTS:
        return alerts, alerts.c.starts_at, {"service": alerts.c.service, "alertname": alerts.c.name}
    if subject is Subject.PLAYBOOK_RUNS:
        joined = playbook_runs.join(incidents, incidents.c.id == playbook_runs.c.incident_id)
        return (
            joined,
            playbook_runs.c.requested_at,
            {
                "service": incidents.c.service,
                "priority": incidents.c.priority,
                "playbook": playbook_runs.c.playbook,
            },
        )
    return (
        incidents,
        incidents.c.opened_at,
        {"service": incidents.c.service, "priority": incidents.c.priority, "playbook": incidents.c.playbook},
    )


def _measure(measure: Measure) -> tuple[ColumnElement[Any], ColumnElement[bool] | None]:
    """The aggregate, and the condition an incident must meet to count in it."""
    if measure is Measure.MTTR:
        return _mean_seconds(incidents.c.resolved_at), incidents.c.resolved_at.is_not(None)
    if measure is Measure.MTTA:
        return _mean_seconds(incidents.c.acknowledged_at), incidents.c.acknowledged_at.is_not(None)
    if measure is Measure.AUTO_RESOLVED_SHARE:
        share = func.avg(case((incidents.c.auto_resolved == true(), 1.0), else_=0.0))
        return cast(share, Float), None
    return func.count(), None


def _mean_seconds(until: ColumnElement[Any]) -> ColumnElement[Any]:
    # Instants are epoch microseconds: subtract as integers, never as the datetimes they decode to
    delta = type_coerce(until, BigInteger) - type_coerce(incidents.c.opened_at, BigInteger)
    return cast(func.avg(cast(delta, Float)), Float) / 1_000_000.0
