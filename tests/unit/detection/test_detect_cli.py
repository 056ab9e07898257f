"""`nocbot detect`: CSV in, scored CSV out; bad input refused with its line number."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest

from bot.commands import detect

from .scenarios import EVENT_AT, timestamps, with_spike


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nocbot")
    subparsers = parser.add_subparsers(dest="command")
    assert detect.add_parser(subparsers) == "detect"
    return detect.run(parser.parse_args(argv))


def test_round_trip_small_csv(tmp_path: Path) -> None:
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    values = with_spike()[:1250]
    stamps = [
        np.datetime_as_string(np.datetime64(int(t), "s")).replace("T", " ") for t in timestamps()[:1250]
    ]
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "value"])
        writer.writerows(zip(stamps, values.tolist(), strict=True))

    assert _run(["detect", "--input", str(source), "--output", str(target)]) == 0

    with target.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["timestamp", "value", "anomaly_score", "label"]
    body = rows[1:]
    assert [r[0] for r in body] == stamps
    assert [float(r[1]) for r in body] == values.tolist()
    scores = np.array([float(r[2]) for r in body])
    labels = np.array([int(r[3]) for r in body])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert np.flatnonzero(labels).tolist() == [EVENT_AT]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        ("timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,abc\n", 3, "not a number"),
        ("timestamp,value\n2024-01-01 00:00:00,1\nyesterday,2\n", 3, "timestamp"),
        ("timestamp,value\n2024-01-01 00:00:00,1,7\n", 2, "expected 2 fields"),
        ("time,val\n2024-01-01 00:00:00,1\n", 1, "header"),
        ("", 1, "empty"),
    ],
)
def test_bad_csv_is_refused_with_line_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, line: int, reason: str
) -> None:
    source, target = tmp_path / "bad.csv", tmp_path / "out.csv"
    source.write_text(content)
    assert _run(["detect", "--input", str(source), "--output", str(target)]) != 0
    error = capsys.readouterr().err
    assert f"line {line}:" in error and reason in error
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [source]


def test_missing_input_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["detect", "--input", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.csv")]) != 0
    assert "cannot read" in capsys.readouterr().err
