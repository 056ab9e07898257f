"""Hypothesis against the question language: arbitrary text, and near misses built from its own words.

Every question is answered or refused with CannotAnswer — never another exception. An answer's SQL
holds no string literal at all (every value of the question is a bound parameter, so no word of the
question can be in it), and asking leaves the database as it was. Derandomized and bounded: CI sees
the same questions every run, in well under half a minute.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.models import MetricPoint, PointBatch
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.rollup_rows import roll_up, rollup_lock
from engine.storage.schema import alerts, incidents, metadata, playbook_runs
from engine.storage.store import Store
from nlq.answer import answer
from nlq.ast import (
    Between,
    CalendarDate,
    DaysAgo,
    Direction,
    EventQuestion,
    MetricQuestion,
    PeakQuestion,
    Ranking,
    Rolling,
    Since,
    ThresholdQuestion,
    TimeExpr,
    Unit,
    WholeDay,
)
from nlq.errors import CannotAnswer
from nlq.keywords import FILLERS, KEYWORDS, MONTHS, NUMBER_WORDS, WEEKDAYS
from nlq.lexicon import Lexicon
from nlq.parser import parse
from nlq.timerange import EARLIEST, resolve
from nlq.vocabulary import Vocabulary
from tests.nlq import build_questions, dataset

NOW = dataset.END
EVIL_SERVICE = "x'); DROP TABLE incidents; --"
# the question tests' names (so that their questions, mutated, still reach deep), plus a label key
# that is no SQL identifier and a service that is SQL
SERIES: list[tuple[str, dict[str, str]]] = [
    (metric, {"host": host, "service": service, "region": region})
    for host, (service, region) in [*dataset.HOSTS.items(), ("zürich-1", (EVIL_SERVICE, "eu-west"))]
    for metric in ("cpu_usage", "memory_used_bytes", "http_request_latency_ms", "fan_speed_rpm")
] + [("disk_used_percent", {"host": "cache-1", "service": "inventory", "dc-zone": "a-1"})]
SYNONYMS = {"processor load": "cpu_usage"}
LABELS = {
    key: {labels[key] for _metric, labels in SERIES if key in labels}
    for key in sorted({key for _metric, labels in SERIES for key in labels})
}
LABELS["service"] |= {*dataset.SERVICES, EVIL_SERVICE}  # the incidents' services are in it too
# what `answer` reads from the database below, for the parser alone
LEXICON = Lexicon(Vocabulary.build({metric for metric, _labels in SERIES}, LABELS, SYNONYMS))
DATA_VALUES = sorted(
    {metric for metric, _labels in SERIES}
    | {value for values in LABELS.values() for value in values}
    | set(dataset.PLAYBOOKS)
)
TIMEZONES = ["UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
QUESTIONS = sorted(
    {case["question"] for case in yaml.safe_load(build_questions.QUESTIONS.read_text(encoding="utf-8"))}
)

# --- questions --------------------------------------------------------------------------------------

words = st.sampled_from(
    sorted(
        {" ".join(phrase) for phrase in KEYWORDS}
        | set(MONTHS)
        | set(WEEKDAYS)
        | set(NUMBER_WORDS)
        | set(FILLERS)
        | set(DATA_VALUES)
        | {w for metric, _l in SERIES for w in metric.split("_")}
        | {"host", "hosts", "services", "server", "region", "dc-zone", "what", "over", "percentile"}
        | {"p95", "p50", "p0", "p100", "p99.9", "p999", "95th", "sev2", "P1", "priority 3", "severity 9"}
        | {"cpu", "latency", "memory", "fan speed", "disk", "processor load", "incidents", "mttr"}
    )
)
numbers = st.one_of(
    st.integers(min_value=-5, max_value=10**25).map(str),
    st.floats().map(str),
    st.sampled_from(["0", "1", "31", "32", "1969", "1970", "2100", "2101", "0.5", "9" * 400, "1e400"]),
    st.sampled_from(["90%", "5m", "3h", "2d", "1w", "10000000000d", "99999999999y", "12mo", "3rd"]),
)
dates = st.one_of(
    st.dates().map(lambda day: day.isoformat()),
    st.sampled_from(["2026-02-30", "2026-13-01", "0000-01-01", "9999-12-31", "２０２６-０１-０１"]),
)
junk = st.sampled_from(
    [
        "'; DROP TABLE incidents; --",
        "--",
        "/*",
        "*/",
        ";",
        "'",
        '"',
        "`",
        "%s",
        "%(x)s",
        "?",
        ":param",
        "$1",
        "\\",
        "UNION SELECT * FROM incidents",
        "' OR 1=1 --",
        "\x00",
        "\u202e",
        "\ufeff",
        "🔥",
        "İ",
        "ß",
        "ﬁ",
        "١٢",
        "\n",
        "\t",
        ">",
        "<",
        "%",
    ]
)
fragments = st.one_of(words, words, words, numbers, dates, junk, st.text(max_size=8))
near_misses = st.builds(
    lambda parts, separator: separator.join(parts),
    st.lists(fragments, min_size=1, max_size=12),
    st.sampled_from([" ", " ", " ", ",", "", "  "]),
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A question of the question tests with a few words inserted, replaced, dropped or swapped."""
    tokens = draw(st.sampled_from(QUESTIONS)).split()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=max(0, len(tokens) - 1)))
        action = draw(st.sampled_from(["insert", "replace", "drop", "swap"]))
        if action == "insert":
            tokens.insert(at, draw(fragments))
        elif action == "replace" and tokens:
            tokens[at] = draw(fragments)
        elif action == "drop" and tokens:
            del tokens[at]
        elif action == "swap" and len(tokens) > 1:
            other = draw(st.integers(min_value=0, max_value=len(tokens) - 1))
            tokens[at], tokens[other] = tokens[other], tokens[at]
    return " ".join(tokens)


