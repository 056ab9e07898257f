"""The quality benchmark's own arithmetic, and the scenario generator's output format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from benchmarks import scenario_gen
from benchmarks.cluster_eval import (
    Unique,
    adjusted_rand_index,
    homogeneity_completeness,
    time_window_baseline,
)
from engine.clustering import label_fingerprint


def test_adjusted_rand_index_reference_values() -> None:
    assert adjusted_rand_index(["a", "a", "b", "b"], ["x", "x", "y", "y"]) == pytest.approx(1.0)
    # Reference value for this pair of labelings: 0.5714...
    assert adjusted_rand_index(["a", "a", "b", "b"], ["x", "x", "y", "z"]) == pytest.approx(0.5714285714)
    assert adjusted_rand_index(["a", "a", "a", "a"], ["x", "y", "z", "w"]) == pytest.approx(0.0)


def test_homogeneity_and_completeness() -> None:
    homogeneity, completeness = homogeneity_completeness(["a", "a", "b", "b"], ["x", "x", "y", "z"])
    assert homogeneity == pytest.approx(1.0)  # every predicted group is pure
    assert completeness == pytest.approx(2 / 3)  # one true incident is split in two
    homogeneity, completeness = homogeneity_completeness(["a", "b"], ["x", "x"])
    assert homogeneity == pytest.approx(0.0) and completeness == pytest.approx(1.0)


def test_time_window_baseline_chains_alerts_five_minutes_apart() -> None:
    uniques = [Unique(("f", str(t)), t, "i") for t in (0.0, 200.0, 450.0, 800.0)]
    assert time_window_baseline(uniques) == ["w0", "w0", "w0", "w1"]


def test_generated_scenario_has_the_shared_format(tmp_path: Path) -> None:
    directory = scenario_gen.generate(tmp_path / "estate", "media", seed=3, hours=3.0)
    alerts = [json.loads(line) for line in (directory / "alerts.jsonl").read_text().splitlines()]
    truth = [json.loads(line) for line in (directory / "truth.jsonl").read_text().splitlines()]
    summary = json.loads((directory / "summary.json").read_text())
    catalog = yaml.safe_load((directory / "services.yaml").read_text())
    assert len(alerts) == len(truth) == summary["deliveries"] > 0
    assert [row["line"] for row in truth] == list(range(len(alerts)))
    assert all(a["fingerprint"] == label_fingerprint(a["labels"]) for a in alerts)
    assert len({(a["fingerprint"], a["startsAt"]) for a in alerts}) == summary["alerts"]
    names = {s["name"] for s in catalog["services"]}
    assert all(dep in names for s in catalog["services"] for dep in s["depends_on"])
    # Each instance ends with exactly one resolved delivery.
    resolved = [a for a in alerts if a["status"] == "resolved"]
    assert len(resolved) == summary["alerts"]


def test_generator_is_deterministic(tmp_path: Path) -> None:
    first = scenario_gen.generate(tmp_path / "a", "health", seed=5, hours=2.0)
    second = scenario_gen.generate(tmp_path / "b", "health", seed=5, hours=2.0)
    assert (first / "alerts.jsonl").read_bytes() == (second / "alerts.jsonl").read_bytes()
