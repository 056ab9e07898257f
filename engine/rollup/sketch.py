"""A mergeable quantile sketch with 0.5 % relative accuracy (DDSketch-style log-bucketed counts).

Every value falls into a bin whose bounds differ by the factor GAMMA; the bin is represented by a
value within ALPHA of anything in it, so any quantile estimate is within ALPHA of the value at that
rank. Two sketches merge by adding bin counts, which is what lets the 5-minute, hourly and daily
rollups answer p95 over any range of buckets.

Bins are identified by one signed integer *key* whose order is the order of values: 0 holds values
with |x| below MIN_MAGNITUDE, positive keys hold positive values, negative keys mirror them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

ALPHA = 0.005
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
MIN_MAGNITUDE = 1e-9
# shifts log-bin indices (at least -2083 for 1e-9, at most ~71 400 for 1.8e308) above zero
_KEY_OFFSET = 1 << 17

Keys = npt.NDArray[np.int64]
Counts = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

_EMPTY_KEYS: Keys = np.zeros(0, dtype=np.int64)
_DENSE_SPAN = 1 << 20

# serialized layouts: the first byte says which
_REPEATED_KEYS = 1  # the key of every value, sorted, repeats included; no counts (small buckets)
_COUNTED_KEYS = 2  # distinct keys and a count per key (large buckets)
_WIDTHS = (1, 2, 4, 8)
_UNSIGNED = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}
_LAYOUT_BYTE = {layout: bytes([layout]) for layout in (_REPEATED_KEYS, _COUNTED_KEYS)}
_WIDTH_BYTE = {width: bytes([width]) for width in _WIDTHS}
_EMPTY_SKETCH = bytes([_REPEATED_KEYS, 0])


class SketchFormatError(ValueError):
    """The bytes are not a sketch this code wrote."""


def keys_of(values: Floats) -> Keys:
    """The bin key of each value (vectorized)."""
    values = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(values)
    keys = np.zeros(values.shape, dtype=np.int64)
    nonzero = magnitude >= MIN_MAGNITUDE
    index = np.ceil(np.log(magnitude[nonzero]) / _LOG_GAMMA).astype(np.int64) + _KEY_OFFSET
    keys[nonzero] = np.where(values[nonzero] > 0, index, -index)
    return keys


def values_of(keys: Keys) -> Floats:
    """The representative value of each bin: within ALPHA of every value the bin holds."""
    keys = np.asarray(keys, dtype=np.int64)
    index = (np.abs(keys) - _KEY_OFFSET).astype(np.float64)
    magnitude = 2.0 * np.exp(index * _LOG_GAMMA) / (GAMMA + 1.0)
    result: Floats = np.where(keys == 0, 0.0, np.sign(keys) * magnitude)
    return result


@dataclass(frozen=True, eq=False)
class QuantileSketch:
    """Sorted distinct bin keys and how many values each holds."""

    keys: Keys
    counts: Counts

    @classmethod
    def empty(cls) -> QuantileSketch:
        return cls(_EMPTY_KEYS, _EMPTY_KEYS)

    @classmethod
    def from_values(cls, values: Floats | Iterable[float]) -> QuantileSketch:
        return cls.from_keys(keys_of(np.fromiter(values, dtype=np.float64)))

    @classmethod
    def from_keys(cls, keys: Keys, counts: Counts | None = None) -> QuantileSketch:
        """Normalize any keys (unsorted, repeated) with optional counts into a sketch."""
        if counts is None:
            distinct, tally = np.unique(keys, return_counts=True)
            return cls(distinct.astype(np.int64), tally.astype(np.int64))
        if len(keys) and int(keys.max()) - int(keys.min()) < _DENSE_SPAN:
            # merging thousands of sketches: counting into a dense array beats sorting the keys
            low = int(keys.min())
            dense = np.bincount(keys - low, weights=counts)
            present = np.flatnonzero(dense)
            return cls((present + low).astype(np.int64), np.rint(dense[present]).astype(np.int64))
        distinct, position = np.unique(keys, return_inverse=True)
        summed = np.bincount(position, weights=counts, minlength=len(distinct))
        return cls(distinct.astype(np.int64), np.rint(summed).astype(np.int64))

    @classmethod
    def merge(cls, sketches: Iterable[QuantileSketch]) -> QuantileSketch:
        parts = list(sketches)
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls.from_keys(
            np.concatenate([p.keys for p in parts]), np.concatenate([p.counts for p in parts])
        )

    @property
    def count(self) -> int:
        return int(self.counts.sum())

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0 ≤ q ≤ 1), interpolated between ranks as numpy's default method does."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile {q} is not between 0 and 1")
        total = self.count
        if total == 0:
            return None
        rank = q * (total - 1)
        below, above = math.floor(rank), math.ceil(rank)
        cumulative = np.cumsum(self.counts)
        # the bin holding the value of 0-based rank r is the first whose cumulative count exceeds r
        low_key, high_key = self.keys[np.searchsorted(cumulative, [below, above], side="right")]
        low, high = values_of(np.array([low_key, high_key], dtype=np.int64))
        return float(low + (high - low) * (rank - below))

    def to_bytes(self) -> bytes:
        return encode_groups(self.keys, self.counts, np.array([0, len(self.keys)], dtype=np.int64))[0]

    @classmethod
    def from_bytes(cls, data: bytes) -> QuantileSketch:
        keys, counts = decode_bins(data)
        if counts is None:
            return cls.from_keys(keys)
        return cls(keys, counts)


def decode_bins(data: bytes) -> tuple[Keys, Counts | None]:
    """Keys (sorted; repeats allowed when counts is None) and counts, without normalizing.

    Merging many sketches only needs the raw bins: callers concatenate them and normalize once.
    """
    try:
        layout = data[0]
        n, pos = _read_varint(data, 1)
        if n == 0:
            return _EMPTY_KEYS, None
        zigzag, pos = _read_varint(data, pos)
        first = (zigzag >> 1) ^ -(zigzag & 1)
        width = data[pos]
        pos += 1
        deltas = np.frombuffer(data, dtype=_UNSIGNED[width], count=n - 1, offset=pos).astype(np.int64)
        pos += width * (n - 1)
        keys = np.empty(n, dtype=np.int64)
        keys[0] = first
        np.cumsum(deltas, out=keys[1:])
        keys[1:] += first
        if layout == _REPEATED_KEYS:
            return keys, None
        if layout != _COUNTED_KEYS:
            raise SketchFormatError(f"unknown sketch layout {layout}")
        width = data[pos]
        counts = np.frombuffer(data, dtype=_UNSIGNED[width], count=n, offset=pos + 1).astype(np.int64)
        return keys, counts
    except (IndexError, KeyError, ValueError) as exc:
        raise SketchFormatError(f"not a quantile sketch: {exc}") from None


def decode_many(blobs: Sequence[bytes]) -> tuple[Keys, Keys, Counts]:
    """The bins of many sketches as three aligned arrays: owner (index into `blobs`), key, count.

    Bins come in no particular order and may repeat a key; merging sorts once for all of them.
    Only the headers are read one by one: the payloads of all sketches with the same field widths
    are joined and decoded in one go (one buffer, one cumulative sum).
    """
    batches: dict[tuple[int, int], _Batch] = {}
    for owner, data in enumerate(blobs):
        try:
            n, pos = _read_varint(data, 1)
            if n == 0:
                continue
            zigzag, pos = _read_varint(data, pos)
            layout, delta_width = data[0], data[pos]
            end = pos + 1 + delta_width * (n - 1)
            count_width = 0 if layout == _REPEATED_KEYS else data[end]
            if layout not in _LAYOUT_BYTE or delta_width not in _UNSIGNED or count_width not in (0, *_WIDTHS):
                raise SketchFormatError(
                    f"not a quantile sketch: layout {layout}, widths {delta_width}/{count_width}"
                )
        except IndexError:
            raise SketchFormatError("not a quantile sketch: truncated") from None
        batch = batches.setdefault((delta_width, count_width), _Batch())
        batch.owners.append(owner)
        batch.firsts.append((zigzag >> 1) ^ -(zigzag & 1))
        batch.sizes.append(n)
        # a zero delta in front of each sketch's deltas lets one cumsum serve them all
        batch.deltas += (bytes(delta_width), data[pos + 1 : end])
        if count_width:
            batch.counts.append(data[end + 1 : end + 1 + count_width * n])
    parts = [batch.decode(*widths) for widths, batch in batches.items()]
    if not parts:
        return _EMPTY_KEYS, _EMPTY_KEYS, _EMPTY_KEYS
    return (
        np.concatenate([part[0] for part in parts]),
        np.concatenate([part[1] for part in parts]),
        np.concatenate([part[2] for part in parts]),
    )


class _Batch:
    """The sketches of one decode_many call that share their field widths."""

    def __init__(self) -> None:
        self.owners: list[int] = []
        self.firsts: list[int] = []
        self.sizes: list[int] = []
        self.deltas: list[bytes] = []
        self.counts: list[bytes] = []

    def decode(self, delta_width: int, count_width: int) -> tuple[Keys, Keys, Counts]:
        sizes = np.array(self.sizes, dtype=np.int64)
        total = int(sizes.sum())
        steps = np.frombuffer(b"".join(self.deltas), dtype=_UNSIGNED[delta_width]).astype(np.int64)
        counts = (
            np.frombuffer(b"".join(self.counts), dtype=_UNSIGNED[count_width]).astype(np.int64)
            if count_width
            else np.ones(total, dtype=np.int64)
        )
        if len(steps) != total or len(counts) != total:
            raise SketchFormatError("not a quantile sketch: truncated")
        running = np.cumsum(steps)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        offset = np.repeat(np.array(self.firsts, dtype=np.int64) - running[starts], sizes)
        return np.repeat(np.array(self.owners, dtype=np.int64), sizes), running + offset, counts


def encode_groups(keys: Keys, counts: Counts, bounds: Keys) -> list[bytes]:
    """Serialize many sketches at once; sketch g's bins are keys[bounds[g]:bounds[g+1]], sorted.

    The rollup writes hundreds of thousands of small sketches per run: doing the arithmetic for all
    of them in a few array operations leaves only the byte slicing per sketch.
    """
    bins = np.diff(bounds)
    firsts = bounds[:-1]
    occupied = bins > 0
    totals = np.zeros(len(bins), dtype=np.int64)
    totals[occupied] = np.add.reduceat(counts, firsts[occupied]) if len(keys) else 0
    # few values per bin: listing every value's key (deltas of 0 for repeats) is smaller than counts
    repeated = totals <= 2 * bins
    entries = np.repeat(keys, np.where(np.repeat(repeated, bins), counts, 1))
    entry_bounds = np.concatenate([[0], np.cumsum(np.where(repeated, totals, bins))]).astype(np.int64)
    first_keys = np.zeros(len(bins), dtype=np.int64)
    first_keys[occupied] = entries[entry_bounds[:-1][occupied]]
    deltas = np.diff(entries, prepend=entries[:1])
    deltas[entry_bounds[:-1][occupied]] = 0  # a sketch's first key is written whole, not as a delta
    delta_width = _widths(deltas, entry_bounds)
    count_width = _widths(counts, bounds)
    delta_bytes = {w: deltas.astype(_UNSIGNED[w]).tobytes() for w in set(delta_width.tolist())}
    count_bytes = {w: counts.astype(_UNSIGNED[w]).tobytes() for w in set(count_width.tolist())}
    out: list[bytes] = []
    for lo, hi, b_lo, b_hi, first, dw, cw, is_repeated in zip(
        entry_bounds[:-1].tolist(),
        entry_bounds[1:].tolist(),
        bounds[:-1].tolist(),
        bounds[1:].tolist(),
        first_keys.tolist(),
        delta_width.tolist(),
        count_width.tolist(),
        repeated.tolist(),
        strict=True,
    ):
        if hi == lo:
            out.append(_EMPTY_SKETCH)
            continue
        parts = [
            _LAYOUT_BYTE[_REPEATED_KEYS if is_repeated else _COUNTED_KEYS],
            _varint(hi - lo),
            _varint((first << 1) ^ (first >> 63)),
            _WIDTH_BYTE[dw],
            delta_bytes[dw][dw * (lo + 1) : dw * hi],
        ]
        if not is_repeated:
            parts += [_WIDTH_BYTE[cw], count_bytes[cw][cw * b_lo : cw * b_hi]]
        out.append(b"".join(parts))
    return out


def _widths(values: Keys, bounds: Keys) -> Keys:
    """Per slice of `values`, the narrowest unsigned width (bytes) that holds its largest value."""
    largest = np.zeros(len(bounds) - 1, dtype=np.int64)
    occupied = np.diff(bounds) > 0
    if occupied.any():
        largest[occupied] = np.maximum.reduceat(values, bounds[:-1][occupied])
    width = np.full(len(largest), 8, dtype=np.int64)
    for w in reversed(_WIDTHS[:-1]):
        width[largest < 1 << (8 * w)] = w
    return width


@lru_cache(maxsize=1 << 16)
def _varint(value: int) -> bytes:
    # cached: bin counts and first keys repeat across the many sketches of one rollup run
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    if byte < 0x80:  # the common case: one byte
        return byte, pos + 1
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
