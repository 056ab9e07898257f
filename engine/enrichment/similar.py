"""Section 3: the past incidents most like this one, with what fixed them."""

from __future__ import annotations

from collections.abc import Sequence

from engine.catalog import Catalog
from engine.enrichment.config import EnrichmentConfig
from engine.enrichment.profile import IncidentProfile
from engine.enrichment.sections import Absent, SimilarIncident, SimilarIncidents
from engine.enrichment.similarity import HistoryEntry, Match, rank_similar

NO_HISTORY = "no similar past incidents: the history holds no resolved incident to compare with"
NONE_SIMILAR = "no similar past incidents among the {count} compared"


def similar_incidents(
    query: IncidentProfile, history: Sequence[HistoryEntry], *, catalog: Catalog, config: EnrichmentConfig
) -> SimilarIncidents | Absent:
    if not history:
        return Absent(NO_HISTORY)
    matches = rank_similar(
        query,
        history,
        catalog=catalog,
        weights=config.weights,
        limit=config.similar_limit,
        min_score=config.min_similarity,
    )
    if not matches:
        return Absent(NONE_SIMILAR.format(count=len(history)))
    return SimilarIncidents(items=tuple(_item(m) for m in matches), compared=len(history))


def _item(match: Match) -> SimilarIncident:
    entry = match.entry
    resolve_seconds = None
    if entry.resolved_at is not None:
        resolve_seconds = max(0.0, (entry.resolved_at - entry.opened_at).total_seconds())
    return SimilarIncident(
        incident_id=entry.incident_id,
        external_id=entry.external_id,
        origin=entry.origin,
        title=entry.title,
        service=entry.service,
        opened_at=entry.opened_at,
        priority=entry.priority,
        resolve_seconds=resolve_seconds,
        resolution=entry.resolution,
        playbook=entry.playbook,
        score=match.score,
        shared_words=match.shared_words,
        shared_services=match.shared_services,
    )
