"""Which stretches of time a rollup run recomputes at a level: whole buckets, complete ones only.

A bucket is recomputed whole from the finer level, so a stretch touching part of a bucket widens
to all of it; a bucket still open (not before `until`) is left for the run after it closes.
Overlapping or touching stretches merge, so no bucket is read twice in a run.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.rollup.levels import Level

Span = tuple[int, int]  # [start, end) in epoch ms


def bucket_spans(level: Level, spans: Iterable[Span], until: int) -> list[Span]:
    """`spans` widened to whole buckets of `level`, cut at `until` (aligned to it), merged, sorted."""
    cut = level.floor(until)
    widened = sorted((level.floor(start), min(level.ceil(end), cut)) for start, end in spans if start < end)
    merged: list[Span] = []
    for start, end in widened:
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
