"""The quantile sketch: accuracy against exact quantiles, exact merging, compact faithful bytes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.rollup.sketch import (
    ALPHA,
    QuantileSketch,
    SketchFormatError,
    decode_bins,
    decode_many,
    encode_groups,
    keys_of,
    values_of,
)

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("q", [0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 250.0, 4e9])
def test_quantiles_are_within_alpha_of_numpy(q: float, scale: float) -> None:
    values = np.random.default_rng(3).lognormal(0, 1.2, 20_000) * scale
    estimate = QuantileSketch.from_values(values).quantile(q)
    assert estimate == pytest.approx(np.quantile(values, q), rel=ALPHA * 1.0001)


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, min_size=1, max_size=300), st.floats(min_value=0, max_value=1))
def test_every_quantile_is_within_alpha_of_the_value_at_its_rank(values: list[float], q: float) -> None:
    """Against numpy's 'lower' and 'higher' ranks the estimate is bracketed, up to alpha."""
    estimate = QuantileSketch.from_values(values).quantile(q)
    assert estimate is not None
    low = float(np.quantile(values, q, method="lower"))
    high = float(np.quantile(values, q, method="higher"))
    slack = ALPHA * max(abs(low), abs(high)) + 1e-9
    assert min(low, high) - slack <= estimate <= max(low, high) + slack


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(finite, max_size=50), min_size=1, max_size=6))
def test_merging_sketches_equals_sketching_the_union(parts: list[list[float]]) -> None:
    merged = QuantileSketch.merge(QuantileSketch.from_values(p) for p in parts)
    whole = QuantileSketch.from_values([v for p in parts for v in p])
    assert merged.keys.tolist() == whole.keys.tolist()
    assert merged.counts.tolist() == whole.counts.tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(finite, max_size=400))
def test_bytes_round_trip(values: list[float]) -> None:
    sketch = QuantileSketch.from_values(values)
    back = QuantileSketch.from_bytes(sketch.to_bytes())
    assert back.keys.tolist() == sketch.keys.tolist()
    assert back.counts.tolist() == sketch.counts.tolist()


def test_bins_hold_values_within_alpha_and_keep_their_order() -> None:
    values = np.array([-5e6, -3.0, -1e-6, 0.0, 1e-12, 1e-6, 0.3, 1.0, 7.5, 1e9])
    keys = keys_of(values)
    assert keys.tolist() == sorted(keys.tolist())
    represented = values_of(keys)
    for value, shown in zip(values, represented, strict=True):
        assert shown == pytest.approx(value, rel=ALPHA, abs=1e-9)


def test_small_buckets_serialize_compactly() -> None:
    """A 5-minute bucket of 30 ten-second points: a byte or two per point, not 16."""
    values = np.random.default_rng(1).normal(50, 10, 30)
    assert len(QuantileSketch.from_values(values).to_bytes()) <= 40


def test_encoding_many_equals_encoding_each() -> None:
    rng = np.random.default_rng(5)
    sketches = [QuantileSketch.from_values(rng.lognormal(2, 1, size)) for size in (0, 1, 2, 40, 3000)]
    sketches.append(QuantileSketch.from_values(np.concatenate([-rng.lognormal(1, 1, 50), [0.0]])))
    keys = np.concatenate([s.keys for s in sketches])
    counts = np.concatenate([s.counts for s in sketches])
    bounds = np.cumsum([0] + [len(s.keys) for s in sketches]).astype(np.int64)
    assert encode_groups(keys, counts, bounds) == [s.to_bytes() for s in sketches]


def test_bulk_decoding_equals_decoding_each() -> None:
    rng = np.random.default_rng(9)
    blobs = [QuantileSketch.from_values(rng.lognormal(3, 2, size)).to_bytes() for size in (0, 5, 80, 5000)]
    owner, keys, counts = decode_many(blobs)
    for index, blob in enumerate(blobs):
        mine = QuantileSketch.from_keys(keys[owner == index], counts[owner == index])
        theirs = QuantileSketch.from_bytes(blob)
        assert mine.keys.tolist() == theirs.keys.tolist()
        assert mine.counts.tolist() == theirs.counts.tolist()


@pytest.mark.parametrize("blob", [b"", b"\x07\x01\x00\x01", b"\x01\x05\x00\x01\x02"])
def test_garbage_is_refused(blob: bytes) -> None:
    with pytest.raises(SketchFormatError):
        decode_bins(blob)


def test_an_empty_sketch_has_no_quantile() -> None:
    assert QuantileSketch.empty().quantile(0.5) is None
    with pytest.raises(ValueError):
        QuantileSketch.from_values([1.0]).quantile(1.5)
