"""Incidents are read and scored in pieces bounded by incidents and by alerts, so one piece never
holds the event loop for long, however large the incidents a flood left."""

from __future__ import annotations

from engine.triage import ALERTS_SCORED_AT_ONCE, SCORED_AT_ONCE, scoring_pieces


def test_small_incidents_go_scored_at_once_a_piece() -> None:
    ids = list(range(1, SCORED_AT_ONCE * 2 + 4))
    pieces = list(scoring_pieces(ids, lambda _: 1))
    assert [len(p) for p in pieces] == [SCORED_AT_ONCE, SCORED_AT_ONCE, 3]
    assert [i for p in pieces for i in p] == ids


def test_large_incidents_are_pieced_by_their_alerts() -> None:
    sizes = {1: 400, 2: 400, 3: 400, 4: ALERTS_SCORED_AT_ONCE * 3, 5: 10, 6: 10}
    pieces = list(scoring_pieces(sizes, sizes.__getitem__))
    # 1 + 2 fit; 3 would overflow; 4 alone is over the bound and is a piece of its own
    assert pieces == [[1, 2], [3], [4], [5, 6]]


def test_nothing_to_score_is_no_piece() -> None:
    assert list(scoring_pieces([], lambda _: 1)) == []
