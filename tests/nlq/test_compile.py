"""AST → SQL (pure): bound parameters only, the coarsest exact rollup, limits on what comes back."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from engine.rollup.levels import ROLLUP_LEVELS, Retention
from engine.rollup.plan import Availability
from nlq.compile import CompiledQuery, Context, Limits, compile_question
from nlq.compiled import KeyColumn, KeyKind, ResultKind
from nlq.errors import CannotAnswer
from nlq.finish import finish
from nlq.lexicon import Lexicon
from nlq.parser import parse
from nlq.vocabulary import Vocabulary

NOW = datetime(2026, 4, 8, 10, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
LEXICON = Lexicon(
    Vocabulary.build(
        ["cpu_usage", "http_request_latency_ms"],
        {"host": ["web-1", "o-brien"], "service": ["checkout"]},
    )
)


def compiled(question: str, tz: str = "UTC", limits: Limits | None = None) -> CompiledQuery:
    available = Availability.at(NOW_MS, Retention(), 3_600_000, dict.fromkeys(ROLLUP_LEVELS, NOW_MS))
    context = Context(NOW, ZoneInfo(tz), available, limits or Limits())
    return compile_question(parse(question, LEXICON), context)


@pytest.mark.parametrize(
    "question",
    [
        "how many hours was cpu above 93.25 on o-brien yesterday",
        "p95 latency for checkout on web-1 last week",
        "how many P3 incidents for checkout since March 2",
        "top 7 hosts by cpu on o-brien",
    ],
)
@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()])
def test_values_from_the_question_are_bound_parameters(question: str, dialect: object) -> None:
    statement = compiled(question).statement
    sql = str(statement.compile(dialect=dialect))  # type: ignore[arg-type]
    params = statement.compile(dialect=dialect).params  # type: ignore[arg-type]
    for said in ("o-brien", "checkout", "web-1", "93.25", "cpu_usage"):
        assert said not in sql
    assert sql.lstrip().startswith("SELECT")
    assert params


@pytest.mark.parametrize(
    ("question", "tz", "resolution"),
    [
        ("average cpu yesterday", "UTC", "1d"),
        ("average cpu last week", "UTC", "1d"),
        ("average cpu last 7 days", "UTC", "1d+1h"),
        ("average cpu last 30 minutes", "UTC", "5m"),
        ("average cpu yesterday", "Europe/Berlin", "1h"),
        ("daily average cpu last week", "Asia/Kolkata", "5m"),
        ("hourly average cpu yesterday", "UTC", "1h"),
        ("p99 latency in March", "UTC", "1d"),
        ("how many incidents last week", "UTC", "exact"),
    ],
)
def test_the_coarsest_rollup_that_is_exact(question: str, tz: str, resolution: str) -> None:
    assert compiled(question, tz).resolution == resolution


def test_quantiles_read_sketches_and_other_aggregates_are_sql() -> None:
    assert compiled("p95 latency by host yesterday").kind is ResultKind.SKETCHES
    assert compiled("average latency by host yesterday").kind is ResultKind.TABLE
    assert "sketch" not in str(compiled("average latency by host yesterday").statement)


def test_row_limits_are_in_the_statement_and_enforced() -> None:
    limits = Limits(max_rows=10, max_scanned_rows=50)
    hourly = compiled("hourly average cpu last 2 days", limits=limits)
    assert hourly.statement._limit == 11  # one more than allowed tells "too many"
    with pytest.raises(CannotAnswer, match="more than 10 rows"):
        finish(hourly, [(k, 1.0) for k in range(11)], limits.max_scanned_rows)
    sketches = compiled("p95 latency by host last week", limits=limits)
    assert sketches.statement._limit == 51
    with pytest.raises(CannotAnswer, match="more than 50"):
        finish(sketches, [("web-1", None, 1.0, 1)] * 51, limits.max_scanned_rows)


def test_quantiles_merge_sketches_and_raw_values_per_group() -> None:
    from engine.rollup.sketch import QuantileSketch

    query = compiled("p50 latency by host yesterday")
    assert query.keys == (KeyColumn("host", KeyKind.LABEL),)
    low = QuantileSketch.from_values([1.0, 2.0, 3.0]).to_bytes()
    rows = [
        ("web-1", low, 6.0, 3),
        ("web-1", None, 100.0, 1),
        ("web-1", None, 101.0, 1),
        ("o-brien", low, 6.0, 3),
    ]
    columns, table = finish(query, rows, 100)
    assert columns == ["host", "median"]
    assert [row[0] for row in table] == ["o-brien", "web-1"]
    assert table[0][1] == pytest.approx(2.0, rel=0.005)
    assert table[1][1] == pytest.approx(3.0, rel=0.005)  # the middle of 1, 2, 3, 100, 101
