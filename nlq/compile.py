"""AST → CompiledQuery: a SQLAlchemy Core SELECT that runs unchanged on PostgreSQL and SQLite.

Pure: the clock, the time zone and what the rollup stores hold arrive in the Context. Every value
from the question reaches the database as a bound parameter; table and column names come from the
schema, never from the question.
"""

from __future__ import annotations

from nlq.ast import EventQuestion, MetricQuestion, PeakQuestion, Question, ThresholdQuestion
from nlq.compile_events import compile_event
from nlq.compile_metrics import compile_metric, compile_peak, compile_threshold
from nlq.compiled import CompiledQuery, Context, Limits

__all__ = ["CompiledQuery", "Context", "Limits", "compile_question"]


def compile_question(question: Question, ctx: Context) -> CompiledQuery:
    match question:
        case MetricQuestion():
            return compile_metric(question, ctx)
        case PeakQuestion():
            return compile_peak(question, ctx)
        case ThresholdQuestion():
            return compile_threshold(question, ctx)
        case EventQuestion():
            return compile_event(question, ctx)
    raise AssertionError(question)
