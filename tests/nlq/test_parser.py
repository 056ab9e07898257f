"""Questions → AST (pure): the forms the grammar understands, and how it refuses the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlq.ast import (
    AggKind,
    Aggregation,
    Between,
    CalendarDate,
    CalendarPeriod,
    DaysAgo,
    Direction,
    EventQuestion,
    InMonth,
    LabelMatch,
    Measure,
    MetricQuestion,
    PeakQuestion,
    Ranking,
    Rolling,
    Since,
    Step,
    Subject,
    ThresholdQuestion,
    Unit,
    Weekday,
    WholeDay,
)
from nlq.errors import CannotAnswer
from nlq.lexicon import Lexicon
from nlq.parser import parse
from nlq.vocabulary import CatalogError, Vocabulary, load_metric_catalog

VOCABULARY = Vocabulary.build(
    [
        "cpu_usage",
        "cpu_seconds_total",
        "memory_used_bytes",
        "http_request_latency_ms",
        "fan_speed_rpm",
        "disk_read_bytes",
        "disk_write_bytes",
    ],
    {"host": ["web-1", "web-2", "db-1"], "service": ["checkout", "search"], "region": ["eu-west"]},
    {"processor load": "cpu_usage", "response time": "http_request_latency_ms"},
)
LEXICON = Lexicon(VOCABULARY)
P95 = Aggregation(AggKind.QUANTILE, 0.95)
YESTERDAY = WholeDay(DaysAgo(1))


def ask(question: str) -> object:
    return parse(question, LEXICON)


@pytest.mark.parametrize(
    ("question", "metric"),
    [
        ("cpu", "cpu_usage"),  # the name the word covers best
        ("CPU usage", "cpu_usage"),
        ("cpu seconds", "cpu_seconds_total"),
        ("cpu_seconds_total", "cpu_seconds_total"),
        ("memory", "memory_used_bytes"),
        ("request latency", "http_request_latency_ms"),
        ("latencies", "http_request_latency_ms"),
        ("processor load", "cpu_usage"),  # catalog synonym
        ("response time", "http_request_latency_ms"),
        ("fan speed", "fan_speed_rpm"),
        ("disk reads", "disk_read_bytes"),
    ],
)
def test_metrics_by_the_words_of_their_names(question: str, metric: str) -> None:
    parsed = ask(question)
    assert isinstance(parsed, MetricQuestion) and parsed.metric == metric


@pytest.mark.parametrize(
    ("question", "filters"),
    [
        ("cpu on web-1", (LabelMatch("host", ("web-1",)),)),
        ("cpu for checkout", (LabelMatch("service", ("checkout",)),)),
        ("cpu in eu-west", (LabelMatch("region", ("eu-west",)),)),
        ("cpu host web-2", (LabelMatch("host", ("web-2",)),)),
        (
            "cpu for service search on db-1",
            (LabelMatch("service", ("search",)), LabelMatch("host", ("db-1",))),
        ),
        ("cpu on web-1 and web-2", (LabelMatch("host", ("web-1", "web-2")),)),
    ],
)
def test_label_values_known_in_the_database(question: str, filters: tuple[LabelMatch, ...]) -> None:
    parsed = ask(question)
    assert isinstance(parsed, MetricQuestion) and parsed.filters == filters


@pytest.mark.parametrize(
    ("word", "aggregation"),
    [
        ("average", Aggregation(AggKind.AVG)),
        ("mean", Aggregation(AggKind.AVG)),
        ("max", Aggregation(AggKind.MAX)),
        ("peak", Aggregation(AggKind.MAX)),
        ("highest", Aggregation(AggKind.MAX)),
        ("min", Aggregation(AggKind.MIN)),
        ("lowest", Aggregation(AggKind.MIN)),
        ("total", Aggregation(AggKind.SUM)),
        ("sum of", Aggregation(AggKind.SUM)),
        ("count of", Aggregation(AggKind.COUNT)),
        ("median", Aggregation(AggKind.QUANTILE, 0.5)),
        ("p90", Aggregation(AggKind.QUANTILE, 0.9)),
        ("p95", P95),
        ("99th percentile", Aggregation(AggKind.QUANTILE, 0.99)),
    ],
)
def test_aggregations(word: str, aggregation: Aggregation) -> None:
    parsed = ask(f"{word} cpu yesterday")
    assert isinstance(parsed, MetricQuestion) and parsed.aggregation == aggregation


@pytest.mark.parametrize(
    ("words", "time"),
    [
        ("today", WholeDay(DaysAgo(0))),
        ("yesterday", YESTERDAY),
        ("last 5 minutes", Rolling(5, Unit.MINUTE)),
        ("past 24h", Rolling(24, Unit.HOUR)),
        ("in the last 7 days", Rolling(7, Unit.DAY)),
        ("last 2 weeks", Rolling(2, Unit.WEEK)),
        ("past 3 months", Rolling(3, Unit.MONTH)),
        ("last hour", Rolling(1, Unit.HOUR)),
        ("past week", Rolling(1, Unit.WEEK)),
        ("this week", CalendarPeriod(Unit.WEEK, 0)),
        ("last week", CalendarPeriod(Unit.WEEK, 1)),
        ("this month", CalendarPeriod(Unit.MONTH, 0)),
        ("last month", CalendarPeriod(Unit.MONTH, 1)),
        ("since Monday", Since(Weekday(0))),
        ("since March 3", Since(CalendarDate(3, 3))),
        ("since 2026-03-03", Since(CalendarDate(3, 3, 2026))),
        ("on 3 March 2025", WholeDay(CalendarDate(3, 3, 2025))),
        ("on Friday", WholeDay(Weekday(4))),
        ("between March 1 and March 3", Between(CalendarDate(3, 1), CalendarDate(3, 3))),
        ("from 1 March to 3 March", Between(CalendarDate(3, 1), CalendarDate(3, 3))),
        ("in February", InMonth(2)),
        ("in February 2025", InMonth(2, 2025)),
        ("3 days ago", WholeDay(DaysAgo(3))),
    ],
)
def test_time_words(words: str, time: object) -> None:
    parsed = ask(f"cpu {words}")
    assert isinstance(parsed, MetricQuestion) and parsed.time == time


def test_grouping_ranking_and_time_series() -> None:
    assert ask("p95 latency by host yesterday") == MetricQuestion(
        "http_request_latency_ms", P95, time=YESTERDAY, group_by=("host",)
    )
    assert ask("average cpu for each service and region") == MetricQuestion(
        "cpu_usage", Aggregation(AggKind.AVG), group_by=("service", "region")
    )
    assert ask("top 5 hosts by cpu") == MetricQuestion(
        "cpu_usage", Aggregation(AggKind.AVG), group_by=("host",), ranking=Ranking(Direction.HIGHEST, 5)
    )
    assert ask("bottom 2 hosts by p95 latency") == MetricQuestion(
        "http_request_latency_ms", P95, group_by=("host",), ranking=Ranking(Direction.LOWEST, 2)
    )
    assert ask("which service had the highest latency yesterday") == MetricQuestion(
        "http_request_latency_ms",
        Aggregation(AggKind.AVG),
        time=YESTERDAY,
        group_by=("service",),
        ranking=Ranking(Direction.HIGHEST, 1),
    )
    hourly = ask("hourly average cpu for checkout yesterday")
    assert isinstance(hourly, MetricQuestion) and hourly.step is Step.HOUR
    daily = ask("max memory per day last week")
    assert isinstance(daily, MetricQuestion) and daily.step is Step.DAY


def test_moments_thresholds_and_comparisons() -> None:
    assert ask("when was cpu highest on web-1 yesterday") == PeakQuestion(
        "cpu_usage", Direction.HIGHEST, (LabelMatch("host", ("web-1",)),), YESTERDAY
    )
    assert ask("how many hours was cpu above 90 on web-1 yesterday") == ThresholdQuestion(
        "cpu_usage", True, 90.0, Step.HOUR, (LabelMatch("host", ("web-1",)),), YESTERDAY
    )
    assert ask("how long was cpu below 10% today") == ThresholdQuestion(
        "cpu_usage", False, 10.0, Step.FIVE_MINUTES, (), WholeDay(DaysAgo(0))
    )
    compared = ask("p95 latency this week vs last week")
    assert isinstance(compared, MetricQuestion)
    assert (compared.time, compared.compare_time) == (
        CalendarPeriod(Unit.WEEK, 0),
        CalendarPeriod(Unit.WEEK, 1),
    )
    hosts = ask("cpu on web-1 versus web-2 yesterday")
    assert isinstance(hosts, MetricQuestion)
    assert hosts.group_by == ("host",) and hosts.filters == (LabelMatch("host", ("web-1", "web-2")),)


def test_incident_history() -> None:
    assert ask("how many P1 incidents last month") == EventQuestion(
        Subject.INCIDENTS, priorities=(1,), time=CalendarPeriod(Unit.MONTH, 1)
    )
    assert ask("MTTR by service last month") == EventQuestion(
        Subject.INCIDENTS, Measure.MTTR, time=CalendarPeriod(Unit.MONTH, 1), group_by=("service",)
    )
    assert ask("mean time to acknowledge for checkout") == EventQuestion(
        Subject.INCIDENTS, Measure.MTTA, services=("checkout",)
    )
    assert ask("which services had the most incidents") == EventQuestion(
        Subject.INCIDENTS, group_by=("service",), ranking=Ranking(Direction.HIGHEST, 5)
    )
    assert ask("which service had the most alerts") == EventQuestion(
        Subject.ALERTS, group_by=("service",), ranking=Ranking(Direction.HIGHEST, 1)
    )
    assert ask("auto-resolved share last week") == EventQuestion(
        Subject.INCIDENTS, Measure.AUTO_RESOLVED_SHARE, time=CalendarPeriod(Unit.WEEK, 1)
    )
    assert ask("which playbooks ran most") == EventQuestion(
        Subject.PLAYBOOK_RUNS, group_by=("playbook",), ranking=Ranking(Direction.HIGHEST, 5)
    )
    assert ask("incidents by priority per day this week") == EventQuestion(
        Subject.INCIDENTS, time=CalendarPeriod(Unit.WEEK, 0), group_by=("priority",), step=Step.DAY
    )


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("avg fna speed", "I don't know 'fna' — did you mean 'fan_speed_rpm'?"),
        ("cpu on host web-9", "I don't know host 'web-9' — did you mean"),
        ("sports scores", "I don't know 'sports'"),
        ("", "Ask me a question"),
        ("disk yesterday", "'disk' could be several metrics: disk_read_bytes, disk_write_bytes"),
        ("how many cpu", "'How many' counts"),
        ("p95 incidents", "'p95' applies to metrics"),
        ("MTTR by host", "not host"),
        ("cpu memory", "more than one metric"),
        ("cpu yesterday today", "more than one time range"),
        ("cpu on 2026-02-30", "not a date"),
        ("top hosts", "Which metric"),
        ("on web-1", "Which metric"),
        ("when was cpu highest by host", "leave out the grouping"),
    ],
)
def test_refusals_say_why(question: str, message: str) -> None:
    with pytest.raises(CannotAnswer) as refused:
        ask(question)
    assert message in refused.value.message
    assert refused.value.suggestions  # always something to try


def test_a_misspelling_suggests_the_corrected_question_first() -> None:
    with pytest.raises(CannotAnswer) as refused:
        ask("average cpuu yesterday")
    assert refused.value.suggestions[0] == "average cpu_usage yesterday"


def test_metric_catalog_synonyms(tmp_path: Path) -> None:
    catalog = tmp_path / "metrics.yaml"
    catalog.write_text(
        "metrics:\n  - name: fan_speed_rpm\n    synonyms: [cooling, blower rate]\n  - name: gone\n"
    )
    synonyms = load_metric_catalog(catalog)
    lexicon = Lexicon(Vocabulary.build(["fan_speed_rpm"], {}, synonyms))
    parsed = parse("blower rate yesterday", lexicon)
    assert isinstance(parsed, MetricQuestion) and parsed.metric == "fan_speed_rpm"
    assert "gone" not in Vocabulary.build(["fan_speed_rpm"], {}, {"x": "gone"}).synonyms.values()
    catalog.write_text("metrics: {}\n")
    with pytest.raises(CatalogError):
        load_metric_catalog(catalog)
