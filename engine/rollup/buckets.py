"""Summarizing points into buckets, and buckets into coarser buckets, as columns (numpy).

A bucket row is (series, bucket start, count, sum, min, max, sketch). Both functions compute every
bucket they are given data for *from scratch*, which is what makes a rollup run idempotent: the
caller passes all of a bucket's source rows, and the result replaces whatever was stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.rollup.levels import Level
from engine.rollup.sketch import Counts, Keys, decode_many, encode_groups, keys_of

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class BucketRows:
    """Rollup rows as columns; `bucket` is the bucket start in epoch seconds (the stored unit)."""

    series_id: Ints
    bucket: Ints
    count: Ints
    sum: Floats
    min: Floats
    max: Floats
    sketch: list[bytes]

    def __len__(self) -> int:
        return len(self.bucket)

    def tuples(self) -> Iterator[tuple[int, int, int, float, float, float, bytes]]:
        """(series_id, bucket, count, sum, min, max, sketch) per row, as Python values."""
        return zip(
            self.series_id.tolist(),
            self.bucket.tolist(),
            self.count.tolist(),
            self.sum.tolist(),
            self.min.tolist(),
            self.max.tolist(),
            self.sketch,
            strict=True,
        )


def summarize_points(series_id: Ints, ts_ms: Ints, value: Floats, level: Level) -> BucketRows:
    """One row per (series, bucket of `level`) that has points; every point counts once."""
    series_id = np.asarray(series_id, dtype=np.int64)
    value = np.asarray(value, dtype=np.float64)
    bucket = np.asarray(ts_ms, dtype=np.int64) // level.width_ms * level.width_s
    order = np.lexsort((bucket, series_id))
    series_id, bucket, value = series_id[order], bucket[order], value[order]
    starts = _group_starts(series_id, bucket)
    if not len(starts):
        return _empty()
    sizes = np.diff(np.append(starts, len(value)))
    group = np.repeat(np.arange(len(starts)), sizes)
    return BucketRows(
        series_id=series_id[starts],
        bucket=bucket[starts],
        count=sizes.astype(np.int64),
        sum=np.add.reduceat(value, starts),
        min=np.minimum.reduceat(value, starts),
        max=np.maximum.reduceat(value, starts),
        sketch=_sketches(group, keys_of(value), np.ones(len(value), dtype=np.int64), len(starts)),
    )


def merge_buckets(rows: BucketRows, level: Level) -> BucketRows:
    """Merge finer rows into the buckets of `level` (counts and sums add, sketches merge)."""
    series_id = rows.series_id
    bucket = rows.bucket // level.width_s * level.width_s
    order = np.lexsort((bucket, series_id))
    series_id, bucket = series_id[order], bucket[order]
    starts = _group_starts(series_id, bucket)
    if not len(starts):
        return _empty()
    sizes = np.diff(np.append(starts, len(bucket)))
    group_of_position = np.empty(len(order), dtype=np.int64)
    group_of_position[order] = np.repeat(np.arange(len(starts)), sizes)
    owner, keys, counts = decode_many(rows.sketch)
    return BucketRows(
        series_id=series_id[starts],
        bucket=bucket[starts],
        count=np.add.reduceat(rows.count[order], starts),
        sum=np.add.reduceat(rows.sum[order], starts),
        min=np.minimum.reduceat(rows.min[order], starts),
        max=np.maximum.reduceat(rows.max[order], starts),
        sketch=_sketches(group_of_position[owner], keys, counts, len(starts)),
    )


def _group_starts(series_id: Ints, bucket: Ints) -> Ints:
    """Indices where a new (series, bucket) run begins in arrays sorted by both."""
    if not len(series_id):
        return np.zeros(0, dtype=np.int64)
    change = (series_id[1:] != series_id[:-1]) | (bucket[1:] != bucket[:-1])
    return np.concatenate([[0], np.flatnonzero(change) + 1]).astype(np.int64)


def _sketches(group: Ints, keys: Keys, counts: Counts, n_groups: int) -> list[bytes]:
    """One serialized sketch per group from (group, key, count) triples, in one sort."""
    order = np.lexsort((keys, group))
    group, keys, counts = group[order], keys[order], counts[order]
    distinct = np.concatenate([[True], (group[1:] != group[:-1]) | (keys[1:] != keys[:-1])])
    starts = np.flatnonzero(distinct)
    bin_group, bin_key = group[starts], keys[starts]
    bin_count = np.add.reduceat(counts, starts) if len(starts) else counts
    bounds = np.searchsorted(bin_group, np.arange(n_groups + 1)).astype(np.int64)
    return encode_groups(bin_key, bin_count, bounds)


def _empty() -> BucketRows:
    none_i = np.zeros(0, dtype=np.int64)
    none_f = np.zeros(0, dtype=np.float64)
    return BucketRows(none_i, none_i, none_i, none_f, none_f, none_f, [])