# long questions, but bounded: a chat message is at most a few thousand characters
long_questions = st.builds(
    lambda part, times: " ".join([part] * times), fragments, st.integers(min_value=50, max_value=2000)
)
arbitrary = st.text(max_size=300) | st.text(st.characters(codec="ascii"), max_size=300)


def said(*parts: st.SearchStrategy[str] | str) -> st.SearchStrategy[str]:
    """Words in a row, each a fixed word or drawn from a strategy."""
    return st.tuples(*[st.just(part) if isinstance(part, str) else part for part in parts]).map(" ".join)


def one(*options: str) -> st.SearchStrategy[str]:
    return st.sampled_from(options)


# --- the grammar's own phrases (questions.lark), with numbers and names in range and out of it -----

# past what a date, a timedelta, a 32- or 64-bit integer or a float holds
huge = one("99999", "2147483648", "9223372036854775808", "1" + "0" * 20, "9" * 400)
counts = st.one_of(
    st.integers(min_value=1, max_value=40).map(str),
    one("0", "1", "1.5", "31", "32"),
    huge,
    huge,
    st.integers(min_value=0, max_value=10**30).map(str),
)
years = st.integers(min_value=1, max_value=9999).map(str) | one("1970", "2026", "2100")
units = one("minutes", "hours", "days", "weeks", "months", "years", "minute", "hour", "day", "week", "month")
months = st.sampled_from(sorted(MONTHS))
days = st.one_of(
    one("today", "yesterday"),
    dates,
    st.sampled_from(sorted(WEEKDAYS)),
    said(months, counts),
    said(counts, months),
    said(months, counts, years),
)
periods = st.one_of(
    said(one("last", "past", "previous"), counts, units),
    said(one("last", "past", "this"), units),
    said(counts, units, "ago"),
    said(one("since", "on", "during"), days),
    said("between", days, "and", days),
    said("from", days, one("to", "until", "and"), days),
    said("in", months),
    said("in", months, years),
    st.builds(lambda n, u: f"{n}{u}", counts, one("m", "h", "d", "w", "mo", "y")),
)
metrics = one("cpu", "cpu usage", "memory", "latency", "fan speed", "disk", "processor load", "cpu_usage")
keys = one("host", "hosts", "service", "services", "server", "region", "regions", "dc-zone", "priority")
values = st.sampled_from(sorted(value for values in LABELS.values() for value in values))
# one phrase per slot, so that most questions mean something: a question names one time range, one
# ranking… and is refused for two; the numbers in them are what is fuzzed
times = periods | said(periods, one("vs", "compared to", "against"), periods)
rankings = st.one_of(
    said(one("top", "bottom"), counts),
    said(one("top", "bottom"), counts, keys),
    said(one("top", "bottom"), counts, keys),
    said(one("by", "per", "for each"), keys),
    said("by", keys, "and", keys),
)
metric_slots = [
    times,
    st.one_of(
        one("average", "max", "min", "sum", "count", "median", "highest", "lowest"),
        st.builds(lambda n: f"p{n}", counts),
        said(counts, "percentile"),
    ),
    st.one_of(
        said(one("on", "for", "in", "at", "from"), values),
        said(keys, values),
        said(values, one("and", "or", "vs"), values),
    ),
    rankings | said("per", units) | one("hourly", "daily", "weekly", "monthly"),
    said(one("above", "below", "over", "more than", ">", "<"), counts) | said("above", counts, "%"),
]
event_slots = [
    times,
    said(one("for", "on"), st.sampled_from(sorted(LABELS["service"]))),
    rankings | said("by", one("incidents", "alerts", "mttr", "mtta")) | one("daily", "weekly", "monthly"),
    st.one_of(
        st.builds(lambda n: f"P{n}", counts),
        said(one("priority", "severity", "sev"), counts),
        said("share of", one("incidents auto-resolved", "auto-resolved")),
    ),
]
metric_questions = st.tuples(
    one("", "", "which host", "what hosts", "when", "how many hours", "how long"),
    metrics,
    st.just(metric_slots),
)
event_questions = st.tuples(
    one("", "", "which service", "how many"),
    one("incidents", "alerts", "playbooks", "mttr", "mtta", "auto-resolved incidents"),
    st.just(event_slots),
)


