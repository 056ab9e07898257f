"""Database rows → the answer's columns and rows: labels for keys, quantiles from merged sketches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from engine.rollup.sketch import QuantileSketch, decode_many, keys_of
from nlq.ast import Direction
from nlq.compiled import CompiledQuery, KeyKind, ResultKind
from nlq.errors import CannotAnswer

Table = tuple[list[str], list[list[Any]]]


def finish(compiled: CompiledQuery, rows: Sequence[Sequence[Any]], scanned_limit: int) -> Table:
    match compiled.kind:
        case ResultKind.TABLE:
            _check_size(len(rows), compiled.row_limit)
            n = len(compiled.keys)
            # an aggregate over no rows is one row of NULL: that is "no data", not a value
            shown = _key_labels(compiled)
            table = [
                [
                    *(piece for label, key in zip(shown, row, strict=False) for piece in label(key)),
                    _number(row[n]),
                ]
                for row in rows
                if row[n] is not None
            ]
            return _columns(compiled), table
        case ResultKind.SKETCHES:
            if len(rows) > scanned_limit:
                raise CannotAnswer(
                    f"That reads more than {scanned_limit:,} buckets; ask about fewer series or less time."
                )
            return _quantiles(compiled, rows)
        case ResultKind.PEAK:
            return _peak(compiled, rows)
        case ResultKind.DURATION:
            steps = int(rows[0][0]) if rows else 0
            seconds = compiled.step_seconds or 300
            unit_seconds = {"hours": 3600, "days": 86_400}.get(compiled.value_name, 60)
            return [compiled.value_name], [[steps * seconds / unit_seconds]]
    raise AssertionError(compiled.kind)


def _quantiles(compiled: CompiledQuery, rows: Sequence[Sequence[Any]]) -> Table:
    """Merge each group's sketches (and raw values) and read the quantile off the merged sketch."""
    n = len(compiled.keys)
    groups: dict[tuple[Any, ...], int] = {}
    sketch_owner: list[int] = []
    sketches: list[bytes] = []
    raw_owner: list[int] = []
    raw_values: list[float] = []
    for row in rows:
        group = groups.setdefault(tuple(row[:n]), len(groups))
        sketch, value = row[n], row[n + 1]
        if sketch is None:
            raw_owner.append(group)
            raw_values.append(float(value))
        else:
            sketch_owner.append(group)
            sketches.append(bytes(sketch))
    owner, keys, counts = decode_many(sketches)
    group_of = np.concatenate(
        [np.array(sketch_owner, dtype=np.int64)[owner], np.array(raw_owner, dtype=np.int64)]
    )
    all_keys = np.concatenate([keys, keys_of(np.array(raw_values, dtype=np.float64))])
    all_counts = np.concatenate([counts, np.ones(len(raw_values), dtype=np.int64)])
    order = np.argsort(group_of, kind="stable")
    bounds = np.searchsorted(group_of[order], np.arange(len(groups) + 1))
    q = compiled.quantile if compiled.quantile is not None else 0.5
    results: list[tuple[tuple[Any, ...], float | None]] = []
    for key, index in groups.items():
        members = order[bounds[index] : bounds[index + 1]]
        sketch_of_group = QuantileSketch.from_keys(all_keys[members], all_counts[members])
        results.append((key, sketch_of_group.quantile(q)))
    results.sort(key=lambda item: _sortable(item[0]))
    if compiled.ranking is not None:
        sign = -1.0 if compiled.ranking.direction is Direction.HIGHEST else 1.0
        ranked = [(key, value) for key, value in results if value is not None]
        ranked.sort(key=lambda item: sign * item[1])  # stable: ties keep the key order
        results = list(ranked[: compiled.ranking.limit])
    _check_size(len(results), compiled.row_limit)
    shown = _key_labels(compiled)
    return _columns(compiled), [
        [*(piece for label, item in zip(shown, key, strict=True) for piece in label(item)), value]
        for key, value in results
    ]


def _peak(compiled: CompiledQuery, rows: Sequence[Sequence[Any]]) -> Table:
    columns = ["start", "end", compiled.value_name]
    if not rows or rows[0][2] is None:
        return columns, []
    bucket, width, value = int(rows[0][0]), int(rows[0][1]), _number(rows[0][2])
    local = datetime.fromtimestamp(bucket, tz=UTC).astimezone(compiled.tz)
    # a raw point is an instant: its "bucket" is the second it fell in
    end = local + timedelta(seconds=width or 1)
    return columns, [[local.isoformat(), end.isoformat(), value]]


def _columns(compiled: CompiledQuery) -> list[str]:
    names: list[str] = []
    for column in compiled.keys:
        names += ["range", "start", "end"] if column.kind is KeyKind.PART else [column.name]
    return [*names, compiled.value_name]


def _key_labels(compiled: CompiledQuery) -> list[Callable[[Any], list[Any]]]:
    """Per key column, how its database value is shown (one column, or three for a compared range)."""
    return [_key_label(compiled, column.kind) for column in compiled.keys]


def _key_label(compiled: CompiledQuery, kind: KeyKind) -> Callable[[Any], list[Any]]:
    if kind is KeyKind.PART:
        parts = [[p.words, _iso(p.start, compiled), _iso(p.end, compiled)] for p in compiled.parts]
        return lambda value: parts[int(value)]
    if kind is KeyKind.STEP:
        steps = compiled.steps
        assert steps is not None
        return lambda value: [steps.label(int(value))]
    if kind is KeyKind.PRIORITY:
        return lambda value: [None if value is None else int(value)]
    return lambda value: [value]


def _iso(moment: datetime, compiled: CompiledQuery) -> str:
    return moment.astimezone(compiled.tz).isoformat()


def _number(value: Any) -> Any:
    if isinstance(value, Decimal | np.floating):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def _sortable(key: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    return tuple((item is None, item if item is not None else 0) for item in key)


def _check_size(count: int, limit: int) -> None:
    if count > limit:
        raise CannotAnswer(
            f"The answer has more than {limit:,} rows; ask for fewer groups or a coarser step."
        )
