"""What the compiler produces: the statement to run, and how to read its rows into an answer."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select

from engine.rollup.plan import Availability
from nlq.ast import Question, Ranking
from nlq.periods import StepKeys
from nlq.timerange import TimeRange


@dataclass(frozen=True)
class Limits:
    max_rows: int = 1000  # rows in an answer
    max_scanned_rows: int = 200_000  # bucket rows read to merge sketches (quantiles)
    timeout_s: float = 10.0


@dataclass(frozen=True)
class Context:
    """Everything outside the question the compiler needs, passed in so it stays pure."""

    now: datetime
    tz: ZoneInfo
    availability: Availability
    limits: Limits = field(default_factory=Limits)


class ResultKind(enum.StrEnum):
    TABLE = "table"  # the statement's rows are the answer's rows (keys…, value)
    SKETCHES = "sketches"  # rows are (keys…, sketch, raw value, count): merge per key, then quantile
    PEAK = "peak"  # one row: (bucket start, bucket width, value)
    DURATION = "duration"  # one row: how many steps crossed the threshold


class KeyKind(enum.StrEnum):
    PART = "part"  # which of two compared time ranges
    STEP = "step"  # a time-series step
    LABEL = "label"  # a label value, a service, a playbook…
    PRIORITY = "priority"


@dataclass(frozen=True)
class KeyColumn:
    name: str  # the answer's column name
    kind: KeyKind


@dataclass(frozen=True)
class CompiledQuery:
    question: Question
    statement: Select[Any]
    kind: ResultKind
    keys: tuple[KeyColumn, ...]  # the statement's leading columns, in order
    value_name: str  # the answer's value column: avg, p95, incidents, mttr_seconds…
    time_range: TimeRange
    resolution: str
    row_limit: int
    tz: ZoneInfo  # the team's time zone: times in the answer are shown in it
    steps: StepKeys | None = None
    parts: tuple[TimeRange, ...] = ()  # the compared ranges, by part index
    quantile: float | None = None
    ranking: Ranking | None = None
    step_seconds: int | None = None  # DURATION: how long one counted step is