@st.composite
def grammar_questions(draw: st.DrawFn) -> str:
    """A subject and some of the phrases that go with it, in order or shuffled, perhaps with junk."""
    head, subject, slots = draw(metric_questions | event_questions)
    parts = [subject, *(draw(slot) for slot in slots if draw(st.booleans()))]
    if draw(st.booleans()):
        parts = draw(st.permutations(parts))
    if draw(st.integers(min_value=0, max_value=3)) == 0:
        parts.insert(draw(st.integers(min_value=0, max_value=len(parts))), draw(fragments))
    return " ".join([head, *parts]).strip()


# every production of the grammar that takes a number, a date or a key, once, for the holes to be
# filled with values in range and out of it
TEMPLATES = [
    "{agg} {metric} last {n} {unit}",
    "{metric} past {n} {unit} by {key}",
    "{metric} {n} {unit} ago",
    "{n}{glued} {metric}",
    "{metric} since {day}",
    "{step} {metric} since {day}",
    "{step} incidents since {day}",
    "{metric} between {day} and {day2}",
    "incidents from {day} to {day2} by {key}",
    "{metric} on {month} {n} {year}",
    "{metric} on {n} {month}",
    "{metric} in {month} {year}",
    "{metric} this {unit} vs last {unit}",
    "top {n} {key} by {metric} {when}",
    "{agg} {metric} top {n} hosts",
    "bottom {n} services by incidents",
    "{metric} bottom {n} {key}",
    "top {n} {key} by incidents {when}",
    "which {key} had the most alerts {period}",
    "{metric} above {n} {when}",
    "how many {unit} was {metric} below {n} on {value}",
    "how long was {metric} over {n} % {period}",
    "p{n} {metric} by {key}",
    "{n} percentile {metric} {when}",
    "how many P{n} incidents {period}",
    "mttr for priority {n} and P{n2} incidents by {key}",
    "when was {metric} highest on {value} {period}",
    "{agg} {metric} for {value} and {value2} {step}",
]
FILL = {
    "agg": one("", "average", "max", "median", "sum", "count", "lowest"),
    "metric": metrics,
    "n": huge | counts,
    "n2": counts,
    "unit": units,
    "glued": one("m", "h", "d", "w", "mo", "y"),
    "day": days,
    "day2": days,
    "step": one("hourly", "daily", "weekly", "monthly", "per day", "by month"),
    "month": months,
    "year": years,
    "key": keys | one("priority", "priorities", "playbooks", "alerts"),
    "period": periods,
    "when": one("", "today", "yesterday", "last week", "this month", "past 3 days"),  # in range
    "value": values,
    "value2": values,
}


@st.composite
def edge_questions(draw: st.DrawFn) -> str:
    """One of the templates, filled."""
    template = draw(st.sampled_from(TEMPLATES))
    return template.format(**{name: draw(FILL[name]) for name in re.findall(r"{(\w+)}", template)})


