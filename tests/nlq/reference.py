"""Expected answers computed the plain way: numpy over every raw point, Python over every incident.

Independent of the code under test — no rollups, no sketches, no SQL, nothing from nlq — so a
wrong bucket boundary, a lost point or an average of averages shows up as a mismatch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from tests.nlq import dataset

Rows = list[list[Any]]
QUANTILES = {"median": 0.5, "p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def iso(moment: datetime, tz: str = "UTC") -> str:
    return moment.astimezone(ZoneInfo(tz)).isoformat()


def period_start(epoch_s: float, step: str, tz: str) -> str:
    """The start of the step a moment falls in, in the team's time zone (ISO 8601)."""
    zone = ZoneInfo(tz)
    local = datetime.fromtimestamp(epoch_s, tz=UTC).astimezone(zone)
    if step == "hour":
        return local.replace(minute=0, second=0, microsecond=0).isoformat()
    if step == "5 minutes":
        return local.replace(minute=local.minute - local.minute % 5, second=0, microsecond=0).isoformat()
    day = local.date()
    if step == "week":
        day = day - timedelta(days=day.weekday())
    elif step == "month":
        day = day.replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=zone).isoformat()


def _periods(ts_ms: np.ndarray, step: str, tz: str) -> np.ndarray:
    """period_start of every point, worked out once per 5 minutes: every UTC offset in use is a whole
    number of quarter hours, so no step boundary falls inside a 5-minute slot."""
    slots = ts_ms // 300_000
    distinct, position = np.unique(slots, return_inverse=True)
    names = np.array([period_start(slot * 300, step, tz) for slot in distinct.tolist()], dtype=object)
    return names[position]


def _points(
    metric: str, where: dict[str, Sequence[str]], start: datetime, end: datetime
) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
    low, high = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    found = []
    for s in dataset.series():
        if s.metric != metric or any(s.labels.get(k) not in values for k, values in where.items()):
            continue
        mask = (s.ts_ms >= low) & (s.ts_ms < high)
        found.append((s.labels, s.ts_ms[mask], s.values[mask]))
    return found


def aggregate(values: np.ndarray, agg: str) -> float | int:
    if agg == "avg":
        return float(values.mean())
    if agg == "max":
        return float(values.max())
    if agg == "min":
        return float(values.min())
    if agg == "sum":
        return float(values.sum())
    if agg == "count":
        return len(values)
    return float(np.quantile(values, QUANTILES[agg]))


def metric_table(
    metric: str,
    agg: str,
    start: datetime,
    end: datetime,
    *,
    where: dict[str, Sequence[str]] | None = None,
    by: Sequence[str] = (),
    step: str | None = None,
    tz: str = "UTC",
    top: tuple[int, bool] | None = None,
) -> tuple[list[str], Rows]:
    """Rows (period?, label values…, value), ordered like the answer: by key, or ranked."""
    groups: dict[tuple[Any, ...], list[np.ndarray]] = {}
    for labels, ts, values in _points(metric, where or {}, start, end):
        label_key = tuple(labels.get(k) for k in by)
        if step is None:
            if len(values):
                groups.setdefault(label_key, []).append(values)
            continue
        periods = _periods(ts, step, tz)
        for period in sorted(set(periods)):
            mask = periods == period
            groups.setdefault((period, *label_key), []).append(values[mask])
    rows = [[*key, aggregate(np.concatenate(parts), agg)] for key, parts in groups.items()]
    rows.sort(key=lambda row: tuple(row[:-1]))
    if top is not None:
        limit, highest = top
        rows.sort(key=lambda row: -row[-1] if highest else row[-1])
        rows = rows[:limit]
    columns = (["period"] if step else []) + list(by) + [agg]
    return columns, rows


def compare_table(
    metric: str,
    agg: str,
    ranges: Sequence[tuple[str, datetime, datetime]],
    *,
    where: dict[str, Sequence[str]] | None = None,
    tz: str = "UTC",
) -> tuple[list[str], Rows]:
    rows: Rows = []
    for words, start, end in ranges:
        values = np.concatenate([v for _l, _t, v in _points(metric, where or {}, start, end)])
        rows.append([words, iso(start, tz), iso(end, tz), aggregate(values, agg)])
    return ["range", "start", "end", agg], rows


