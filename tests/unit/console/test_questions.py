"""Which chart an answer gets: lines over time, bars for rankings, none for a single number."""

from __future__ import annotations

from decimal import Decimal

from bot.console.questions import answer_chart


def test_a_single_number_gets_no_chart() -> None:
    assert answer_chart("q", ["avg"], [[4.2]]) is None
    assert answer_chart("q", ["host", "note"], [["a", "x"], ["b", "y"]]) is None


def test_periods_become_lines_one_per_key() -> None:
    rows = [
        ["2026-04-06T00:00:00+00:00", "db-1", 1.0],
        ["2026-04-06T00:00:00+00:00", "db-2", 2.0],
        ["2026-04-07T00:00:00+00:00", "db-1", 3.0],
    ]
    svg = answer_chart("daily disk by host", ["period", "host", "avg"], rows)
    assert svg is not None
    assert svg.count("<polyline") == 1  # db-2 has one point: a dot, no line
    assert "db-1" in svg and "db-2" in svg and "04-06" in svg


def test_keys_become_bars() -> None:
    svg = answer_chart("top hosts", ["host", "avg"], [["web-1", Decimal("3.5")], ["web-2", 1]])
    assert svg is not None and svg.count('<rect class="bar') == 2 and "web-1" in svg
