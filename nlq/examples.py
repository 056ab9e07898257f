"""Example questions shown when a question cannot be answered, written with the data's own names."""

from __future__ import annotations

from nlq.vocabulary import Vocabulary


def example_questions(vocabulary: Vocabulary) -> list[str]:
    metric = _first(vocabulary.metrics, prefer=("cpu", "latency", "memory")) or "cpu_usage"
    key = next((k for k in ("host", "service", "instance") if vocabulary.labels.get(k)), None)
    examples = [f"average {metric} yesterday"]
    if key is not None:
        value = sorted(vocabulary.labels[key])[0]
        examples += [
            f"hourly p95 {metric} for {value} yesterday",
            f"top 5 {key}s by {metric} last week",
        ]
    examples += ["how many P1 incidents last month", "MTTR by service last month"]
    return examples


def _first(names: frozenset[str], prefer: tuple[str, ...]) -> str | None:
    for word in prefer:
        for name in sorted(names):
            if word in name:
                return name
    return min(names) if names else None
