"""Benchmark priority scoring with the default model: latency, throughput, quality.

    .venv/bin/python benchmarks/score.py [--iterations 3000] [--batch-rows 200000] [--threads 2]

* Single incident, feature extraction included, one thread: `inplace_predict` on the scorer's
  preallocated row (reasons reused because the priority did not change), the same with
  `pred_contribs` reasons (what happens when the priority changes), and the DMatrix path. Wall
  time and the thread's CPU time: on a shared host only the latter is free of waiting for a core.
* Batch: rows per second through `inplace_predict` and through DMatrix + `predict` on the same
  feature matrix, with 1 and with --threads threads (on a busy host more threads can be slower);
  and incidents per second including feature extraction, which is pure Python.
* Quality: the default model's holdout metrics from its metadata, and both scorers on a freshly
  generated history (another seed, so another world) that the model has never seen.

Inputs are synthetic incidents from examples/history (realistic alert counts, similar incidents,
changes), not a single repeated row.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import xgboost as xgb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "history"))
from generate_history import DEFAULT_SEED, generate_history

from engine.scoring import (
    DEFAULT_MODEL_PATH,
    IncidentFacts,
    ModelArtifact,
    RuleBasedScorer,
    XGBoostScorer,
    feature_matrix,
    read_model,
)
from engine.scoring.features import FEATURE_COUNT, extract_features_into
from engine.scoring.metrics import classification_metrics

WARMUP = 200


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark priority scoring.")
    parser.add_argument("--iterations", type=int, default=3000, help="single-incident calls per path")
    parser.add_argument("--batch-rows", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2, help="threads for batch scoring")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    args = parser.parse_args()

    artifact = read_model(args.model)
    scorer = XGBoostScorer(artifact, batch_threads=args.threads)
    _, history = generate_history(5000, seed=DEFAULT_SEED + 1)
    facts = [incident.facts for incident in history]
    metadata = artifact.metadata
    print(
        f"model {metadata.model_version}: {metadata.boosting_rounds} rounds x 5 classes, "
        f"xgboost {xgb.__version__}; {len(facts)} synthetic incidents as input"
    )

    print("\nsingle incident, feature extraction included, 1 thread (µs)")
    _single_incident(scorer, artifact.new_booster(nthread=1), facts, args.iterations)
    print(f"  (host load average over the last minute: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")

    print(f"\nbatch of {args.batch_rows:,} feature rows (best of 3)")
    for threads in sorted({1, args.threads}):
        _batch_rows(artifact, facts, args.batch_rows, threads)
    print(f"\nbatch from incidents, {args.threads} threads")
    _batch_incidents(scorer, facts)

    print("\nquality")
    holdout = metadata.holdout_metrics
    print(
        f"  default model, holdout ({metadata.data_window.holdout_rows} latest incidents of its "
        f"training history): accuracy {holdout.accuracy:.3f}, macro-F1 {holdout.macro_f1:.3f}"
    )
    truth = np.asarray([int(incident.priority) - 1 for incident in history])
    model_says = scorer.score_matrix(feature_matrix(facts)).classes
    rules = RuleBasedScorer()
    rules_say = np.asarray([int(rules.assess(f).priority) - 1 for f in facts])
    for name, predicted in (("default model", model_says), ("rule-based fallback", rules_say)):
        fresh = classification_metrics(truth, predicted)
        print(
            f"  {name}, fresh history (seed {DEFAULT_SEED + 1}, {len(facts)} incidents): "
            f"accuracy {fresh.accuracy:.3f}, macro-F1 {fresh.macro_f1:.3f}"
        )
    return 0


def _single_incident(
    scorer: XGBoostScorer, dmatrix_booster: xgb.Booster, facts: Sequence[IncidentFacts], iterations: int
) -> None:
    # Reuse only looks at the previous priority (and scorer/model), so batch scoring is enough here.
    previous = scorer.assess_many(facts, with_reasons=False)
    row = np.full((1, FEATURE_COUNT), np.nan, dtype=np.float32)

    def features_only(i: int) -> None:
        extract_features_into(facts[i], row[0])

    def dmatrix_predict(i: int) -> None:
        extract_features_into(facts[i], row[0])
        # nthread=1 as in the scorer: DMatrix's default (all cores) costs milliseconds on a busy host.
        dmatrix_booster.predict(xgb.DMatrix(row, missing=np.nan, nthread=1), validate_features=False)

    paths: tuple[tuple[str, Callable[[int], object]], ...] = (
        ("feature extraction alone", features_only),
        ("inplace_predict, reasons reused (same priority)", lambda i: scorer.assess(facts[i], previous[i])),
        ("inplace_predict + pred_contribs reasons (changed)", lambda i: scorer.assess(facts[i])),
        ("DMatrix + predict, no reasons", dmatrix_predict),
        ("rule-based fallback, with reasons", lambda i: RuleBasedScorer().assess(facts[i])),
    )
    print(f"  {'':<52} {'wall p50':>9} {'wall p99':>9} {'mean':>7} {'CPU p50':>8} {'CPU p99':>8}")
    for name, call in paths:
        wall, cpu = _latencies(call, len(facts), iterations)
        print(
            f"  {name:<52} {np.percentile(wall, 50):9.0f} {np.percentile(wall, 99):9.0f}"
            f" {statistics.fmean(wall):7.0f} {np.percentile(cpu, 50):8.0f} {np.percentile(cpu, 99):8.0f}"
        )


def _latencies(
    call: Callable[[int], object], inputs: int, iterations: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Wall-clock and CPU time per call in µs. On a shared host the wall-clock tail includes time
    spent waiting for a core; the thread's CPU time is what the code itself costs."""
    for i in range(WARMUP):
        call(i % inputs)
    gc.collect()
    wall = np.empty(iterations, dtype=np.float64)
    cpu = np.empty(iterations, dtype=np.float64)
    for i in range(iterations):
        cpu_started = time.thread_time_ns()
        started = time.perf_counter_ns()
        call(i % inputs)
        wall[i] = time.perf_counter_ns() - started
        cpu[i] = time.thread_time_ns() - cpu_started
    return wall / 1000.0, cpu / 1000.0


