"""Reading a `timestamp,value` series (the NAB file format) from text, strictly.

Pure: takes lines, returns arrays, raises `SeriesFormatError(line, reason)` on the first bad row so
a caller can refuse the whole file before writing anything.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

EXPECTED_HEADER = ("timestamp", "value")


class SeriesFormatError(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParsedSeries:
    """Rows in file order; `timestamps` keeps the original spelling so output can echo it."""

    timestamps: tuple[str, ...]
    ts: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.timestamps)


def parse_timestamp(text: str) -> float:
    """Epoch seconds from ISO 8601 (naive means UTC) or from a plain number of epoch seconds."""
    stripped = text.strip()
    try:
        seconds = float(stripped)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"timestamp {text!r} is not finite")
        return seconds
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is neither ISO 8601 nor epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_value(text: str) -> float:
    """A float; NaN and ±inf are accepted here (the detector ignores and counts them)."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("value is empty")
    try:
        return float(stripped)
    except ValueError:
        raise ValueError(f"value {text!r} is not a number") from None


def parse_series_csv(lines: Iterable[str]) -> ParsedSeries:
    reader = csv.reader(lines)
    header: list[str] | None = None
    stamps: list[str] = []
    seconds: list[float] = []
    values: list[float] = []
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            if tuple(header) != EXPECTED_HEADER:
                raise SeriesFormatError(line, f"header must be 'timestamp,value', got {','.join(row)!r}")
            continue
        if len(row) != len(EXPECTED_HEADER):
            raise SeriesFormatError(line, f"expected 2 fields, got {len(row)}")
        try:
            seconds.append(parse_timestamp(row[0]))
            values.append(parse_value(row[1]))
        except ValueError as error:
            raise SeriesFormatError(line, str(error)) from None
        stamps.append(row[0].strip())
    if header is None:
        raise SeriesFormatError(1, "file is empty; expected a 'timestamp,value' header")
    return ParsedSeries(
        timestamps=tuple(stamps),
        ts=np.asarray(seconds, dtype=np.float64),
        values=np.asarray(values, dtype=np.float64),
    )
