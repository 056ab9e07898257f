import json
from datetime import UTC, datetime, timedelta

import pytest

from integrations.recordings import RecordingError, read_recording, shift


def am_line(start: str, status: str = "firing", end: str = "0001-01-01T00:00:00Z", name: str = "A") -> str:
    return json.dumps(
        {"status": status, "labels": {"alertname": name}, "annotations": {}, "startsAt": start, "endsAt": end}
    )


def test_alert_lines_group_into_webhooks_by_delivery_time() -> None:
    lines = [
        am_line("2026-11-11T00:00:00Z", name="A"),
        am_line("2026-11-11T00:00:00Z", name="B"),
        am_line("2026-11-11T00:00:00Z", name="A"),  # re-delivery keeps its startsAt
        am_line("2026-11-11T00:01:00Z", name="C"),
        am_line("2026-11-11T00:00:00Z", status="resolved", end="2026-11-11T00:02:00Z", name="A"),
    ]
    events = list(read_recording(lines))
    assert [e.items() for e in events] == [3, 1, 1]
    assert [e.at.minute for e in events] == [0, 1, 2]
    assert events[2].line == 5


def test_nocbot_events_and_shift_moves_times_inside_bodies() -> None:
    line = json.dumps(
        {
            "at": "2026-11-11T00:00:00Z",
            "kind": "metrics",
            "body": [{"metric": "m", "ts": 1794355200, "value": 1}],
        }
    )
    change = json.dumps(
        {
            "at": "2026-11-11T00:05:00Z",
            "kind": "changes",
            "body": {"service": "s", "who": "w", "what": "x", "at": "2026-11-11T00:05:00Z"},
        }
    )
    events = list(read_recording([line, change]))
    moved = [shift(e, timedelta(days=1)) for e in events]
    assert moved[0].body[0]["ts"] == 1794355200 + 86400
    assert moved[1].body["at"] == "2026-11-12T00:05:00Z"
    assert moved[1].at == datetime(2026, 11, 12, 0, 5, tzinfo=UTC)
    assert events[0].body[0]["ts"] == 1794355200  # the original is untouched


@pytest.mark.parametrize(
    "line",
    ['{"kind": "bogus", "at": 1, "body": {}}', '{"hello": 1}', "[1]", "{nope", '{"kind": "alerts", "at": 1}'],
)
def test_bad_lines_name_the_line(line: str) -> None:
    with pytest.raises(RecordingError) as caught:
        list(read_recording([am_line("2026-11-11T00:00:00Z"), line]))
    assert caught.value.line == 2
