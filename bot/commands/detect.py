"""`nocbot detect`: score a recorded series offline with the service's streaming detector.

    nocbot detect --input FILE.csv --output OUT.csv [--alert-score 0.7]

Input is `timestamp,value` (the NAB format); output is `timestamp,value,anomaly_score,label` where
`anomaly_score` is the detector's debounced score in [0, 1] and `label` is 1 on the rows where the
service would have raised an anomaly alert (an episode start). Rows are judged in file order, as if
they had arrived live; NaN/inf values, rows older than an earlier row and repeated timestamps are
ignored (score 0). A malformed file is rejected with its line number and nothing is written.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from engine.detection.config import DetectorConfig
from engine.detection.offline import ScoredSeries, score_series
from engine.detection.series_csv import ParsedSeries, SeriesFormatError, parse_series_csv

COMMAND = "detect"
OUTPUT_HEADER = ("timestamp", "value", "anomaly_score", "label")


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        COMMAND,
        help="score a timestamp,value CSV with the streaming anomaly detector",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--input", required=True, type=Path, help="CSV with a timestamp,value header")
    parser.add_argument("--output", required=True, type=Path, help="where to write the scored CSV")
    parser.add_argument(
        "--alert-score",
        type=float,
        default=DetectorConfig().alert_score,
        help="score at which an alert is raised (default: %(default)s)",
    )
    return COMMAND


def run(args: argparse.Namespace) -> int:
    source: Path = args.input
    target: Path = args.output
    try:
        config = dataclasses.replace(DetectorConfig(), alert_score=args.alert_score)
    except ValueError as error:
        print(f"nocbot detect: --alert-score: {error}", file=sys.stderr)
        return 2
    try:
        with source.open(newline="", encoding="utf-8") as handle:
            series = parse_series_csv(handle)
    except SeriesFormatError as error:
        print(f"nocbot detect: {source}: {error}", file=sys.stderr)
        return 1
    except (OSError, UnicodeDecodeError) as error:
        print(f"nocbot detect: cannot read {source}: {error}", file=sys.stderr)
        return 1
    scored = score_series(series.ts, series.values, config)
    try:
        write_scored(target, series, scored)
    except OSError as error:
        print(f"nocbot detect: cannot write {target}: {error}", file=sys.stderr)
        return 1
    alerts = int(scored.alert.sum())
    print(f"scored {len(series)} rows from {source}; {alerts} alert(s); wrote {target}")
    return 0


def write_scored(target: Path, series: ParsedSeries, scored: ScoredSeries) -> None:
    """Write through a temporary file in the same directory, so a failure leaves no partial output."""
    rows = zip(
        series.timestamps, series.values.tolist(), scored.score.tolist(), scored.alert.tolist(), strict=True
    )
    with tempfile.NamedTemporaryFile(
        "w", newline="", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False
    ) as handle:
        temporary = Path(handle.name)
        try:
            writer = csv.writer(handle)
            writer.writerow(OUTPUT_HEADER)
            for stamp, value, score, alert in rows:
                writer.writerow([stamp, repr(value), f"{score:.6f}", int(alert)])
        except BaseException:
            handle.close()
            temporary.unlink(missing_ok=True)
            raise
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
