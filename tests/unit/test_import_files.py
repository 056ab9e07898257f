from datetime import UTC, datetime

import pytest

from engine.models import Priority
from integrations.import_files import ImportFileError, read_metric_points, read_past_incidents


def test_metric_csv_with_label_columns_iso_and_epoch_times() -> None:
    lines = [
        "timestamp,metric,value,host,service\n",
        "2026-11-11T10:00:00Z,cpu_usage,41.5,web-1,checkout\n",
        "1794394860,cpu_usage,42,web-2,\n",
    ]
    points = list(read_metric_points(lines))
    assert points[0].ts == datetime(2026, 11, 11, 10, tzinfo=UTC).timestamp()
    assert points[0].labels == {"host": "web-1", "service": "checkout"}
    assert points[1].labels == {"host": "web-2"}  # an empty cell is no label
    assert points[1].value == 42.0


def test_metric_json_lines() -> None:
    lines = ['{"metric": "m", "labels": {"a": "b"}, "ts": 1794394800, "value": 3}\n', "\n"]
    assert [p.value for p in read_metric_points(lines)] == [3.0]


@pytest.mark.parametrize(
    ("lines", "line", "reason"),
    [
        (["time,metric,value\n"], 1, "header"),
        (["timestamp,metric,value\n", "2026-11-11T10:00:00Z,m,1\n", "bad,m,1\n"], 3, "timestamp"),
        (["timestamp,metric,value\n", "1794394800,m,lots\n"], 2, "not a number"),
        (["timestamp,metric,value\n", "1794394800,m,nan\n"], 2, "not finite"),
        (["timestamp,metric,value\n", "1794394800,m\n"], 2, "columns"),
        (["timestamp,metric,value\n", "1794394800,9m,1\n"], 2, "metric"),
        (['{"metric": "m", "ts": 1, "value": 1}\n', "{oops\n"], 2, "invalid JSON"),
    ],
)
def test_bad_metric_lines_report_line_and_reason(lines: list[str], line: int, reason: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        list(read_metric_points(lines))
    assert caught.value.line == line
    assert reason in caught.value.reason


HEADER = "id,title,service,priority,opened_at,acknowledged_at,resolved_at,resolution,playbook\n"


def test_incident_history_csv() -> None:
    lines = [
        HEADER,
        "INC-1,Checkout 5xx,checkout,P2,2026-10-01T10:00:00Z,2026-10-01T10:04:00Z,2026-10-01T10:40:00Z,"
        "rolled back,rollback-deploy\n",
        "INC-2,Disk full,search,3,2026-10-02T10:00:00Z,,,,\n",
    ]
    history = list(read_past_incidents(lines))
    assert history[0].priority is Priority.P2 and history[0].playbook == "rollback-deploy"
    assert history[1].priority is Priority.P3 and history[1].resolved_at is None


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("INC-1,T,s,P9,2026-10-01T10:00:00Z,,,,\n", "priority"),
        ("INC-1,T,s,P1,,,,,\n", "opened_at is required"),
        (",T,s,P1,2026-10-01T10:00:00Z,,,,\n", "id is required"),
        ("INC-1,T,s,P1,2026-10-01T10:00:00Z,,2026-09-01T00:00:00Z,,\n", "before opened_at"),
        ("INC-1,T,s,P1,2026-10-01T10:00:00Z,,,,,extra\n", "more columns"),
    ],
)
def test_bad_history_rows(row: str, reason: str) -> None:
    with pytest.raises(ImportFileError) as caught:
        list(read_past_incidents([HEADER, row]))
    assert caught.value.line == 2
    assert reason in caught.value.reason


def test_history_header_must_name_the_columns() -> None:
    with pytest.raises(ImportFileError, match="header lacks"):
        list(read_past_incidents(["id,title\n"]))
