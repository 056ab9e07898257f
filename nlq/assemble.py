"""Phrases → one AST question, refusing combinations that mean nothing ("p95 incidents").

The grammar accepts phrases in any order, as people say them; what they add up to is decided here:
which kind of question it is, the aggregation, the grouping, a ranking, a comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from nlq.ast import (
    AVERAGE,
    AggKind,
    Aggregation,
    Direction,
    EventQuestion,
    LabelMatch,
    Measure,
    MetricQuestion,
    PeakQuestion,
    Question,
    Ranking,
    Step,
    Subject,
    ThresholdQuestion,
    TimeExpr,
    Unit,
)
from nlq.errors import CannotAnswer
from nlq.phrases import (
    AggregationPhrase,
    FilterPhrase,
    GroupPhrase,
    Head,
    MetricPhrase,
    Phrase,
    PriorityPhrase,
    RankMeasurePhrase,
    RankPhrase,
    StepPhrase,
    SubjectPhrase,
    ThresholdPhrase,
    TimePhrase,
    VersusPhrase,
    label_key,
)

T = TypeVar("T")

DEFAULT_TOP = 5
_UNIT_STEPS = {Unit.HOUR: Step.HOUR, Unit.DAY: Step.DAY, Unit.WEEK: Step.WEEK, Unit.MONTH: Step.MONTH}
_DURATION_STEPS = {Unit.MINUTE: Step.FIVE_MINUTES, Unit.HOUR: Step.HOUR, Unit.DAY: Step.DAY}
_EVENT_WORDS = {"INCIDENTS", "ALERTS", "PLAYBOOKS", "MTTR", "MTTA", "AUTO_RESOLVED", "SHARE"}


@dataclass
class _Said:
    """Everything one side of a question said, phrase kinds gathered."""

    metrics: list[str] = field(default_factory=list)
    aggregations: list[Aggregation] = field(default_factory=list)
    highs: list[bool] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    times: list[TimeExpr] = field(default_factory=list)
    groups: list[tuple[str, object]] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    ranks: list[RankPhrase] = field(default_factory=list)
    thresholds: list[ThresholdPhrase] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    priorities: list[int] = field(default_factory=list)

    def add(self, phrase: Phrase) -> None:
        match phrase:
            case MetricPhrase(metric):
                self.metrics.append(metric)
            case AggregationPhrase(aggregation, high):
                if aggregation is not None:
                    self.aggregations.append(aggregation)
                if high is not None:
                    self.highs.append(high)
            case FilterPhrase(matches):
                for key, value in matches:
                    self.filters.setdefault(key, []).append(value)
            case TimePhrase(expr):
                self.times.append(expr)
            case GroupPhrase(keys):
                self.groups.extend(keys)
            case StepPhrase(step):
                self.steps.append(step)
            case RankPhrase():
                self.ranks.append(phrase)
            case RankMeasurePhrase(aggregation, metric, subject):
                if aggregation is not None:
                    self.aggregations.append(aggregation)
                if metric is not None:
                    self.metrics.append(metric)
                if subject is not None:
                    self.subjects.append(subject)
            case ThresholdPhrase():
                self.thresholds.append(phrase)
            case SubjectPhrase(subject):
                self.subjects.append(subject)
            case PriorityPhrase(priorities):
                self.priorities.extend(priorities)
            case VersusPhrase():
                raise CannotAnswer("I can compare two things at a time: 'X vs Y'.")


def assemble(head: Head, phrases: list[Phrase]) -> Question:
    said, compare_time = _sides(phrases)
    is_event = bool(set(said.subjects) & _EVENT_WORDS) or head.subject in (
        "PLAYBOOKS",
        "ALERTS",
        "INCIDENTS",
        "PRIORITY_KEY",
    )
    if said.metrics and is_event:
        raise CannotAnswer("Ask about a metric or about incidents, one at a time.")
    if is_event:
        return _event_question(head, said, compare_time)
    if not said.metrics:
        raise CannotAnswer("Which metric (or incidents, alerts, playbooks) do you mean?")
    return _metric_question(head, said, compare_time)


def _sides(phrases: list[Phrase]) -> tuple[_Said, TimeExpr | None]:
    """The question, and the time it is compared with ("this week vs last week").

    "web-1 vs web-2" compares label values instead: both values are kept and grouped by.
    """
    cut = [i for i, phrase in enumerate(phrases) if isinstance(phrase, VersusPhrase)]
    if len(cut) > 1:
        raise CannotAnswer("I can compare two things at a time: 'X vs Y'.")
    said = _Said()
    for phrase in phrases[: cut[0]] if cut else phrases:
        said.add(phrase)
    if not cut:
        return said, None
    other = _Said()
    for phrase in phrases[cut[0] + 1 :]:
        other.add(phrase)
    compare_time: TimeExpr | None = None
    if other.times and said.times:
        compare_time = _one(other.times, "time range")
        _one(said.times, "time range")
    elif other.times:
        said.times.extend(other.times)
    compared_keys = [key for key in other.filters if key in said.filters]
    for key, values in other.filters.items():
        said.filters.setdefault(key, []).extend(values)
    said.groups.extend(("KEY", (key, True)) for key in compared_keys)
    if compare_time is None and not compared_keys:
        raise CannotAnswer("Compare two time ranges ('this week vs last week') or two label values.")
    # whatever else the second half says applies to the whole question
    said.metrics += other.metrics
    said.aggregations += other.aggregations
    said.highs += other.highs
    said.groups += other.groups
    said.steps += other.steps
    said.ranks += other.ranks
    said.thresholds += other.thresholds
    said.subjects += other.subjects
    said.priorities += other.priorities
    return said, compare_time


def _metric_question(head: Head, said: _Said, compare_time: TimeExpr | None) -> Question:
    metric = _one(said.metrics, "metric")
    assert metric is not None
    time = _one(said.times, "time range")
    filters = tuple(LabelMatch(key, tuple(dict.fromkeys(values))) for key, values in said.filters.items())
    group_by, step = _metric_grouping(said)
    if said.priorities:
        raise CannotAnswer("Priorities belong to incidents; metrics are filtered by their labels.")
    aggregation = _one(said.aggregations, "aggregation")
    if head.kind == "when":
        if group_by or step or said.ranks:
            raise CannotAnswer("'When' finds one moment; leave out the grouping.")
        high = said.highs[-1] if said.highs else aggregation is None or aggregation.kind is not AggKind.MIN
        return PeakQuestion(metric, Direction.HIGHEST if high else Direction.LOWEST, filters, time)
    if head.kind == "count":
        raise CannotAnswer(
            "'How many' counts incidents, alerts or playbook runs, or hours a metric was above a value."
        )
    threshold = _one(said.thresholds, "threshold")
    if head.kind == "duration" or threshold is not None:
        if threshold is None:
            raise CannotAnswer("How long was it above or below what? e.g. 'how many hours was cpu above 90'.")
        unit = head.unit if head.kind == "duration" else Unit.MINUTE
        if not isinstance(unit, Unit) or unit not in _DURATION_STEPS:
            raise CannotAnswer("Count minutes, hours or days above a value.")
        if group_by or step or said.ranks:
            raise CannotAnswer("A duration above a threshold is one number; leave out the grouping.")
        return ThresholdQuestion(
            metric, threshold.above, threshold.value, _DURATION_STEPS[unit], filters, time
        )
    ranking: Ranking | None = None
    if head.kind == "which":
        if head.subject != "KEY":
            raise CannotAnswer("Metrics are ranked by label: 'which host had the highest cpu'.")
        key, plural = label_key(head.key)
        group_by = (str(key), *(g for g in group_by if g != key))
        high = said.highs[-1] if said.highs else True
        ranking = Ranking(_direction(high), DEFAULT_TOP if plural else 1)
    elif said.ranks:
        rank = _one(said.ranks, "ranking")
        assert rank is not None
        if rank.key is not None:
            if rank.key[0] != "KEY":  # "top 3 priorities by cpu": priorities belong to incidents
                raise CannotAnswer("Metrics are ranked by label: 'top 5 hosts by cpu'.")
            rank_key, _plural = label_key(rank.key[1])
            group_by = (str(rank_key), *(g for g in group_by if g != rank_key))
        if not group_by:
            raise CannotAnswer("Top what? e.g. 'top 5 hosts by cpu'.")
        ranking = Ranking(_direction(rank.highest), rank.limit or DEFAULT_TOP)
    elif said.highs and aggregation is None:
        aggregation = Aggregation(AggKind.MAX if said.highs[-1] else AggKind.MIN)
    if ranking is not None and step is not None:
        raise CannotAnswer("Rank or make a time series, not both at once.")
    return MetricQuestion(
        metric=metric,
        aggregation=aggregation or AVERAGE,
        filters=filters,
        time=time,
        group_by=group_by,
        step=step,
        ranking=ranking,
        compare_time=compare_time,
    )


def _metric_grouping(said: _Said) -> tuple[tuple[str, ...], Step | None]:
    keys: list[str] = []
    steps = list(said.steps)
    for kind, value in said.groups:
        if kind == "KEY":
            key, _plural = label_key(value)
            keys.append(str(key))
        elif kind == "UNIT":
            steps.append(_step_of(value))
        else:
            raise CannotAnswer("Metrics group by their labels (host, service, …) or by time.")
    return tuple(dict.fromkeys(keys)), _one(steps, "time step")


def _event_question(head: Head, said: _Said, compare_time: TimeExpr | None) -> Question:
    subjects = set(said.subjects)
    if head.subject == "PLAYBOOKS" or "PLAYBOOKS" in subjects:
        subject = Subject.PLAYBOOK_RUNS
    elif head.subject == "ALERTS" or "ALERTS" in subjects:
        subject = Subject.ALERTS
    else:
        subject = Subject.INCIDENTS
    measure, auto_resolved_only = _measure(subjects, subject)
    for aggregation in said.aggregations:
        allowed = aggregation.kind is AggKind.COUNT or (
            aggregation.kind is AggKind.AVG and measure in (Measure.MTTR, Measure.MTTA)
        )
        if not allowed:
            raise CannotAnswer(f"I count {subject.value}; '{aggregation.name}' applies to metrics.")
    if head.kind in ("when", "duration"):
        raise CannotAnswer(f"Ask how many {subject.value}, or their MTTR/MTTA, rather than when or how long.")
    if head.kind == "count" and measure is not Measure.COUNT:
        raise CannotAnswer("'How many' counts; ask 'MTTR by service' for durations.")
    if said.thresholds:
        raise CannotAnswer("Thresholds apply to metrics.")
    unknown = [key for key in said.filters if key != "service"]
    if unknown:
        raise CannotAnswer(
            f"{subject.value.capitalize()} are filtered by service and priority, not by {unknown[0]}."
        )
    if said.priorities and subject is Subject.ALERTS:
        raise CannotAnswer("Alerts have severities, not priorities; ask about incidents.")
    group_by, step = _event_grouping(said, subject)
    ranking: Ranking | None = None
    if head.kind == "which":
        target, plural = _which_target(head, subject)
        group_by = (target, *(g for g in group_by if g != target))
        high = said.highs[-1] if said.highs else True
        ranking = Ranking(_direction(high), DEFAULT_TOP if plural else 1)
    elif said.ranks:
        rank = _one(said.ranks, "ranking")
        assert rank is not None
        if rank.key is not None:
            target = _event_key(rank.key, subject)
            group_by = (target, *(g for g in group_by if g != target))
        elif not group_by:
            group_by = (_natural_group(subject),)
        ranking = Ranking(_direction(rank.highest), rank.limit or DEFAULT_TOP)
    elif said.highs and group_by:
        ranking = Ranking(_direction(said.highs[-1]), 1)
    if ranking is not None and step is not None:
        raise CannotAnswer("Rank or make a time series, not both at once.")
    return EventQuestion(
        subject=subject,
        measure=measure,
        services=tuple(dict.fromkeys(said.filters.get("service", []))),
        priorities=tuple(sorted(set(said.priorities))),
        auto_resolved_only=auto_resolved_only,
        time=_one(said.times, "time range"),
        group_by=group_by,
        step=step,
        ranking=ranking,
        compare_time=compare_time,
    )


def _measure(subjects: set[str], subject: Subject) -> tuple[Measure, bool]:
    if "MTTR" in subjects and "MTTA" in subjects:
        raise CannotAnswer("Ask for MTTR or MTTA, one at a time.")
    measure, auto_only = Measure.COUNT, False
    if "MTTR" in subjects:
        measure = Measure.MTTR
    elif "MTTA" in subjects:
        measure = Measure.MTTA
    elif "AUTO_RESOLVED" in subjects:
        if "SHARE" in subjects:
            measure = Measure.AUTO_RESOLVED_SHARE
        else:
            auto_only = True
    elif "SHARE" in subjects:
        raise CannotAnswer("A share of what? e.g. 'share of incidents auto-resolved last month'.")
    if measure is not Measure.COUNT and subject is not Subject.INCIDENTS:
        raise CannotAnswer(f"{measure.value.upper()} is measured on incidents.")
    if auto_only and subject is not Subject.INCIDENTS:
        raise CannotAnswer("Only incidents are auto-resolved.")
    return measure, auto_only


def _event_grouping(said: _Said, subject: Subject) -> tuple[tuple[str, ...], Step | None]:
    keys: list[str] = []
    steps = list(said.steps)
    for kind, value in said.groups:
        if kind == "UNIT":
            steps.append(_step_of(value))
        else:
            keys.append(_event_key((kind, value), subject))
    return tuple(dict.fromkeys(keys)), _one(steps, "time step")


def _event_key(group: tuple[str, object], subject: Subject) -> str:
    kind, value = group
    if kind == "KEY":
        key, _plural = label_key(value)
        if key == "service":
            return "service"
        raise CannotAnswer(f"{subject.value.capitalize()} group by service, priority or playbook, not {key}.")
    if kind == "PRIORITY_KEY":
        if subject is Subject.ALERTS:
            raise CannotAnswer("Alerts have severities, not priorities; ask about incidents.")
        return "priority"
    if kind == "PLAYBOOKS":
        if subject is Subject.ALERTS:
            raise CannotAnswer("Alerts do not run playbooks; ask about playbook runs.")
        return "playbook"
    raise CannotAnswer(f"{subject.value.capitalize()} group by service, priority or playbook.")


def _which_target(head: Head, subject: Subject) -> tuple[str, bool]:
    if head.subject == "KEY":
        key, plural = label_key(head.key)
        return _event_key(("KEY", (key, plural)), subject), bool(plural)
    if head.subject == "PRIORITY_KEY":
        return _event_key(("PRIORITY_KEY", None), subject), False
    if head.subject in ("PLAYBOOKS", "ALERTS"):
        return _natural_group(subject), bool(head.key)
    raise CannotAnswer("Which service, priority or playbook? e.g. 'which service had the most incidents'.")


def _natural_group(subject: Subject) -> str:
    """What 'top 5 playbooks' or 'which alerts' ranks when no key is named."""
    return {Subject.PLAYBOOK_RUNS: "playbook", Subject.ALERTS: "alertname"}.get(subject, "service")


def _step_of(unit: object) -> Step:
    if not isinstance(unit, Unit) or unit not in _UNIT_STEPS:
        raise CannotAnswer("Time series go by hour, day, week or month.")
    return _UNIT_STEPS[unit]


def _direction(high: bool) -> Direction:
    return Direction.HIGHEST if high else Direction.LOWEST


def _one(items: list[T], what: str) -> T | None:
    distinct = list(dict.fromkeys(items))
    if len(distinct) > 1:
        raise CannotAnswer(f"The question names more than one {what}; ask one at a time, or use 'vs'.")
    return distinct[0] if distinct else None