NUMBERED = [question for question in QUESTIONS if re.search(r"\d", question)]
NUMBER = re.compile(r"(?<![\w-])\d+(?:\.\d+)?(?![\w-])")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@st.composite
def renumbered(draw: st.DrawFn) -> str:
    """A question of the question tests (they all mean something) with other numbers and dates."""
    question = DATE.sub(lambda _date: draw(dates), draw(st.sampled_from(NUMBERED)))
    return NUMBER.sub(lambda _number: draw(counts), question)


questions = st.one_of(
    arbitrary, near_misses, mutated(), long_questions, grammar_questions(), renumbered(), edge_questions()
)
# the whole path mostly gets questions that mean something: those reach the time ranges and the SQL
# (the parser alone takes the arbitrary text)
answerable = st.one_of(
    grammar_questions(), renumbered(), edge_questions(), edge_questions(), edge_questions(), questions
)

# bounded for CI (the module takes 10-15 s on two cores) and derandomized: every run asks the same
# questions, so a failure is one a rerun shows again
PARSER = settings(
    max_examples=2000,
    deadline=timedelta(seconds=2),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ANSWERS = settings(PARSER, max_examples=1000, deadline=timedelta(seconds=5))


# --- the parser (pure) ------------------------------------------------------------------------------


@PARSER
@given(question=questions | grammar_questions() | edge_questions())
def test_a_question_parses_or_is_refused_with_a_reason(question: str) -> None:
    try:
        parsed = parse(question, LEXICON)
    except CannotAnswer as refusal:
        assert_helpful(refusal)
        assert refusal.suggestions, "a refusal by the parser comes with questions to try"
        return
    assert isinstance(parsed, MetricQuestion | PeakQuestion | ThresholdQuestion | EventQuestion)
    # an infinite threshold compiles, runs, and then cannot be written as JSON (`ask --json`)
    assert all(math.isfinite(number) for number in floats_in(parsed)), parsed


def floats_in(value: object) -> Iterator[float]:
    if isinstance(value, float):
        yield value
    elif dataclasses.is_dataclass(value):
        for each in dataclasses.fields(value):
            yield from floats_in(getattr(value, each.name))
    elif isinstance(value, tuple):
        for item in value:
            yield from floats_in(item)


def assert_helpful(refusal: CannotAnswer) -> None:
    assert isinstance(refusal.message, str) and refusal.message.strip()
    assert "Traceback" not in refusal.message and "Error" not in refusal.message, refusal.message
    assert all(isinstance(s, str) and s for s in refusal.suggestions)


# --- the whole path, on a real SQLite database ------------------------------------------------------


@dataclass
class Loaded:
    runner: asyncio.Runner
    engine: AsyncEngine
    observer: sqlite3.Connection  # a connection of its own: data_version moves on any other's commit

    def state(self) -> tuple[Any, ...]:
        """What a write would change: the commit counter, the schema, every table's row count."""
        version = self.observer.execute("PRAGMA data_version").fetchone()
        schema = self.observer.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        counts = self.observer.execute(
            "SELECT " + ", ".join(f"(SELECT count(*) FROM {t.name})" for t in metadata.sorted_tables)
        ).fetchone()
        return version, schema, counts


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    path = tmp_path_factory.mktemp("nlq-fuzz") / "fuzz.db"
    with asyncio.Runner() as runner:
        engine = open_engine(f"sqlite+aiosqlite:///{path}", pool_size=1)
        try:
            runner.run(load(engine))
            observer = sqlite3.connect(path)
            try:
                yield Loaded(runner, engine, observer)
            finally:
                observer.close()
        finally:
            runner.run(engine.dispose())


async def load(engine: AsyncEngine) -> None:
    """Forty days of points every 2 hours then two of every 20 minutes, incidents, alerts, playbook
    runs; rolled up, so that questions read every level."""
    await migrate.upgrade(engine)
    end = int(NOW.timestamp())
    stamps = [*range(end - 40 * 86_400, end - 2 * 86_400, 7200), *range(end - 2 * 86_400, end, 1200)]
    points = [
        MetricPoint(metric, labels, ts, float(n + i % 97))
        for n, (metric, labels) in enumerate(SERIES)
        for i, ts in enumerate(stamps)
    ]
    await Store(engine).ingest_points(PointBatch.from_points(points), NOW)
    history = [
        *dataset.incidents(),
        {**dataset.incidents()[0], "external_id": "INC-evil", "service": EVIL_SERVICE},
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(incidents), history)
        found = await conn.execute(select(incidents.c.external_id, incidents.c.id))
        ids = {row.external_id: row.id for row in found}
        await conn.execute(insert(playbook_runs), dataset.playbook_runs(ids))
        await conn.execute(insert(alerts), list(dataset.alerts()[:300]))
    async with rollup_lock(engine) as conn:
        assert conn is not None
        await roll_up(conn, dataset.ROLLED_UP_AT)


@ANSWERS
@given(question=answerable, timezone=st.sampled_from(TIMEZONES))
def test_a_question_is_answered_with_bound_values_or_refused(
    loaded: Loaded, question: str, timezone: str
) -> None:
    before = loaded.state()
    try:
        result = loaded.runner.run(answer(question, loaded.engine, NOW, timezone, synonyms=SYNONYMS))
    except CannotAnswer as refusal:
        assert_helpful(refusal)
    else:
        sql = result.sql
        assert sql.lstrip().upper().startswith("SELECT"), sql
        # no string literal at all (identifiers may be "quoted"), no second statement, no comment:
        # whatever the question said is in the parameters, never in the text
        for marker in ("'", ";", "--", "/*"):
            assert marker not in sql, f"{marker!r} in {sql}"
        inline = [value for value in DATA_VALUES if value in sql]
        assert not inline, f"{inline} written into the SQL instead of bound"
        assert result.text
        # what `nocbot ask --json` prints: JSON, which has no NaN or Infinity
        json.dumps(result.to_json(), ensure_ascii=False, allow_nan=False)
    assert loaded.state() == before, "asking a question changed the database"


# --- what the fuzzing found, pinned -----------------------------------------------------------------


def test_numbers_in_words_are_numbers() -> None:
    # "three" raised AttributeError: int.is_integer() exists only from Python 3.12
    parsed = parse("top three hosts by cpu last two days", LEXICON)
    assert isinstance(parsed, MetricQuestion)
    assert parsed.ranking == Ranking(Direction.HIGHEST, 3) and parsed.time == Rolling(2, Unit.DAY)


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("cpu top 3 priorities", "ranked by label"),  # TypeError: not a label key
        ("how many hours was cpu above " + "9" * 400, "too large a number"),  # inf: no JSON for it
        ("cpu last " + "9" * 400 + "d", "too large a number"),
    ],
)
def test_what_the_parser_refuses(question: str, reason: str) -> None:
    with pytest.raises(CannotAnswer, match=reason):
        parse(question, LEXICON)


