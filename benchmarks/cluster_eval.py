"""Clustering quality on labelled scenarios, next to a plain 5-minute time-window baseline.

    .venv/bin/python benchmarks/cluster_eval.py            # shared scenarios + generated estates
    .venv/bin/python benchmarks/cluster_eval.py --no-generated
    .venv/bin/python benchmarks/cluster_eval.py --scenario path/to/dir --details

Scenarios are folders in the format of ../shared/data/scenarios (alerts.jsonl, truth.jsonl,
services.yaml, summary.json). Each is replayed through `nocbot cluster` (the same code path as the
CLI and the service), then scored over unique alerts (fingerprint + startsAt): adjusted Rand index,
homogeneity, completeness and incident counts. Exit status 1 when a scenario misses the target
(ARI >= 0.9 and incident count within 10 % of the truth).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from benchmarks import scenario_gen  # noqa: E402
from bot.commands.cluster import cluster_file  # noqa: E402
from engine.catalog import Catalog, load_catalog  # noqa: E402
from integrations.payload import parse_iso  # noqa: E402

SHARED_SCENARIOS = ROOT.parent.parent / "shared" / "data" / "scenarios"
GENERATED_DIR = ROOT / "scenarios" / "generated"
TARGET_ARI = 0.9
TARGET_COUNT_ERROR = 0.10
BASELINE_WINDOW_SECONDS = 300.0


# -- metrics (numpy only) -------------------------------------------------------------------------


def _contingency(truth: Sequence[str], predicted: Sequence[str]) -> np.ndarray:
    _, true_codes = np.unique(np.asarray(truth), return_inverse=True)
    _, pred_codes = np.unique(np.asarray(predicted), return_inverse=True)
    table = np.zeros((true_codes.max() + 1, pred_codes.max() + 1), dtype=np.int64)
    np.add.at(table, (true_codes, pred_codes), 1)
    return table


def _pairs(counts: np.ndarray) -> float:
    counts = counts.astype(np.float64)
    return float((counts * (counts - 1) / 2).sum())


def adjusted_rand_index(truth: Sequence[str], predicted: Sequence[str]) -> float:
    table = _contingency(truth, predicted)
    n = int(table.sum())
    same_both = _pairs(table)
    same_truth = _pairs(table.sum(axis=1))
    same_pred = _pairs(table.sum(axis=0))
    total = n * (n - 1) / 2
    expected = same_truth * same_pred / total if total else 0.0
    maximum = (same_truth + same_pred) / 2
    if maximum == expected:  # both partitions trivial (all singletons or one cluster)
        return 1.0
    return (same_both - expected) / (maximum - expected)


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0].astype(np.float64) / counts.sum()
    return float(-(p * np.log(p)).sum())


def _conditional_entropy(table: np.ndarray) -> float:
    """H(rows | columns) from a contingency table."""
    n = table.sum()
    column_totals = table.sum(axis=0)
    nonzero = table > 0
    rows, cols = np.nonzero(nonzero)
    cells = table[rows, cols].astype(np.float64)
    return float(-(cells / n * np.log(cells / column_totals[cols])).sum())


def homogeneity_completeness(truth: Sequence[str], predicted: Sequence[str]) -> tuple[float, float]:
    table = _contingency(truth, predicted)
    h_truth = _entropy(table.sum(axis=1))
    h_pred = _entropy(table.sum(axis=0))
    homogeneity = 1.0 if h_truth == 0 else 1.0 - _conditional_entropy(table) / h_truth
    completeness = 1.0 if h_pred == 0 else 1.0 - _conditional_entropy(table.T) / h_pred
    return homogeneity, completeness


# -- scenario loading and scoring ----------------------------------------------------------------


@dataclass(frozen=True)
class Unique:
    key: tuple[str, str]
    starts_at: float
    truth: str


@dataclass(frozen=True)
class Score:
    incidents: int
    noise_reduction: float
    ari: float
    homogeneity: float
    completeness: float


@dataclass(frozen=True)
class Result:
    name: str
    alerts: int
    true_incidents: int
    ideal_noise_reduction: float
    engine: Score
    baseline: Score

    @property
    def passed(self) -> bool:
        count_error = abs(self.engine.incidents - self.true_incidents) / self.true_incidents
        return self.engine.ari >= TARGET_ARI and count_error <= TARGET_COUNT_ERROR


def unique_alerts(directory: Path) -> tuple[list[Unique], list[int]]:
    """Unique alerts in first-delivery order, and for every delivery line its unique alert's position."""
    truth = {}
    with (directory / "truth.jsonl").open(encoding="utf-8") as handle:
        for raw in handle:
            row = json.loads(raw)
            truth[row["line"]] = str(row["incident"])
    uniques: list[Unique] = []
    position: dict[tuple[str, str], int] = {}
    line_to_unique: list[int] = []
    with (directory / "alerts.jsonl").open(encoding="utf-8") as handle:
        for line, raw in enumerate(handle):
            doc = json.loads(raw)
            key = (doc["fingerprint"], doc["startsAt"])
            if key not in position:
                position[key] = len(uniques)
                started = parse_iso(doc["startsAt"])
                if started is None:
                    raise ValueError(f"{directory}/alerts.jsonl:{line + 1}: unreadable startsAt")
                uniques.append(Unique(key, started.timestamp(), truth[line]))
            line_to_unique.append(position[key])
    return uniques, line_to_unique


