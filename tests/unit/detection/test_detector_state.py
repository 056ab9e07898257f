"""Restarting from serialized state continues exactly where the uninterrupted detector would be."""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import zlib
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from engine.detection import state_codec
from engine.detection.config import DetectorConfig
from engine.detection.detector import StreamingDetector

from .scenarios import noisy, timestamps

POINTS = 1000
SPLIT = 700
SPIKE_AT = 850


def _series() -> list[npt.NDArray[np.float64]]:
    spiky = noisy(8)[:POINTS].copy()
    spiky[SPIKE_AT] += 60.0
    return [spiky, noisy(7)[:POINTS]]


def _feed(
    detector: StreamingDetector,
    series: list[npt.NDArray[np.float64]],
    slots: list[int],
    start: int,
    stop: int,
) -> npt.NDArray[np.float64]:
    ts = timestamps()
    rows = []
    for i in range(start, stop):
        result = detector.update(slots, np.full(len(slots), ts[i]), [s[i] for s in series])
        rows.append(np.c_[result.score, result.alert_score, result.expected, result.event])
    return np.array(rows)


@pytest.fixture(scope="module")
def straight() -> tuple[npt.NDArray[np.float64], bytes]:
    """The uninterrupted run's second part, and the detector's state at the split."""
    detector = StreamingDetector()
    _feed(detector, _series(), [0, 1], 0, SPLIT)
    at_split = detector.to_bytes()
    return _feed(detector, _series(), [0, 1], SPLIT, POINTS), at_split


def test_whole_detector_round_trip_resumes_identically(
    straight: tuple[npt.NDArray[np.float64], bytes],
) -> None:
    expected, at_split = straight
    resumed = _feed(StreamingDetector.from_bytes(at_split), _series(), [0, 1], SPLIT, POINTS)
    np.testing.assert_array_equal(resumed, expected)
    assert (resumed[:, 0, 3] != 0).any(), "the resumed part should contain the planted spike's episode"


def test_one_series_state_moves_to_another_detector_and_slot(
    straight: tuple[npt.NDArray[np.float64], bytes],
) -> None:
    expected, at_split = straight
    target = StreamingDetector(capacity=8)
    target.load_series_state(5, StreamingDetector.from_bytes(at_split).series_state(0))
    resumed = _feed(target, _series()[:1], [5], SPLIT, POINTS)
    np.testing.assert_array_equal(resumed[:, 0], expected[:, 0])
    assert target.counters(5) == {"accepted": POINTS, "not_finite": 0, "out_of_order": 0, "duplicate": 0}


def test_series_state_is_small(straight: tuple[npt.NDArray[np.float64], bytes]) -> None:
    _, at_split = straight
    assert len(StreamingDetector.from_bytes(at_split).series_state(0)) < 16_000


def test_state_from_another_configuration_is_refused() -> None:
    blob = StreamingDetector(capacity=1).series_state(0)
    other = StreamingDetector(DetectorConfig(day_bins=24), capacity=1)
    with pytest.raises(ValueError, match="configuration"):
        other.load_series_state(0, blob)


def test_garbage_state_is_refused() -> None:
    with pytest.raises(ValueError):
        StreamingDetector.from_bytes(b"not a state")


def test_reset_forgets_a_series() -> None:
    detector = StreamingDetector()
    _feed(detector, _series(), [0, 1], 0, 100)
    detector.reset([0])
    assert detector.counters(0)["accepted"] == 0
    assert detector.counters(1)["accepted"] == 100


def _first_format(detector: StreamingDetector, slot: int) -> bytes:
    """A series state as releases before the compact format wrote it (an .npz archive)."""
    meta = {"format": 1, "capacity": 1, "config": dataclasses.asdict(detector.config)}
    payload = dict(detector.series_snapshot(slot))
    payload["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **payload)
    return buffer.getvalue()


def test_state_saved_by_an_earlier_release_still_loads(
    straight: tuple[npt.NDArray[np.float64], bytes],
) -> None:
    expected, at_split = straight
    target = StreamingDetector(capacity=1)
    target.load_series_state(0, _first_format(StreamingDetector.from_bytes(at_split), 0))
    resumed = _feed(target, _series()[:1], [0], SPLIT, POINTS)
    np.testing.assert_array_equal(resumed[:, 0], expected[:, 0])


def _with_header(header: dict[str, object], body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return state_codec.MAGIC + zlib.compress(struct.pack("<I", len(text)) + text + body)


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[:-3],  # cut short
        lambda blob: blob[:8] + bytes(len(blob) - 8),  # zeroed
        lambda blob: state_codec.MAGIC + zlib.compress(zlib.decompress(blob[4:])[:-8]),  # a short body
        lambda blob: state_codec.MAGIC + zlib.compress(zlib.decompress(blob[4:]) + b"\0"),  # a long one
        lambda _: _with_header({"capacity": 1, "config": {}, "arrays": [["x", "|O", []]]}, bytes(8)),
        lambda _: _with_header({"capacity": 1, "config": {}, "arrays": [["x", "<f8", [-1]]]}, b""),
        lambda _: _with_header({"capacity": 1, "config": {"nope": 1}, "arrays": []}, b""),
        lambda _: _with_header({"capacity": -1, "config": {}, "arrays": []}, b""),
        lambda _: _with_header({"capacity": float("inf"), "config": {}, "arrays": []}, b""),  # Infinity
        lambda _: (
            state_codec.MAGIC + zlib.compress(struct.pack("<I", 200_001) + b"[" * 100_000 + b"]" * 100_001)
        ),
        lambda _: state_codec.MAGIC + zlib.compress(bytes(64 << 20)),  # inflates past a series' limit
        lambda blob: b"PK" + blob[2:],  # not a zip archive
        lambda _: _first_format_damaged(),
    ],
)
def test_damaged_state_is_refused_not_misread(damage: Callable[[bytes], bytes]) -> None:
    blob = StreamingDetector(capacity=1).series_state(0)
    with pytest.raises(ValueError):
        StreamingDetector(capacity=1).load_series_state(0, damage(blob))


def test_a_batch_of_snapshots_encodes_as_each_series_alone(
    straight: tuple[npt.NDArray[np.float64], bytes],
) -> None:
    _, at_split = straight
    detector = StreamingDetector.from_bytes(at_split)
    rows = detector.encode_series_rows(detector.series_snapshots([1, 0]))
    assert rows == [detector.series_state(1), detector.series_state(0)]


def _first_format_damaged() -> bytes:
    blob = bytearray(_first_format(StreamingDetector(capacity=1), 0))
    blob[len(blob) // 2 : len(blob) // 2 + 40] = bytes(40)
    return bytes(blob)
