"""Durations as responders type them, and the compact form the action layer receives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.actions import MAX_SILENCE, MIN_SILENCE, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90m", 90),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("2 hours", 120),
        ("1d 4h", 1680),
        ("45 mins", 45),
        ("1H", 60),
    ],
)
def test_durations_people_type(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "h", "2", "soon", "30s", "1h foo", "-1h", "1.5h", "0m", "367d"])
def test_what_is_not_a_usable_duration(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@given(st.integers(int(MIN_SILENCE.total_seconds()) // 60, int(MAX_SILENCE.total_seconds()) // 60))
def test_the_compact_form_reads_back(minutes: int) -> None:
    duration = timedelta(minutes=minutes)
    assert parse_duration(format_duration(duration)) == duration


def test_presets_keep_their_names() -> None:
    assert format_duration(timedelta(hours=1)) == "1h"
    assert format_duration(timedelta(hours=4)) == "4h"