def peak(
    metric: str,
    start: datetime,
    end: datetime,
    *,
    where: dict[str, Sequence[str]] | None = None,
    highest: bool = True,
) -> dict[str, Any]:
    """The extreme value and every instant (ms) it occurred at: the answer's bucket must hold one."""
    found = _points(metric, where or {}, start, end)
    values = np.concatenate([v for _l, _t, v in found])
    stamps = np.concatenate([t for _l, t, _v in found])
    extreme = values.max() if highest else values.min()
    return {"value": float(extreme), "at_ms": sorted(int(t) for t in stamps[values == extreme])}


def steps_crossing(
    metric: str,
    start: datetime,
    end: datetime,
    threshold: float,
    *,
    step: str,
    where: dict[str, Sequence[str]] | None = None,
    above: bool = True,
    tz: str = "UTC",
) -> int:
    """How many steps (hours, 5 minutes) had an average above (below) the threshold."""
    _columns, rows = metric_table(metric, "avg", start, end, where=where, step=step, tz=tz)
    return sum(1 for row in rows if (row[-1] > threshold if above else row[-1] < threshold))


def event_table(
    subject: str,
    measure: str,
    start: datetime,
    end: datetime,
    *,
    services: Sequence[str] = (),
    priorities: Sequence[int] = (),
    auto_only: bool = False,
    by: Sequence[str] = (),
    step: str | None = None,
    tz: str = "UTC",
    top: tuple[int, bool] | None = None,
    compare: tuple[tuple[str, datetime, datetime], ...] | None = None,
) -> tuple[list[str], Rows]:
    records, when = _event_records(subject)
    ranges = compare or (("", start, end),)
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in records:
        moment = when(record)
        part = next((i for i, (_w, s, e) in reversed(list(enumerate(ranges))) if s <= moment < e), None)
        if part is None:
            continue
        if services and record.get("service") not in services:
            continue
        if priorities and record.get("priority") not in priorities:
            continue
        if auto_only and not record.get("auto_resolved"):
            continue
        if measure == "mttr_seconds" and record.get("resolved_at") is None:
            continue
        if measure == "mtta_seconds" and record.get("acknowledged_at") is None:
            continue
        key: tuple[Any, ...] = tuple(record.get(k) for k in by)
        if step is not None:
            key = (period_start(moment.timestamp(), step, tz), *key)
        if compare:
            key = (part, *key)
        groups.setdefault(key, []).append(record)
    rows = [[*key, _measure(measure, members)] for key, members in groups.items()]
    rows.sort(key=lambda row: _sortable(row[:-1]))
    if top is not None:
        limit, highest = top
        rows.sort(key=lambda row: -row[-1] if highest else row[-1])
        rows = rows[:limit]
    if compare:
        rows = [
            [compare[row[0]][0], iso(compare[row[0]][1], tz), iso(compare[row[0]][2], tz), *row[1:]]
            for row in rows
        ]
    columns = (
        (["range", "start", "end"] if compare else []) + (["period"] if step else []) + list(by) + [measure]
    )
    return columns, rows


def _sortable(key: Sequence[Any]) -> tuple[tuple[bool, Any], ...]:
    """Missing values (no playbook) sort last, as the answer orders them."""
    return tuple((item is None, "" if item is None else item) for item in key)


def _event_records(subject: str) -> tuple[Iterable[dict[str, Any]], Callable[[dict[str, Any]], datetime]]:
    if subject == "alerts":
        return [dict(a, alertname=a["name"]) for a in dataset.alerts()], lambda a: a["starts_at"]
    if subject == "playbook_runs":
        runs = [
            dict(i, requested_at=i["opened_at"] + timedelta(minutes=2))
            for i in dataset.incidents()
            if i["playbook"] is not None
        ]
        return runs, lambda r: r["requested_at"]
    return dataset.incidents(), lambda i: i["opened_at"]


def _measure(measure: str, members: list[dict[str, Any]]) -> float | int:
    if measure == "mttr_seconds":
        return float(np.mean([(m["resolved_at"] - m["opened_at"]).total_seconds() for m in members]))
    if measure == "mtta_seconds":
        return float(np.mean([(m["acknowledged_at"] - m["opened_at"]).total_seconds() for m in members]))
    if measure == "auto_resolved_share":
        return float(np.mean([1.0 if m["auto_resolved"] else 0.0 for m in members]))
    return len(members)
