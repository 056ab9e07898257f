"""The one-sentence answer a person reads in the channel, from the answer's rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nlq.ast import (
    Direction,
    EventQuestion,
    LabelMatch,
    Measure,
    MetricQuestion,
    PeakQuestion,
    Question,
    ThresholdQuestion,
)
from nlq.compiled import CompiledQuery

_SHOWN = 5  # groups named in a sentence; the rows carry all of them


def sentence(compiled: CompiledQuery, columns: list[str], rows: list[list[Any]]) -> str:
    question = compiled.question
    when = f"{compiled.time_range.words} ({_span(compiled)})"
    if not rows:
        return f"No data for {_subject(question)} {when}."
    value = columns[-1]
    match question:
        case PeakQuestion():
            verb = "highest" if question.direction is Direction.HIGHEST else "lowest"
            start, end, measured = rows[0]
            first, after = datetime.fromisoformat(start), datetime.fromisoformat(end)
            # a raw point is an instant; a rollup bucket only says which 5 minutes, hour or day
            when = (
                f"at {first:%Y-%m-%d %H:%M:%S}"
                if (after - first).total_seconds() <= 1
                else f"between {first:%Y-%m-%d %H:%M} and {after:%Y-%m-%d %H:%M}"
            )
            return f"{_subject(question)} was {verb} ({_num(measured)}) {compiled.time_range.words}, {when}."
        case ThresholdQuestion():
            side = "above" if question.above else "below"
            limit = _num(question.threshold)
            return f"{_subject(question)} was {side} {limit} for {_num(rows[0][0])} {value} {when}."
    measure = _measure_words(question)
    if compiled.parts:
        by_range = [f"{row[0]} {_format(value, row[-1])}" for row in rows]
        change = ""
        if len(rows) == 2 and isinstance(rows[0][-1], int | float) and rows[1][-1]:
            change = f" ({(rows[0][-1] / rows[1][-1] - 1) * 100:+.1f} %)"
        return f"{measure}: " + " vs ".join(by_range) + change + "."
    keys = len(columns) - 1
    if keys == 0:
        return f"{measure} {when} was {_format(value, rows[0][0])}."
    shown = [
        f"{' / '.join(_key_text(columns[i], row[i]) for i in range(keys))}: {_format(value, row[-1])}"
        for row in rows[:_SHOWN]
    ]
    more = f" (and {len(rows) - _SHOWN} more)" if len(rows) > _SHOWN else ""
    grouping = (
        " by " + ", ".join(c for c in columns[:keys] if c != "period")
        if keys > 1 or "period" not in columns
        else ""
    )
    if "period" in columns and isinstance(question, MetricQuestion | EventQuestion) and question.step:
        grouping += f" per {question.step.value}"
    return f"{measure}{grouping} {when}: " + "; ".join(shown) + more + "."


def _measure_words(question: Question) -> str:
    if isinstance(question, MetricQuestion):
        return f"{question.aggregation.phrase.capitalize()} of {_subject(question)}"
    assert isinstance(question, EventQuestion)
    subject = _subject(question)
    if question.measure is Measure.MTTR:
        return f"MTTR of {subject}"
    if question.measure is Measure.MTTA:
        return f"MTTA of {subject}"
    if question.measure is Measure.AUTO_RESOLVED_SHARE:
        return f"Share of {subject} auto-resolved"
    return f"Number of {subject}"


def _subject(question: Question) -> str:
    if isinstance(question, EventQuestion):
        words = question.subject.value
        if question.priorities:
            words = "/".join(f"P{p}" for p in question.priorities) + " " + words
        if question.auto_resolved_only:
            words = "auto-resolved " + words
        if question.services:
            words += " for " + " or ".join(question.services)
        return words
    return question.metric + _filters(question.filters)


def _filters(filters: tuple[LabelMatch, ...]) -> str:
    if not filters:
        return ""
    return " for " + " and ".join(f"{m.key} {' or '.join(m.values)}" for m in filters)


def _format(name: str, value: Any) -> str:
    if value is None:
        return "no data"
    if name.endswith("_seconds"):
        return _duration(float(value))
    if name == "auto_resolved_share":
        return f"{float(value) * 100:.1f} %"
    return _num(value)


def _num(value: Any) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours / 24:.1f} days"


def _key_text(column: str, value: Any) -> str:
    if column == "priority" and value is not None:
        return f"P{value}"
    if column in ("period", "start", "end") and isinstance(value, str):
        return _clock(value)
    return "(none)" if value is None else str(value)


def _clock(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return moment.strftime("%Y-%m-%d %H:%M")


def _span(compiled: CompiledQuery) -> str:
    start = compiled.time_range.start.astimezone(compiled.tz)
    end = compiled.time_range.end.astimezone(compiled.tz)
    return f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} {compiled.tz.key}"
