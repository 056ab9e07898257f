"""Writes tests/nlq/questions.yaml: each question with its expected answer, from `reference.py`.

    python -m tests.nlq.build_questions

Each case states its time range explicitly (worked out here by hand from the clock and the time
zone, not by nlq), and the expected rows come from the raw values of `dataset.py`. A test checks
that the committed file is what this script writes, so the two never drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from tests.nlq import reference as ref
from tests.nlq.dataset import END

QUESTIONS = Path(__file__).with_name("questions.yaml")
NOW2 = END - timedelta(minutes=12, seconds=30)  # 09:47:30, not on any bucket boundary
EXACT = 1e-9
QUANTILE = 0.01

CPU, MEMORY, LATENCY = "cpu_usage", "memory_used_bytes", "http_request_latency_ms"
FAN, DISK = "fan_speed_rpm", "disk_used_percent"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local(tz: str, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZoneInfo(tz)).astimezone(UTC)  # type: ignore[misc]


# the ranges the questions below name, at END (Wednesday 2026-04-08 10:00 UTC)
TODAY = (utc(2026, 4, 8), END)
YESTERDAY = (utc(2026, 4, 7), utc(2026, 4, 8))
LAST_24H = (END - timedelta(hours=24), END)
THIS_WEEK = (utc(2026, 4, 6), END)
LAST_WEEK = (utc(2026, 3, 30), utc(2026, 4, 6))
THIS_MONTH = (utc(2026, 4, 1), END)
LAST_MONTH = (utc(2026, 3, 1), utc(2026, 4, 1))
LAST_7_DAYS = (END - timedelta(days=7), END)
LAST_30_DAYS = (END - timedelta(days=30), END)
IN_MARCH = LAST_MONTH


def case(
    question: str,
    table: tuple[list[str], list[list[Any]]],
    span: tuple[datetime, datetime],
    *,
    now: datetime = END,
    tz: str = "UTC",
    tolerance: float = EXACT,
) -> dict[str, Any]:
    columns, rows = table
    return {
        "question": question,
        "now": now.isoformat(),
        "timezone": tz,
        "start": ref.iso(span[0], tz),
        "end": ref.iso(span[1], tz),
        "columns": columns,
        "rows": rows,
        "tolerance": tolerance,
    }


def metric(
    question: str,
    name: str,
    agg: str,
    span: tuple[datetime, datetime],
    *,
    now: datetime = END,
    tz: str = "UTC",
    **options: Any,
) -> dict[str, Any]:
    tolerance = QUANTILE if agg in ref.QUANTILES else EXACT
    table = ref.metric_table(name, agg, span[0], span[1], tz=tz, **options)
    return case(question, table, span, now=now, tz=tz, tolerance=tolerance)


def event(
    question: str, subject: str, measure: str, span: tuple[datetime, datetime], **options: Any
) -> dict[str, Any]:
    tz = options.get("tz", "UTC")
    return case(question, ref.event_table(subject, measure, span[0], span[1], **options), span, tz=tz)


def metric_cases() -> Iterator[dict[str, Any]]:
    words = {CPU: "cpu", MEMORY: "memory", LATENCY: "latency", FAN: "fan speed", DISK: "disk"}
    # every aggregation word over several ranges and filters
    for name, word in words.items():
        yield metric(f"average {word} yesterday", name, "avg", YESTERDAY)
        yield metric(f"max {word} last week", name, "max", LAST_WEEK)
        yield metric(f"minimum {word} last 7 days", name, "min", LAST_7_DAYS)
        yield metric(f"p95 {word} this month", name, "p95", THIS_MONTH)
        yield metric(f"median {word} today", name, "median", TODAY)
        yield metric(f"how much {word} in the last 30 days", name, "avg", LAST_30_DAYS)
    yield metric(
        "mean CPU usage for checkout yesterday", CPU, "avg", YESTERDAY, where={"service": ["checkout"]}
    )
    yield metric("avg cpu on web-1 today", CPU, "avg", TODAY, where={"host": ["web-1"]})
    yield metric(
        "peak cpu for service search last week", CPU, "max", LAST_WEEK, where={"service": ["search"]}
    )
    yield metric("highest cpu on db-1 last month", CPU, "max", LAST_MONTH, where={"host": ["db-1"]})
    yield metric("lowest memory on cache-1 this week", MEMORY, "min", THIS_WEEK, where={"host": ["cache-1"]})
    yield metric(
        "total memory for payments yesterday", MEMORY, "sum", YESTERDAY, where={"service": ["payments"]}
    )
    yield metric("sum of disk on db-2 last 7 days", DISK, "sum", LAST_7_DAYS, where={"host": ["db-2"]})
    yield metric("number of cpu points yesterday", CPU, "count", YESTERDAY)
    yield metric(
        "count latency for checkout last week", LATENCY, "count", LAST_WEEK, where={"service": ["checkout"]}
    )
    yield metric(
        "p99 latency for checkout last 30 days", LATENCY, "p99", LAST_30_DAYS, where={"service": ["checkout"]}
    )
    yield metric("p90 latency on web-3 yesterday", LATENCY, "p90", YESTERDAY, where={"host": ["web-3"]})
    yield metric(
        "95th percentile latency for service search since March 15",
        LATENCY,
        "p95",
        (utc(2026, 3, 15), END),
        where={"service": ["search"]},
    )
    yield metric(
        "p50 request latency on web-2 last month", LATENCY, "median", LAST_MONTH, where={"host": ["web-2"]}
    )
    yield metric(
        "median fan speed for db-2 past 2 days",
        FAN,
        "median",
        (END - timedelta(days=2), END),
        where={"host": ["db-2"]},
    )
    yield metric(
        "average cpu for web-1 and web-2 yesterday", CPU, "avg", YESTERDAY, where={"host": ["web-1", "web-2"]}
    )
    yield metric("max cpu in eu-west last week", CPU, "max", LAST_WEEK, where={"region": ["eu-west"]})
    yield metric(
        "average memory for region us-east this month",
        MEMORY,
        "avg",
        THIS_MONTH,
        where={"region": ["us-east"]},
    )
    yield metric(
        "cpu on host web-3 for checkout yesterday",
        CPU,
        "avg",
        YESTERDAY,
        where={"host": ["web-3"], "service": ["checkout"]},
    )
    yield metric("cpu", CPU, "avg", LAST_24H)
    yield metric("What was the CPU usage on web-2?", CPU, "avg", LAST_24H, where={"host": ["web-2"]})
    # time words
    yield metric("average cpu today", CPU, "avg", TODAY)
    yield metric("average cpu last 6 hours", CPU, "avg", (END - timedelta(hours=6), END))
    yield metric("average cpu over the past 2 days", CPU, "avg", (END - timedelta(days=2), END))
    yield metric("average cpu last 3 weeks", CPU, "avg", (END - timedelta(weeks=3), END))
    yield metric("max cpu last 2 months", CPU, "max", (utc(2026, 2, 8, 10), END))
    yield metric("average memory this year", MEMORY, "avg", (utc(2026, 1, 1), END))
    yield metric("average cpu since March 15", CPU, "avg", (utc(2026, 3, 15), END))
    yield metric("average cpu since Monday", CPU, "avg", (utc(2026, 4, 6), END))
    yield metric("max latency on March 20", LATENCY, "max", (utc(2026, 3, 20), utc(2026, 3, 21)))
    yield metric("min cpu on 2026-03-03", CPU, "min", (utc(2026, 3, 3), utc(2026, 3, 4)))
    yield metric("average disk on Sunday", DISK, "avg", (utc(2026, 4, 5), utc(2026, 4, 6)))
    yield metric("p95 latency 2 days ago", LATENCY, "p95", (utc(2026, 4, 6), utc(2026, 4, 7)))
    yield metric(
        "average cpu between March 10 and March 12", CPU, "avg", (utc(2026, 3, 10), utc(2026, 3, 13))
    )
    yield metric("max memory from 1 March to 3 March", MEMORY, "max", (utc(2026, 3, 1), utc(2026, 3, 4)))
    yield metric("average fan speed in March", FAN, "avg", IN_MARCH)
    yield metric("p99 latency in February", LATENCY, "p99", (utc(2026, 2, 1), utc(2026, 3, 1)))
    yield metric("average cpu this week", CPU, "avg", THIS_WEEK)
    yield metric("average cpu last month", CPU, "avg", LAST_MONTH)
    yield metric("average cpu last 1 hour", CPU, "avg", (END - timedelta(hours=1), END))
    # grouping
    yield metric("average cpu by host yesterday", CPU, "avg", YESTERDAY, by=["host"])
    yield metric("p95 latency per service last week", LATENCY, "p95", LAST_WEEK, by=["service"])
    yield metric("max memory for each host this month", MEMORY, "max", THIS_MONTH, by=["host"])
    yield metric(
        "average cpu by service and region last 7 days", CPU, "avg", LAST_7_DAYS, by=["service", "region"]
    )
    yield metric(
        "min disk per host for search in March",
        DISK,
        "min",
        IN_MARCH,
        by=["host"],
        where={"service": ["search"]},
    )
    yield metric("count cpu by region today", CPU, "count", TODAY, by=["region"])
    yield metric(
        "median latency by host since Monday", LATENCY, "median", (utc(2026, 4, 6), END), by=["host"]
    )
    # top and bottom
    yield metric("top 3 hosts by cpu last 30 days", CPU, "avg", LAST_30_DAYS, by=["host"], top=(3, True))
    yield metric("bottom 2 hosts by cpu yesterday", CPU, "avg", YESTERDAY, by=["host"], top=(2, False))
    yield metric("top 5 hosts by max memory last week", MEMORY, "max", LAST_WEEK, by=["host"], top=(5, True))
    yield metric(
        "top 2 services by p95 latency this month", LATENCY, "p95", THIS_MONTH, by=["service"], top=(2, True)
    )
    yield metric(
        "which service had the highest latency yesterday",
        LATENCY,
        "avg",
        YESTERDAY,
        by=["service"],
        top=(1, True),
    )
    yield metric(
        "which host had the lowest cpu last week", CPU, "avg", LAST_WEEK, by=["host"], top=(1, False)
    )
    yield metric(
        "which hosts had the highest p99 latency last 7 days",
        LATENCY,
        "p99",
        LAST_7_DAYS,
        by=["host"],
        top=(5, True),
    )
    yield metric("what host had the highest peak cpu today", CPU, "max", TODAY, by=["host"], top=(1, True))
    yield metric(
        "which service had the lowest disk this month",
        DISK,
        "avg",
        THIS_MONTH,
        by=["service"],
        top=(1, False),
    )
    # time series
    yield metric(
        "hourly average cpu for checkout yesterday",
        CPU,
        "avg",
        YESTERDAY,
        step="hour",
        where={"service": ["checkout"]},
    )
    yield metric("daily max memory last week", MEMORY, "max", LAST_WEEK, step="day")
    yield metric(
        "average cpu per hour on web-1 today", CPU, "avg", TODAY, step="hour", where={"host": ["web-1"]}
    )
    yield metric(
        "daily p95 latency for search this week",
        LATENCY,
        "p95",
        THIS_WEEK,
        step="day",
        where={"service": ["search"]},
    )
    yield metric("weekly average cpu last month", CPU, "avg", LAST_MONTH, step="week")
    yield metric("monthly max fan speed this year", FAN, "max", (utc(2026, 1, 1), END), step="month")
    yield metric("cpu by day last week for db-1", CPU, "avg", LAST_WEEK, step="day", where={"host": ["db-1"]})
    yield metric("daily average disk by host this week", DISK, "avg", THIS_WEEK, step="day", by=["host"])
    yield metric(
        "hourly count of latency points for web-2 today",
        LATENCY,
        "count",
        TODAY,
        step="hour",
        where={"host": ["web-2"]},
    )
    yield metric("daily min cpu since March 25", CPU, "min", (utc(2026, 3, 25), END), step="day")


def peak_cases() -> Iterator[dict[str, Any]]:
    peaks = [
        ("when was cpu highest on web-1 yesterday", CPU, YESTERDAY, {"host": ["web-1"]}, True),
        ("when did latency peak for checkout last week", LATENCY, LAST_WEEK, {"service": ["checkout"]}, True),
        ("when was memory lowest on db-2 this month", MEMORY, THIS_MONTH, {"host": ["db-2"]}, False),
        ("when was the fan speed highest last 30 days", FAN, LAST_30_DAYS, {}, True),
        ("when was disk lowest today", DISK, TODAY, {}, False),
        ("when was cpu highest in March", CPU, IN_MARCH, {}, True),
        (
            "at what time was latency highest on web-3 since Monday",
            LATENCY,
            (utc(2026, 4, 6), END),
            {"host": ["web-3"]},
            True,
        ),
        ("when was cpu lowest for search yesterday", CPU, YESTERDAY, {"service": ["search"]}, False),
    ]
    for question, name, span, where, highest in peaks:
        expected = ref.peak(name, span[0], span[1], where=where, highest=highest)
        entry = case(question, (["start", "end", "max" if highest else "min"], []), span)
        entry["peak"] = expected
        del entry["rows"]
        yield entry


def threshold_cases() -> Iterator[dict[str, Any]]:
    def hours(
        question: str,
        span: tuple[datetime, datetime],
        threshold: float,
        step: str,
        unit: str,
        where: dict[str, list[str]],
        above: bool = True,
        factor: float = 1.0,
    ) -> dict[str, Any]:
        count = ref.steps_crossing(CPU, span[0], span[1], threshold, step=step, where=where, above=above)
        return case(question, ([unit], [[count * factor]]), span)

    yield hours(
        "how many hours was cpu above 90 on web-1 yesterday",
        YESTERDAY,
        90,
        "hour",
        "hours",
        {"host": ["web-1"]},
    )
    yield hours(
        "how many hours was cpu above 75 on web-1 last week",
        LAST_WEEK,
        75,
        "hour",
        "hours",
        {"host": ["web-1"]},
    )
    yield hours(
        "how many hours was cpu below 20 for db-2 last 7 days",
        LAST_7_DAYS,
        20,
        "hour",
        "hours",
        {"host": ["db-2"]},
        above=False,
    )
    yield hours(
        "how long was cpu above 80 on web-1 today",
        TODAY,
        80,
        "5 minutes",
        "minutes",
        {"host": ["web-1"]},
        factor=5,
    )
    yield hours(
        "for how many minutes was cpu over 85% on web-1 yesterday",
        YESTERDAY,
        85,
        "5 minutes",
        "minutes",
        {"host": ["web-1"]},
        factor=5,
    )
    yield hours(
        "how many hours was cpu above 60 for checkout this month",
        THIS_MONTH,
        60,
        "hour",
        "hours",
        {"service": ["checkout"]},
    )
    yield hours(
        "how many days was cpu above 55 on cache-1 last month",
        LAST_MONTH,
        55,
        "day",
        "days",
        {"host": ["cache-1"]},
    )


def comparison_cases() -> Iterator[dict[str, Any]]:
    this_week, last_week = ("this week", *THIS_WEEK), ("last week", *LAST_WEEK)
    table = ref.compare_table(LATENCY, "p95", [this_week, last_week])
    yield case("p95 latency this week vs last week", table, THIS_WEEK, tolerance=QUANTILE)
    table = ref.compare_table(
        CPU, "avg", [("today", *TODAY), ("yesterday", *YESTERDAY)], where={"host": ["web-1"]}
    )
    yield case("average cpu on web-1 today compared to yesterday", table, TODAY)
    table = ref.compare_table(MEMORY, "max", [("this month", *THIS_MONTH), ("last month", *LAST_MONTH)])
    yield case("max memory this month versus last month", table, THIS_MONTH)
    yield metric(
        "cpu on web-1 vs web-2 yesterday",
        CPU,
        "avg",
        YESTERDAY,
        by=["host"],
        where={"host": ["web-1", "web-2"]},
    )
    yield metric(
        "p95 latency for checkout vs search last week",
        LATENCY,
        "p95",
        LAST_WEEK,
        by=["service"],
        where={"service": ["checkout", "search"]},
    )


def raw_edge_cases() -> Iterator[dict[str, Any]]:
    """Questions at a clock between buckets: range edges come from raw points and 5-min rollups."""
    yield metric("average cpu last 30 minutes", CPU, "avg", (NOW2 - timedelta(minutes=30), NOW2), now=NOW2)
    yield metric(
        "max cpu on web-1 last 3 hours",
        CPU,
        "max",
        (NOW2 - timedelta(hours=3), NOW2),
        now=NOW2,
        where={"host": ["web-1"]},
    )
    yield metric(
        "p95 latency last 90 minutes", LATENCY, "p95", (NOW2 - timedelta(minutes=90), NOW2), now=NOW2
    )
    yield metric("count cpu last 2 hours", CPU, "count", (NOW2 - timedelta(hours=2), NOW2), now=NOW2)
    yield metric(
        "min memory by host last 45 minutes",
        MEMORY,
        "min",
        (NOW2 - timedelta(minutes=45), NOW2),
        now=NOW2,
        by=["host"],
    )
    yield metric("sum of disk last 24 hours", DISK, "sum", (NOW2 - timedelta(hours=24), NOW2), now=NOW2)
    yield metric("average cpu today", CPU, "avg", (utc(2026, 4, 8), NOW2), now=NOW2)
    # older than raw points are kept (48 h): the start is rounded down to its 5-minute bucket
    yield metric("average cpu last 3 days", CPU, "avg", (utc(2026, 4, 5, 9, 45), NOW2), now=NOW2)
    yield metric(
        "hourly max cpu on web-1 last 4 hours",
        CPU,
        "max",
        (NOW2 - timedelta(hours=4), NOW2),
        now=NOW2,
        step="hour",
        where={"host": ["web-1"]},
    )


def time_zone_cases() -> Iterator[dict[str, Any]]:
    berlin, new_york, kolkata = "Europe/Berlin", "America/New_York", "Asia/Kolkata"
    # summer time starts in Berlin on 29 March: that day has 23 hours
    span = (local(berlin, 2026, 3, 27), local(berlin, 2026, 4, 1))
    yield metric("daily average cpu between March 27 and March 31", CPU, "avg", span, tz=berlin, step="day")
    yield metric(
        "daily max memory last week",
        MEMORY,
        "max",
        (local(berlin, 2026, 3, 30), local(berlin, 2026, 4, 6)),
        tz=berlin,
        step="day",
    )
    yield metric(
        "average cpu yesterday", CPU, "avg", (local(berlin, 2026, 4, 7), local(berlin, 2026, 4, 8)), tz=berlin
    )
    yield metric(
        "hourly average cpu on db-1 yesterday",
        CPU,
        "avg",
        (local(new_york, 2026, 4, 7), local(new_york, 2026, 4, 8)),
        tz=new_york,
        step="hour",
        where={"host": ["db-1"]},
    )
    yield metric(
        "max cpu last week",
        CPU,
        "max",
        (local(new_york, 2026, 3, 30), local(new_york, 2026, 4, 6)),
        tz=new_york,
    )
    # UTC+5:30: days and hours straddle UTC hours, so 5-minute rollups answer
    yield metric(
        "daily max cpu for web-1 last week",
        CPU,
        "max",
        (local(kolkata, 2026, 3, 30), local(kolkata, 2026, 4, 6)),
        tz=kolkata,
        step="day",
        where={"host": ["web-1"]},
    )
    yield metric(
        "hourly p95 latency for checkout yesterday",
        LATENCY,
        "p95",
        (local(kolkata, 2026, 4, 7), local(kolkata, 2026, 4, 8)),
        tz=kolkata,
        step="hour",
        where={"service": ["checkout"]},
    )
    yield metric(
        "average cpu by host this week",
        CPU,
        "avg",
        (local(kolkata, 2026, 4, 6), END),
        tz=kolkata,
        by=["host"],
    )
    yield event(
        "incidents per day last week",
        "incidents",
        "incidents",
        (local(berlin, 2026, 3, 30), local(berlin, 2026, 4, 6)),
        step="day",
        tz=berlin,
    )


def event_cases() -> Iterator[dict[str, Any]]:
    yield event("how many incidents last month", "incidents", "incidents", LAST_MONTH)
    yield event("how many P1 incidents last month", "incidents", "incidents", LAST_MONTH, priorities=[1])
    yield event(
        "how many p1 and p2 incidents this month", "incidents", "incidents", THIS_MONTH, priorities=[1, 2]
    )
    yield event(
        "number of incidents by priority last month", "incidents", "incidents", LAST_MONTH, by=["priority"]
    )
    yield event("incidents per service last week", "incidents", "incidents", LAST_WEEK, by=["service"])
    yield event(
        "how many incidents for checkout since March 1",
        "incidents",
        "incidents",
        (utc(2026, 3, 1), END),
        services=["checkout"],
    )
    yield event("daily incidents last week", "incidents", "incidents", LAST_WEEK, step="day")
    yield event(
        "weekly incidents by service last month",
        "incidents",
        "incidents",
        LAST_MONTH,
        step="week",
        by=["service"],
    )
    yield event("incidents in March", "incidents", "incidents", IN_MARCH)
    yield event(
        "P3 incidents between March 10 and March 20",
        "incidents",
        "incidents",
        (utc(2026, 3, 10), utc(2026, 3, 21)),
        priorities=[3],
    )
    yield event("how many incidents yesterday", "incidents", "incidents", YESTERDAY)
    yield event("how many incidents", "incidents", "incidents", LAST_30_DAYS)
    yield event(
        "incidents by service and priority this month",
        "incidents",
        "incidents",
        THIS_MONTH,
        by=["service", "priority"],
    )
    yield event(
        "how many priority 2 incidents for search last 30 days",
        "incidents",
        "incidents",
        LAST_30_DAYS,
        priorities=[2],
        services=["search"],
    )
    yield event("MTTR by service last month", "incidents", "mttr_seconds", LAST_MONTH, by=["service"])
    yield event("MTTA by service last 30 days", "incidents", "mtta_seconds", LAST_30_DAYS, by=["service"])
    yield event("MTTR for P1 incidents this month", "incidents", "mttr_seconds", THIS_MONTH, priorities=[1])
    yield event(
        "mean time to acknowledge for checkout last week",
        "incidents",
        "mtta_seconds",
        LAST_WEEK,
        services=["checkout"],
    )
    yield event(
        "mean time to resolve by priority in March", "incidents", "mttr_seconds", IN_MARCH, by=["priority"]
    )
    yield event("mttr last 7 days", "incidents", "mttr_seconds", LAST_7_DAYS)
    yield event(
        "which services had the most incidents last month",
        "incidents",
        "incidents",
        LAST_MONTH,
        by=["service"],
        top=(5, True),
    )
    yield event(
        "which service had the fewest incidents last month",
        "incidents",
        "incidents",
        LAST_MONTH,
        by=["service"],
        top=(1, False),
    )
    yield event(
        "which service had the highest MTTR last month",
        "incidents",
        "mttr_seconds",
        LAST_MONTH,
        by=["service"],
        top=(1, True),
    )
    yield event(
        "top 2 services by incidents this month",
        "incidents",
        "incidents",
        THIS_MONTH,
        by=["service"],
        top=(2, True),
    )
    yield event(
        "which priority had the most incidents last week",
        "incidents",
        "incidents",
        LAST_WEEK,
        by=["priority"],
        top=(1, True),
    )
    yield event(
        "which service had the most alerts last week",
        "alerts",
        "alerts",
        LAST_WEEK,
        by=["service"],
        top=(1, True),
    )
    yield event("how many alerts yesterday", "alerts", "alerts", YESTERDAY)
    yield event("alerts by service last 7 days", "alerts", "alerts", LAST_7_DAYS, by=["service"])
    yield event(
        "which alerts fired most this month", "alerts", "alerts", THIS_MONTH, by=["alertname"], top=(5, True)
    )
    yield event("hourly alerts for search today", "alerts", "alerts", TODAY, step="hour", services=["search"])
    yield event("auto-resolved share last month", "incidents", "auto_resolved_share", LAST_MONTH)
    yield event(
        "what share of incidents were auto-resolved this month",
        "incidents",
        "auto_resolved_share",
        THIS_MONTH,
    )
    yield event(
        "percentage of incidents auto resolved by service last 30 days",
        "incidents",
        "auto_resolved_share",
        LAST_30_DAYS,
        by=["service"],
    )
    yield event(
        "how many incidents were auto-resolved last week", "incidents", "incidents", LAST_WEEK, auto_only=True
    )
    yield event(
        "which playbooks ran most last month",
        "playbook_runs",
        "playbook_runs",
        LAST_MONTH,
        by=["playbook"],
        top=(5, True),
    )
    yield event(
        "which playbook ran most this month",
        "playbook_runs",
        "playbook_runs",
        THIS_MONTH,
        by=["playbook"],
        top=(1, True),
    )
    yield event(
        "top 3 playbooks since March 1",
        "playbook_runs",
        "playbook_runs",
        (utc(2026, 3, 1), END),
        by=["playbook"],
        top=(3, True),
    )
    yield event(
        "playbooks by service last month", "playbook_runs", "playbook_runs", LAST_MONTH, by=["service"]
    )
    yield event(
        "how many incidents by playbook in March", "incidents", "incidents", IN_MARCH, by=["playbook"]
    )
    compare = (("this week", *THIS_WEEK), ("last week", *LAST_WEEK))
    yield event(
        "how many incidents this week vs last week", "incidents", "incidents", THIS_WEEK, compare=compare
    )
    compare = (("this month", *THIS_MONTH), ("last month", *LAST_MONTH))
    yield event(
        "MTTR this month compared to last month", "incidents", "mttr_seconds", THIS_MONTH, compare=compare
    )


def all_cases() -> list[dict[str, Any]]:
    groups: Sequence[Iterator[dict[str, Any]]] = (
        metric_cases(),
        peak_cases(),
        threshold_cases(),
        comparison_cases(),
        raw_edge_cases(),
        time_zone_cases(),
        event_cases(),
    )
    cases = [entry for group in groups for entry in group]
    return [{"id": number, **entry} for number, entry in enumerate(cases, start=1)]


def render() -> str:
    header = "# Generated by `python -m tests.nlq.build_questions`; do not edit by hand.\n"
    return header + yaml.safe_dump(all_cases(), sort_keys=False, allow_unicode=True, width=120)


if __name__ == "__main__":
    QUESTIONS.write_text(render(), encoding="utf-8")
    print(f"wrote {len(all_cases())} questions to {QUESTIONS}")
