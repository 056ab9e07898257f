"""What the detector raises (and does not) on planted anomalies."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from engine.detection.detector import StreamingDetector
from engine.detection.result import DetectionResult, EpisodeEvent, PointStatus

from .scenarios import EVENT_AT, POINTS, flat, noisy, timestamps, with_drift, with_level_shift, with_spike

SCENARIOS = {
    "flat": flat(),
    "noisy": noisy(),
    "spike": with_spike(),
    "shift": with_level_shift(),
    "drift": with_drift(),
}


@pytest.fixture(scope="module")
def results() -> dict[str, DetectionResult]:
    """All scenarios side by side in one detector, one point per series per update (live-like)."""
    detector = StreamingDetector()
    names = list(SCENARIOS)
    slots = np.arange(len(names))
    ts = timestamps()
    rows: list[DetectionResult] = []
    for i in range(POINTS):
        rows.append(detector.update(slots, np.full(len(names), ts[i]), [SCENARIOS[n][i] for n in names]))
    return {name: _column(rows, k) for k, name in enumerate(names)}


def _column(rows: list[DetectionResult], k: int) -> DetectionResult:
    def pick(field: str) -> npt.NDArray[np.generic]:
        return np.array([getattr(r, field)[k] for r in rows])

    return DetectionResult(
        slots=pick("slots"),
        ts=pick("ts"),
        values=pick("values"),
        score=pick("score"),
        alert_score=pick("alert_score"),
        is_anomaly=pick("is_anomaly"),
        expected=pick("expected"),
        expected_low=pick("expected_low"),
        expected_high=pick("expected_high"),
        status=pick("status"),
        event=pick("event"),
    )


def started(result: DetectionResult) -> npt.NDArray[np.int64]:
    return np.flatnonzero(result.event == EpisodeEvent.STARTED)


def test_flat_series_raises_nothing(results: dict[str, DetectionResult]) -> None:
    result = results["flat"]
    assert started(result).size == 0
    assert float(result.score.max()) == 0.0


def test_noise_without_anomaly_raises_nothing(results: dict[str, DetectionResult]) -> None:
    assert started(results["noisy"]).size == 0


def test_young_series_is_warming_up_not_scored(results: dict[str, DetectionResult]) -> None:
    status = results["noisy"].status
    assert status[0] == PointStatus.WARMING_UP
    assert status[-1] == PointStatus.SCORED


@pytest.mark.parametrize(("name", "within"), [("spike", 1), ("shift", 3), ("drift", 300)])
def test_planted_anomaly_starts_an_episode(
    results: dict[str, DetectionResult], name: str, within: int
) -> None:
    events = started(results[name])
    assert events.size >= 1
    assert EVENT_AT <= events[0] < EVENT_AT + within
    assert not (events < EVENT_AT).any(), "alerted before the anomaly was planted"


def test_spike_is_reported_with_its_expected_range(results: dict[str, DetectionResult]) -> None:
    result = results["spike"]
    assert result.is_anomaly[EVENT_AT]
    assert result.expected_low[EVENT_AT] < 100.0 < result.expected_high[EVENT_AT]
    assert result.values[EVENT_AT] > result.expected_high[EVENT_AT]
    assert 0.0 < result.score[EVENT_AT] <= 1.0


def test_episode_ends_once_the_series_is_normal_again(results: dict[str, DetectionResult]) -> None:
    result = results["spike"]
    ended = np.flatnonzero(result.event == EpisodeEvent.ENDED)
    assert ended.size >= 1 and EVENT_AT < ended[0] < EVENT_AT + 50


def test_one_alert_per_episode_for_a_lasting_shift(results: dict[str, DetectionResult]) -> None:
    assert started(results["shift"]).size == 1


def test_events_carry_what_an_alert_needs(results: dict[str, DetectionResult]) -> None:
    result = results["spike"]
    events = result.events()
    assert [e.kind for e in events] == [EpisodeEvent.STARTED, EpisodeEvent.ENDED]
    start = events[0]
    assert (start.slot, start.ts, start.value) == (2, timestamps()[EVENT_AT], result.values[EVENT_AT])
    assert start.expected_low < start.expected < start.expected_high < start.value
    assert start.score >= 0.7
    assert events[1].ts > start.ts