@pytest.mark.parametrize(
    "expr",
    [
        Rolling(10**11, Unit.DAY),  # OverflowError in timedelta
        Rolling(99_999, Unit.YEAR),  # ValueError: year -97973 is out of range
        WholeDay(DaysAgo(10**7)),
        Between(CalendarDate(12, 31, 9999), DaysAgo(0)),  # the day after 9999-12-31
        Since(CalendarDate(1, 1, 1)),  # in UTC+5:30, before the first instant
        WholeDay(CalendarDate(5, 1, 1960)),  # nothing is stored from before 1970
    ],
)
def test_a_time_out_of_range_is_refused(expr: TimeExpr) -> None:
    with pytest.raises(CannotAnswer, match=r"further from today|before 1970"):
        resolve(expr, NOW, ZoneInfo("Asia/Kolkata"))


def test_a_range_from_before_1970_starts_in_1970() -> None:
    # and "monthly … since 0001-01-01" is no longer a CASE of 24,000 months
    since = resolve(Since(CalendarDate(1, 1, 1)), NOW, ZoneInfo("UTC"))
    assert (since.start, since.end) == (EARLIEST, NOW)


def test_top_more_than_a_database_integer_is_every_row(loaded: Loaded) -> None:
    # the LIMIT was bound as it was said: OverflowError from the driver past 2**63 - 1
    question = "top 100000000000000000000 hosts by max cpu yesterday"
    result = loaded.runner.run(answer(question, loaded.engine, NOW))
    assert len(result.rows) == len(LABELS["host"]) and 1001 in result.params.values()
