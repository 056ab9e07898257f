"""The stretches a rollup run recomputes: whole buckets, complete ones, each once."""

from __future__ import annotations

from engine.rollup.levels import Level
from engine.rollup.spans import bucket_spans

M = 60_000  # a minute in ms


def test_a_stretch_widens_to_whole_buckets_and_stops_at_the_last_complete_one() -> None:
    assert bucket_spans(Level.M5, [(7 * M, 23 * M)], until=22 * M) == [(5 * M, 20 * M)]


def test_overlapping_and_touching_stretches_merge_so_no_bucket_is_read_twice() -> None:
    spans = [(31 * M, 32 * M), (0, 4 * M), (3 * M, 6 * M), (10 * M, 12 * M)]
    assert bucket_spans(Level.M5, spans, until=60 * M) == [(0, 15 * M), (30 * M, 35 * M)]


def test_nothing_complete_or_empty_stretches_give_nothing() -> None:
    assert bucket_spans(Level.M5, [(20 * M, 21 * M)], until=24 * M) == []
    assert bucket_spans(Level.M5, [(9 * M, 9 * M), (12 * M, 10 * M)], until=60 * M) == []
    assert bucket_spans(Level.H1, [(0, 59 * M)], until=59 * M) == []
