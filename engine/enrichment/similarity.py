"""Ranking past incidents by likeness to the current one: words, services and labels.

Words are compared by TF-IDF cosine, with document frequencies taken over the history sample being
ranked: a word every checkout incident carries ("checkout") says little, a rare one ("certificate")
says a lot. Services count fully when shared and half when related through the catalog (a payments
incident is somewhat like a checkout one when checkout depends on payments). Labels are a Jaccard
overlap; history imported from other tools has none, so weights are renormalized over the kinds of
evidence both incidents have rather than counting the missing kind as a mismatch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from engine.catalog import Catalog
from engine.enrichment.config import SimilarityWeights
from engine.enrichment.profile import IncidentProfile

RELATED_SERVICE_CREDIT = 0.5


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A resolved past incident, as read from the store for ranking."""

    incident_id: int
    external_id: str | None
    origin: str
    title: str
    service: str | None
    opened_at: datetime
    resolved_at: datetime | None
    priority: int | None
    resolution: str | None
    playbook: str | None
    profile: IncidentProfile


@dataclass(frozen=True, slots=True)
class Match:
    entry: HistoryEntry
    score: float
    shared_words: tuple[str, ...]
    shared_services: tuple[str, ...]


def rank_similar(
    query: IncidentProfile,
    history: Sequence[HistoryEntry],
    *,
    catalog: Catalog,
    weights: SimilarityWeights,
    limit: int,
    min_score: float,
) -> list[Match]:
    """The `limit` most similar entries scoring at least `min_score`, best first (newest on ties)."""
    idf = _idf(query, history)
    query_words = frozenset(query.words)
    query_norm = math.sqrt(sum(idf[w] ** 2 for w in query_words))
    query_services = frozenset(query.services)
    query_labels = frozenset(query.labels)
    related = _related_services(query.services, catalog)
    scored: list[tuple[float, HistoryEntry]] = []
    for entry in history:
        candidate = entry.profile
        total = weight = 0.0
        if query_norm and candidate.words:
            weight += weights.text
            shared = query_words.intersection(candidate.words)
            if shared:  # the candidate's norm is only worth computing when something is shared
                norm = math.sqrt(sum(idf[w] ** 2 for w in candidate.words))
                total += weights.text * sum(idf[w] ** 2 for w in shared) / (query_norm * norm)
        if query_services and candidate.services:
            weight += weights.services
            total += weights.services * _service_overlap(query_services, candidate.services, related)
        if query_labels and candidate.labels:
            weight += weights.labels
            total += weights.labels * _jaccard(query_labels, candidate.labels)
        if weight > 0 and total / weight >= min_score:
            scored.append((total / weight, entry))
    scored.sort(key=lambda item: (-item[0], -item[1].opened_at.timestamp(), item[1].incident_id))
    return [
        Match(
            entry=entry,
            score=round(score, 4),
            shared_words=tuple(sorted(query_words.intersection(entry.profile.words))),
            shared_services=tuple(sorted(query_services.intersection(entry.profile.services))),
        )
        for score, entry in scored[:limit]
    ]


def _idf(query: IncidentProfile, history: Sequence[HistoryEntry]) -> dict[str, float]:
    documents = len(history) + 1
    frequency: Counter[str] = Counter(query.words)
    for entry in history:
        frequency.update(entry.profile.words)  # profile words are distinct: one count per document
    return {word: math.log((1 + documents) / (1 + count)) + 1.0 for word, count in frequency.items()}


def _related_services(services: Sequence[str], catalog: Catalog) -> frozenset[str]:
    related: set[str] = set()
    for service in services:
        related |= catalog.dependencies(service) | catalog.dependents(service)
    return frozenset(related - set(services))


def _service_overlap(mine: frozenset[str], candidate: Sequence[str], related: frozenset[str]) -> float:
    theirs = set(candidate)
    exact = len(mine & theirs)
    near = len((theirs - mine) & related)
    return (exact + RELATED_SERVICE_CREDIT * near) / len(mine | theirs)


def _jaccard(first: frozenset[str], candidate: Sequence[str]) -> float:
    second = set(candidate)
    return len(first & second) / len(first | second)