def score(truth: Sequence[str], predicted: Sequence[str]) -> Score:
    homogeneity, completeness = homogeneity_completeness(truth, predicted)
    incidents = len(set(predicted))
    return Score(incidents, 1 - incidents / len(truth), adjusted_rand_index(truth, predicted),
                 homogeneity, completeness)


def time_window_baseline(uniques: Sequence[Unique]) -> list[str]:
    """Group alerts by time alone: a group goes on while alerts keep starting within 5 minutes of
    the previous one (the README's baseline: ARI of about 0.66 on shop-day1)."""
    labels = [""] * len(uniques)
    previous = float("-inf")
    group = -1
    for index in sorted(range(len(uniques)), key=lambda i: uniques[i].starts_at):
        if uniques[index].starts_at - previous > BASELINE_WINDOW_SECONDS:
            group += 1
        previous = uniques[index].starts_at
        labels[index] = f"w{group}"
    return labels


def evaluate(directory: Path, details: bool = False) -> Result:
    catalog_path = directory / "services.yaml"
    catalog = load_catalog(catalog_path) if catalog_path.exists() else Catalog.empty()
    assignments = cluster_file(directory / "alerts.jsonl", catalog, explain=details)
    uniques, line_to_unique = unique_alerts(directory)
    predicted: list[str | None] = [None] * len(uniques)
    for line, assignment in enumerate(assignments):
        position = line_to_unique[line]
        if predicted[position] is None:  # the incident decided when the instance first arrived
            predicted[position] = str(assignment["incident"])
    engine_labels = [p or "" for p in predicted]
    truth = [u.truth for u in uniques]
    if details:
        _print_details(uniques, engine_labels, assignments, line_to_unique)
    return Result(
        name=directory.name,
        alerts=len(uniques),
        true_incidents=len(set(truth)),
        ideal_noise_reduction=1 - len(set(truth)) / len(uniques),
        engine=score(truth, engine_labels),
        baseline=score(truth, time_window_baseline(uniques)),
    )


def _print_details(
    uniques: Sequence[Unique], predicted: Sequence[str], assignments: Sequence[dict[str, object]],
    line_to_unique: Sequence[int],
) -> None:
    """Each true incident split over several predicted ones, or each predicted one mixing truths."""
    why: dict[int, object] = {}
    for line, assignment in enumerate(assignments):
        why.setdefault(line_to_unique[line], assignment.get("why"))
    by_truth: dict[str, set[str]] = {}
    by_pred: dict[str, set[str]] = {}
    for unique, pred in zip(uniques, predicted, strict=True):
        by_truth.setdefault(unique.truth, set()).add(pred)
        by_pred.setdefault(pred, set()).add(unique.truth)
    for index, (unique, pred) in enumerate(zip(uniques, predicted, strict=True)):
        if len(by_truth[unique.truth]) > 1 or len(by_pred[pred]) > 1:
            stamp = datetime.fromtimestamp(unique.starts_at, tz=UTC).strftime("%H:%M:%S")
            print(f"  {stamp} truth={unique.truth:<12} pred={pred:<5} {unique.key[0][:8]} {why.get(index)}")


# -- report ---------------------------------------------------------------------------------------


def report(results: Sequence[Result]) -> None:
    header = (
        f"{'scenario':<16} {'alerts':>6} {'true':>5} {'pred':>5} {'base':>5}  "
        f"{'NR ideal':>8} {'NR pred':>8} {'NR base':>8}  {'ARI':>5} {'base':>5}  "
        f"{'homog':>5} {'compl':>5} {'b.hom':>5} {'b.com':>5}  target"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        e, b = r.engine, r.baseline
        print(
            f"{r.name:<16} {r.alerts:>6} {r.true_incidents:>5} {e.incidents:>5} {b.incidents:>5}  "
            f"{r.ideal_noise_reduction:>8.3f} {e.noise_reduction:>8.3f} {b.noise_reduction:>8.3f}  "
            f"{e.ari:>5.3f} {b.ari:>5.3f}  {e.homogeneity:>5.3f} {e.completeness:>5.3f} "
            f"{b.homogeneity:>5.3f} {b.completeness:>5.3f}  {'ok' if r.passed else 'MISSED'}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", type=Path, action="append", help="evaluate only this scenario folder")
    parser.add_argument("--no-generated", action="store_true", help="skip the generated estates")
    parser.add_argument(
        "--details", action="store_true", help="list the alerts grouped differently from the truth"
    )
    args = parser.parse_args(argv)

    if args.scenario:
        directories = list(args.scenario)
    else:
        directories = sorted(p for p in SHARED_SCENARIOS.iterdir() if (p / "alerts.jsonl").exists())
        if not args.no_generated:
            directories += scenario_gen.generate_suite(GENERATED_DIR)
    results = []
    for directory in directories:
        if args.details:
            print(f"{directory.name}:")
        results.append(evaluate(directory, details=args.details))
    report(results)
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
