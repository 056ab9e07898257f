"""The rows of `metric_points` (series_id bigint, ts bigint, value double precision) in PostgreSQL's
binary COPY format, built and read with numpy in one pass instead of a Python object per row:
a header, per row a field count and each field as its length and big-endian bytes, a trailer."""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = SIGNATURE + struct.pack("!ii", 0, 0)
_TRAILER = struct.pack("!h", -1)
_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("series_id_length", ">i4"),
        ("series_id", ">i8"),
        ("ts_length", ">i4"),
        ("ts", ">i8"),
        ("value_length", ">i4"),
        ("value", ">f8"),
    ]
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def encode(series_ids: Ints, stamps: Ints, values: Sequence[float] | Floats) -> bytes:
    rows = np.empty(len(series_ids), dtype=_ROW)
    rows["fields"] = 3
    rows["series_id_length"] = rows["ts_length"] = rows["value_length"] = 8
    rows["series_id"] = series_ids
    rows["ts"] = stamps
    rows["value"] = np.asarray(values, dtype=np.float64)
    return _HEADER + rows.tobytes() + _TRAILER


def decode(data: bytes) -> tuple[Ints, Ints, Floats]:
    """(series_id, ts, value) columns of a COPY ... TO STDOUT (FORMAT binary) of those three columns."""
    if not data.startswith(SIGNATURE):
        raise RuntimeError("unexpected COPY output from PostgreSQL")
    extension = int.from_bytes(data[len(SIGNATURE) + 4 : len(SIGNATURE) + 8], "big")
    offset = len(SIGNATURE) + 8 + extension
    rows = np.frombuffer(data, dtype=_ROW, count=(len(data) - offset - 2) // _ROW.itemsize, offset=offset)
    if len(rows) and not (rows["fields"] == 3).all():
        raise RuntimeError("unexpected COPY row layout from PostgreSQL")
    return rows["series_id"].astype(np.int64), rows["ts"].astype(np.int64), rows["value"].astype(np.float64)
