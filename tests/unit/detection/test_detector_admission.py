"""Bad points follow the rules (ignored and counted) and never break the detector."""

from __future__ import annotations

import numpy as np

from engine.detection.detector import StreamingDetector
from engine.detection.result import PointStatus
from engine.detection.rounds import split_rounds

from .scenarios import noisy, timestamps, with_spike


def _scores_of_clean_feed(values: np.ndarray, ts: np.ndarray) -> np.ndarray:
    detector = StreamingDetector()
    return np.array([detector.update([0], [t], [v]).score[0] for t, v in zip(ts, values, strict=True)])


def test_bad_points_are_ignored_counted_and_leave_the_model_untouched() -> None:
    values, ts = with_spike()[:700], timestamps()[:700]
    clean = _scores_of_clean_feed(values, ts)

    detector = StreamingDetector()
    scores = []
    statuses = []
    for i, (t, v) in enumerate(zip(ts, values, strict=True)):
        if i in (300, 301):
            statuses.append(detector.update([0], [t], [np.nan]).status[0])
            statuses.append(detector.update([0], [t + 1], [np.inf]).status[0])
            statuses.append(detector.update([0], [np.nan], [v]).status[0])
        result = detector.update([0], [t], [v])
        scores.append(result.score[0])
        if i == 600:
            statuses.append(detector.update([0], [t - 120.0], [1e9]).status[0])  # older: ignored
            statuses.append(detector.update([0], [t], [-1e9]).status[0])  # same ts: ignored
    np.testing.assert_array_equal(np.array(scores), clean)
    assert statuses == [PointStatus.NOT_FINITE] * 6 + [PointStatus.OUT_OF_ORDER, PointStatus.DUPLICATE]
    assert detector.counters(0) == {"accepted": 700, "not_finite": 6, "out_of_order": 1, "duplicate": 1}


def test_ignored_points_have_zero_score_and_no_expectation() -> None:
    detector = StreamingDetector()
    detector.update([0], [10.0], [1.0])
    result = detector.update([0, 0, 0], [5.0, 10.0, 11.0], [1.0, 2.0, np.inf])
    assert result.status.tolist() == [PointStatus.OUT_OF_ORDER, PointStatus.DUPLICATE, PointStatus.NOT_FINITE]
    assert result.score.tolist() == [0.0, 0.0, 0.0]
    assert np.isnan(result.expected).all()


def test_batch_with_many_points_per_series_equals_one_by_one_in_time_order() -> None:
    ts = timestamps()[:400]
    a, b = noisy(11)[:400], with_spike(12)[:400]
    one_by_one = StreamingDetector()
    expected = {0: [], 1: []}
    for t, va, vb in zip(ts, a, b, strict=True):
        result = one_by_one.update([0, 1], [t, t], [va, vb])
        expected[0].append(result.score[0])
        expected[1].append(result.score[1])

    rng = np.random.default_rng(5)
    slots = np.r_[np.zeros(400, dtype=np.int64), np.ones(400, dtype=np.int64)]
    all_ts = np.r_[ts, ts]
    values = np.r_[a, b]
    shuffled = rng.permutation(800)  # arrival order inside one batch does not matter
    batched = StreamingDetector().update(slots[shuffled], all_ts[shuffled], values[shuffled])
    for slot in (0, 1):
        mine = shuffled[slots[shuffled] == slot]
        order = np.argsort(all_ts[mine])
        got = batched.score[np.flatnonzero(slots[shuffled] == slot)[order]]
        np.testing.assert_array_equal(got, np.array(expected[slot]))


def test_duplicates_inside_one_batch_keep_the_first() -> None:
    result = StreamingDetector().update([3, 3, 3], [1.0, 1.0, 2.0], [5.0, 6.0, 7.0])
    assert result.status.tolist() == [PointStatus.WARMING_UP, PointStatus.DUPLICATE, PointStatus.WARMING_UP]


def test_rounds_hold_each_series_once_in_time_order() -> None:
    slots = np.array([4, 1, 4, 4, 1])
    ts = np.array([3.0, 9.0, 1.0, 2.0, 8.0])
    rounds = split_rounds(slots, ts)
    assert [r.tolist() for r in rounds] == [[4, 2], [1, 3], [0]]
    assert split_rounds(np.empty(0, dtype=np.int64), np.empty(0)) == []


def test_empty_and_mismatched_batches() -> None:
    detector = StreamingDetector()
    assert len(detector.update([], [], [])) == 0
    try:
        detector.update([0, 1], [1.0], [1.0, 2.0])
    except ValueError:
        pass
    else:
        raise AssertionError("mismatched lengths must be refused")
