"""How much enrichment looks up: windows, list lengths and the history sample, in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class SimilarityWeights:
    """How much each kind of evidence counts when two incidents are compared (renormalized over the
    kinds both incidents have: imported history knows no labels)."""

    text: float = 0.6
    services: float = 0.25
    labels: float = 0.15


@dataclass(frozen=True, slots=True)
class EnrichmentConfig:
    # Recent changes: from this long before the incident opened until now. The ones before the start
    # are the suspects; later ones (a rollback, a fix) get a smaller share of the list, so that a long
    # incident in a busy estate does not push the suspects out.
    change_lookback: timedelta = timedelta(hours=2)
    max_changes: int = 20
    max_changes_after_start: int = 5

    # Similar past incidents: the history sample ranked (newest resolved incidents of the affected
    # services, fewer of the services related to them in the catalog, and the newest of any service).
    similar_limit: int = 3
    min_similarity: float = 0.3
    history_per_service: int = 150
    history_per_related_service: int = 25
    history_related_services: int = 12
    history_recent: int = 100
    weights: SimilarityWeights = field(default_factory=SimilarityWeights)

    # Related alerts: members read per refresh, and how long the lists shown are.
    max_alerts: int = 5000
    top_counts: int = 10
    max_firing_listed: int = 20

    # Metric context: the window around the incident start and how many series compete for it.
    chart_before: timedelta = timedelta(hours=1)
    chart_after: timedelta = timedelta(minutes=30)
    max_series_candidates: int = 12
    chart_points: int = 240
    sparkline_width: int = 24
