"""Numenta Anomaly Benchmark on the corpus subset in ../shared/data/nab, scored as NAB scores.

    .venv/bin/python benchmarks/nab.py [--data DIR] [--details]

Every CSV is scored by the offline runner (the service's streaming detector, point by point, no
look-ahead) with one configuration for all files. The NAB method (see the corpus README) is then
applied: probation, scaled-sigmoid window weights, one threshold per profile chosen to maximize the
corpus total, and normalization between the null and the perfect detector.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from engine.detection.config import DetectorConfig
from engine.detection.offline import ScoredSeries, score_many
from engine.detection.series_csv import ParsedSeries, parse_series_csv, parse_timestamp

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "nab"

PROBATION_FRACTION = 0.15
PROBATION_MAX_ROWS = 0.15 * 5000


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    tp: float
    fn: float
    fp: float


def load_profiles(path: Path) -> list[Profile]:
    raw = json.loads(path.read_text())
    return [
        Profile(name, m["CostMatrix"]["tpWeight"], m["CostMatrix"]["fnWeight"], m["CostMatrix"]["fpWeight"])
        for name, m in raw.items()
    ]


def scaled_sigmoid(y: float) -> float:
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


@dataclass(frozen=True, slots=True)
class FileLayout:
    """Where each row of one file stands for NAB, independent of any detector.

    `window` is the window number within the corpus (-1 outside windows); `position` the unweighted
    scaled-sigmoid value of a detection at that row (already divided by f(-1) inside windows).
    """

    name: str
    scorable: npt.NDArray[np.bool_]
    window: npt.NDArray[np.int64]
    position: npt.NDArray[np.float64]


def layout_file(
    name: str, ts: npt.NDArray[np.float64], windows: Sequence[tuple[float, float]], first_window_id: int
) -> FileLayout:
    rows = len(ts)
    probation = min(math.floor(PROBATION_FRACTION * rows), PROBATION_MAX_ROWS)
    window = np.full(rows, -1, dtype=np.int64)
    position = np.full(rows, -1.0)  # before the first window a detection is "far" from any
    max_tp = scaled_sigmoid(-1.0)
    spans = []
    for number, (start, end) in enumerate(sorted(windows)):
        inside = np.flatnonzero((ts >= start) & (ts <= end))
        spans.append((int(inside[0]), int(inside[-1])))
        window[inside[0] : inside[-1] + 1] = first_window_id + number
    for number, (left, right) in enumerate(spans):
        width = right - left + 1
        for i in range(left, right + 1):
            position[i] = scaled_sigmoid(-(right - i + 1) / width) / max_tp
        # After a window, up to the next one, a detection is weighed by its distance to this window.
        following = spans[number + 1][0] if number + 1 < len(spans) else rows
        for i in range(right + 1, following):
            position[i] = scaled_sigmoid(abs(right - i) / (width - 1))
    return FileLayout(name, np.arange(rows) >= probation, window, position)


@dataclass(frozen=True, slots=True)
class SweepResult:
    threshold: float
    score: float
    detected_windows: int
    false_positives: int


def _scorable_weights(
    layouts: Sequence[FileLayout], profile: Profile
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Window id and profile-weighted score of a detection, for every scorable row of the corpus."""
    window = np.concatenate([lay.window[lay.scorable] for lay in layouts])
    position = np.concatenate([lay.position[lay.scorable] for lay in layouts])
    return window, np.where(window >= 0, position * profile.tp, position * profile.fp)


def sweep(
    layouts: Sequence[FileLayout], scores: Sequence[npt.NDArray[np.float64]], profile: Profile
) -> SweepResult:
    """NAB's threshold optimization: lower the threshold through every distinct score, keep the best."""
    window, weight = _scorable_weights(layouts, profile)
    score = np.concatenate([s[lay.scorable] for s, lay in zip(scores, layouts, strict=True)])
    order = np.argsort(-score, kind="stable")
    scorable_windows = set(np.unique(window[window >= 0]).tolist())
    best_in_window = np.full(int(window.max(initial=-1)) + 1, -profile.fn)
    total = -profile.fn * len(scorable_windows)
    best = SweepResult(threshold=1.1, score=total, detected_windows=0, false_positives=0)
    detected = 0
    false_positives = 0
    index = 0
    while index < len(order):
        threshold = score[order[index]]
        while index < len(order) and score[order[index]] == threshold:
            row = order[index]
            w = window[row]
            if w < 0:
                total += weight[row]
                false_positives += 1
            elif weight[row] > best_in_window[w]:
                if best_in_window[w] == -profile.fn:
                    detected += 1
                total += weight[row] - best_in_window[w]
                best_in_window[w] = weight[row]
            index += 1
        if total > best.score:
            best = SweepResult(float(threshold), float(total), detected, false_positives)
    return best


def score_detections(
    layouts: Sequence[FileLayout], detections: Sequence[npt.NDArray[np.bool_]], profile: Profile
) -> float:
    """Raw NAB score of a binary detector (the null and perfect detectors, the service's alerts)."""
    as_scores = [d.astype(np.float64) for d in detections]
    window, weight = _scorable_weights(layouts, profile)
    fired = np.concatenate([s[lay.scorable] for s, lay in zip(as_scores, layouts, strict=True)]) >= 1.0
    total = float(weight[fired & (window < 0)].sum())
    for w in np.unique(window[window >= 0]):
        hits = fired & (window == w)
        total += float(weight[hits].max()) if hits.any() else -profile.fn
    return total


