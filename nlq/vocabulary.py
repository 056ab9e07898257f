"""The words a question may use that come from the data: metric names, label values, synonyms.

Loaded from the database at question time (`nlq.sources`) and handed to the pure parser as data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Vocabulary:
    metrics: frozenset[str] = frozenset()
    labels: Mapping[str, frozenset[str]] = field(default_factory=dict)  # label key → values
    synonyms: Mapping[str, str] = field(default_factory=dict)  # phrase → metric name

    @classmethod
    def build(
        cls,
        metrics: Iterable[str],
        labels: Mapping[str, Iterable[str]],
        synonyms: Mapping[str, str] | None = None,
    ) -> Vocabulary:
        known = frozenset(metrics)
        return cls(
            metrics=known,
            labels={key: frozenset(v for v in values if v) for key, values in labels.items()},
            # a synonym for a metric the database does not have would only produce empty answers
            synonyms={phrase.lower(): m for phrase, m in (synonyms or {}).items() if m in known},
        )


class CatalogError(ValueError):
    """The metric catalog cannot be used; the message says where and why."""


def load_metric_catalog(path: Path) -> dict[str, str]:
    """Synonyms from a metric catalog YAML: `metrics: [{name: cpu_usage, synonyms: [processor]}]`.

    Returns phrase → metric name. Unknown keys are ignored, as in the service catalog.
    """
    try:
        document: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not YAML ({exc})") from None
    entries = document.get("metrics") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise CatalogError(f"{path}: expected a top-level 'metrics' list")
    synonyms: dict[str, str] = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise CatalogError(f"{path}: metrics[{position}] needs a 'name'")
        words = entry.get("synonyms") or []
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise CatalogError(f"{path}: metrics[{position}].synonyms must be a list of strings")
        for phrase in words:
            synonyms[phrase.strip().lower()] = entry["name"]
    return synonyms
