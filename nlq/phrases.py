"""The phrases of a question, as the grammar finds them, before they are assembled into the AST."""

from __future__ import annotations

from dataclasses import dataclass

from nlq.ast import Aggregation, Step, TimeExpr


@dataclass(frozen=True)
class Head:
    """What kind of answer the question's first words ask for."""

    kind: str  # plain | which | when | count | duration
    subject: str | None = None  # which: the terminal after "which" (KEY, PLAYBOOKS, …)
    key: object = None  # which: (label key, plural) for KEY
    unit: object = None  # duration: the Unit of "how many <unit>"


@dataclass(frozen=True)
class MetricPhrase:
    metric: str


@dataclass(frozen=True)
class AggregationPhrase:
    aggregation: Aggregation | None = None
    high: bool | None = None  # "highest"/"most" (True), "lowest"/"least" (False)


@dataclass(frozen=True)
class FilterPhrase:
    matches: tuple[tuple[str, str], ...]  # (label key, value)


@dataclass(frozen=True)
class TimePhrase:
    expr: TimeExpr


@dataclass(frozen=True)
class GroupPhrase:
    keys: tuple[tuple[str, object], ...]  # (terminal, value): KEY (key, plural), UNIT, PRIORITY_KEY…


@dataclass(frozen=True)
class StepPhrase:
    step: Step


@dataclass(frozen=True)
class RankPhrase:
    highest: bool
    limit: int | None
    key: tuple[str, object] | None


@dataclass(frozen=True)
class RankMeasurePhrase:
    aggregation: Aggregation | None
    metric: str | None
    subject: str | None  # INCIDENTS, ALERTS, MTTR, MTTA


@dataclass(frozen=True)
class ThresholdPhrase:
    above: bool
    value: float


@dataclass(frozen=True)
class VersusPhrase:
    pass


@dataclass(frozen=True)
class SubjectPhrase:
    subject: str  # INCIDENTS, ALERTS, PLAYBOOKS, MTTR, MTTA, AUTO_RESOLVED, SHARE


@dataclass(frozen=True)
class PriorityPhrase:
    priorities: tuple[int, ...]


Phrase = (
    MetricPhrase
    | AggregationPhrase
    | FilterPhrase
    | TimePhrase
    | GroupPhrase
    | StepPhrase
    | RankPhrase
    | RankMeasurePhrase
    | ThresholdPhrase
    | VersusPhrase
    | SubjectPhrase
    | PriorityPhrase
)


def label_key(value: object) -> tuple[str, bool]:
    """The (label key, said in plural) a KEY terminal carries."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return value[0], bool(value[1])
    raise TypeError(f"not a label key: {value!r}")