def _batch_rows(artifact: ModelArtifact, facts: Sequence[IncidentFacts], rows: int, threads: int) -> None:
    scorer = XGBoostScorer(artifact, batch_threads=threads)
    booster = artifact.new_booster(nthread=threads)
    matrix = np.ascontiguousarray(np.resize(feature_matrix(facts), (rows, FEATURE_COUNT)))

    def inplace() -> None:
        scorer.score_matrix(matrix)

    def dmatrix() -> None:
        booster.predict(xgb.DMatrix(matrix, missing=np.nan, nthread=threads), validate_features=False)

    for name, call in (("inplace_predict", inplace), ("DMatrix + predict", dmatrix)):
        call()  # warm-up
        seconds = min(_seconds(call) for _ in range(3))
        label = f"{name}, {threads} thread{'s' if threads > 1 else ''}"
        print(f"  {label:<52} {rows / seconds:>12,.0f} rows/s")


def _batch_incidents(scorer: XGBoostScorer, facts: Sequence[IncidentFacts]) -> None:
    extraction = _seconds(lambda: feature_matrix(facts))
    features = feature_matrix(facts)
    end_to_end = extraction + _seconds(lambda: scorer.score_matrix(features))
    print(f"  {'feature extraction alone':<52} {len(facts) / extraction:>12,.0f} incidents/s")
    print(f"  {'feature extraction + inplace_predict':<52} {len(facts) / end_to_end:>12,.0f} incidents/s")
    with_reasons = _seconds(lambda: scorer.assess_many(facts))
    print(f"  {'assess_many with pred_contribs reasons':<52} {len(facts) / with_reasons:>12,.0f} incidents/s")


def _seconds(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
