"""Which points a replica detects itself: held partitions, once caught up, while the lease holds."""

from __future__ import annotations

import numpy as np

from engine.detector_ownership import Ownership


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_taken_partition_is_detected_here_only_once_caught_up() -> None:
    ownership = Ownership(count=4, monotonic=Clock())
    series = np.array([1, 2, 5, 6], dtype=np.int64)  # partitions 1, 2, 1, 2
    gained, lost = ownership.renewed([], [1], valid_until=10.0)
    assert (gained, lost) == (frozenset({1}), frozenset())
    assert not ownership.inline_mask(series).any()  # catching up: its points wait in the inbox
    ownership.caught_up([1, 2])  # 2 is not held: stays elsewhere
    assert ownership.inline_mask(series).tolist() == [True, False, True, False]
    # renewed in time: stays inline, nothing to reload
    assert ownership.renewed([1], [], valid_until=20.0) == (frozenset(), frozenset())
    assert ownership.inline_mask(series).tolist() == [True, False, True, False]


def test_a_lapsed_lease_detects_nothing_until_renewed_and_caught_up() -> None:
    clock = Clock()
    ownership = Ownership(count=4, monotonic=clock)
    ownership.renewed([], [0, 1], valid_until=10.0)
    ownership.caught_up([0, 1])
    clock.now = 10.0
    assert ownership.held == frozenset()
    assert not ownership.inline_mask(np.array([0, 1], dtype=np.int64)).any()
    # 1 was kept (nobody took it: no state to reload), 0 went to another replica meanwhile
    gained, lost = ownership.renewed([1], [], valid_until=20.0)
    assert (gained, lost) == (frozenset(), frozenset({0}))
    # points of 1 were handed over while the lease had lapsed here: they come first
    assert ownership.catching_up() == frozenset({1})


def test_dropped_partitions_stop_at_once() -> None:
    ownership = Ownership(count=4, monotonic=Clock())
    ownership.renewed([], [0, 1, 2, 3], valid_until=10.0)
    ownership.caught_up(range(4))
    ownership.drop([2, 3])
    assert ownership.held == frozenset({0, 1})
    assert ownership.inline_mask(np.array([0, 1, 2, 3], dtype=np.int64)).tolist() == [
        True,
        True,
        False,
        False,
    ]
