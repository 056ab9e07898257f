"""A question's answer for the console: the sentence, the table, a chart of it and the SQL that ran.

The chat surfaces get a `ChatReply` (a sentence and a few lines); the console shows more, so it
asks nlq itself and keeps the table and the statement.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bot.console.svg import MAX_BARS, MAX_SERIES, Series, bar_chart, line_chart
from nlq.answer import Answer

MAX_ROWS = 500  # a table longer than this is cut in the page (the count says so)
TIME_COLUMNS = frozenset({"period", "day", "hour", "time", "bucket"})


def answer_json(answer: Answer) -> dict[str, Any]:
    rows = [[_cell(value) for value in row] for row in answer.rows]
    return {
        "answered": True,
        "question": answer.question,
        "text": answer.text,
        "time_range": {"start": answer.start.isoformat(), "end": answer.end.isoformat()},
        "resolution": answer.resolution,
        "columns": list(answer.columns),
        "rows": rows[:MAX_ROWS],
        "row_count": len(rows),
        "sql": answer.sql,
        "params": answer.params,
        "chart": answer_chart(answer.question, answer.columns, rows),
    }


def answer_chart(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str | None:
    """A line chart when the first column is a time, bars when rows are ranked by keys; None for a
    single number (the sentence says it) or a table whose last column is not a number."""
    if len(rows) < 2 or not columns or not all(_number(row[-1]) is not None for row in rows):
        return None
    value_name = columns[-1]
    if columns[0].lower() in TIME_COLUMNS and len(columns) >= 2:
        periods = list(dict.fromkeys(str(row[0]) for row in rows))
        groups: dict[str, dict[str, float | None]] = {}
        for row in rows:
            key = " · ".join(str(cell) for cell in row[1:-1]) or value_name
            groups.setdefault(key, {})[str(row[0])] = _number(row[-1])
        series = [Series(name, [values.get(p) for p in periods]) for name, values in groups.items()]
        return line_chart([_short_time(p) for p in periods], series[:MAX_SERIES], title=title)
    bars = [(" · ".join(map(str, row[:-1])) or value_name, _number(row[-1]) or 0.0) for row in rows]
    return bar_chart(bars[:MAX_BARS], title=title)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _short_time(text: str) -> str:
    """ "2026-04-07T05:00:00+00:00" → "04-07 05:00"; a whole day → "04-07"."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if (moment.hour, moment.minute) == (0, 0):
        return f"{moment:%m-%d}"
    return f"{moment:%m-%d %H:%M}"


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