def normalized(raw: float, null: float, perfect: float) -> float:
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True, slots=True)
class CorpusFile:
    name: str
    series: ParsedSeries
    layout: FileLayout


def load_corpus(data_dir: Path) -> list[CorpusFile]:
    windows = json.loads((data_dir / "combined_windows.json").read_text())
    files: list[CorpusFile] = []
    next_window = 0
    for path in sorted((data_dir / "data").glob("*/*.csv")):
        name = path.relative_to(data_dir / "data").as_posix()
        with path.open(newline="") as handle:
            series = parse_series_csv(handle)
        limits = [(parse_timestamp(a), parse_timestamp(b)) for a, b in windows.get(name, [])]
        layout = layout_file(name, series.ts, limits, next_window)
        next_window += len(limits)
        files.append(CorpusFile(name, series, layout))
    return files


def perfect_detections(layout: FileLayout) -> npt.NDArray[np.bool_]:
    fired = np.zeros(len(layout.window), dtype=np.bool_)
    for w in np.unique(layout.window[layout.window >= 0]):
        fired[np.flatnonzero(layout.window == w)[0]] = True
    return fired


def describe_file(corpus_file: CorpusFile, scored: ScoredSeries, threshold: float) -> str:
    layout = corpus_file.layout
    fired = (scored.score >= threshold) & layout.scorable
    parts = []
    for w in np.unique(layout.window[layout.window >= 0]):
        hits = np.flatnonzero(fired & (layout.window == w))
        parts.append(f"hit@{layout.position[hits[0]]:.2f}" if len(hits) else "MISS")
    false_positives = int((fired & (layout.window < 0)).sum())
    alerts = int(scored.alert.sum())
    return f"{corpus_file.name:60s} fp={false_positives:3d} alerts={alerts:3d} {' '.join(parts)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="NAB subset directory")
    parser.add_argument("--details", action="store_true", help="per-file hits and false positives")
    parser.add_argument(
        "--alert-score",
        type=float,
        default=DetectorConfig().alert_score,
        help="the service's alert threshold, for the 'alerts' column (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    corpus = load_corpus(args.data)
    config = dataclasses.replace(DetectorConfig(), alert_score=args.alert_score)
    started = time.perf_counter()
    scored = score_many([(f.series.ts, f.series.values) for f in corpus], config)
    elapsed = time.perf_counter() - started
    points = sum(len(f.series) for f in corpus)
    print(f"scored {len(corpus)} files, {points} points in {elapsed:.1f} s")

    layouts = [f.layout for f in corpus]
    scores = [s.score for s in scored]
    alerts = [s.alert for s in scored]
    published = json.loads((args.data / "final_results.json").read_text())
    ours: dict[str, float] = {}
    print(
        f"\n{'profile':22s} {'nocbot':>8s} {'threshold':>9s} {'windows':>9s} {'FP rows':>8s} {'alerts':>8s}"
    )
    for profile in load_profiles(args.data / "profiles.json"):
        null = score_detections(
            layouts, [np.zeros(len(lay.window), dtype=np.bool_) for lay in layouts], profile
        )
        perfect = score_detections(layouts, [perfect_detections(lay) for lay in layouts], profile)
        best = sweep(layouts, scores, profile)
        at_alerts = score_detections(layouts, alerts, profile)
        ours[profile.name] = normalized(best.score, null, perfect)
        total_windows = int(
            sum(len(np.unique(lay.window[lay.scorable & (lay.window >= 0)])) for lay in layouts)
        )
        print(
            f"{profile.name:22s} {ours[profile.name]:8.2f} {best.threshold:9.4f} "
            f"{best.detected_windows:4d}/{total_windows:<4d} {best.false_positives:8d} "
            f"{normalized(at_alerts, null, perfect):8.2f}"
        )
    print(
        f"\nnocbot: NAB's threshold sweep over the anomaly_score column. 'alerts': the service's own alerts"
        f" (the label column, alert_score {config.alert_score}) scored as detections, no sweep."
    )

    print(
        f"\npublished scoreboard (full 58-file corpus)\n{'detector':22s} "
        + " ".join(f"{p:>18s}" for p in ours)
    )
    rows = sorted(published.items(), key=lambda item: -item[1]["standard"])
    rows.insert(0, ("nocbot (this subset)", ours))
    rows.sort(key=lambda item: -item[1]["standard"])
    for name, values in rows:
        print(f"{name:22s} " + " ".join(f"{values[p]:18.2f}" for p in ours))

    if args.details:
        standard = next(p for p in load_profiles(args.data / "profiles.json") if p.name == "standard")
        threshold = sweep(layouts, scores, standard).threshold
        print(f"\nper file at the standard threshold {threshold:.4f}:")
        for corpus_file, result in zip(corpus, scored, strict=True):
            print(describe_file(corpus_file, result, threshold))
    return 0


if __name__ == "__main__":
    sys.exit(main())
