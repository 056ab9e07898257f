"""Incident enrichment: the five things a responder looks up first, computed when an incident opens
and refreshed as it grows — related alerts, recent changes, similar past incidents, affected
services, metric context. Pure: data in, frozen records out; the store reads through the
`EnrichmentSource` port (`engine.storage.enrichment_rows` implements it).

The chart lives in `engine.enrichment.chart` and is not imported here: matplotlib takes a second to
import, which only processes that draw should pay.
"""

from engine.enrichment.config import EnrichmentConfig, SimilarityWeights
from engine.enrichment.enrichment import Enrichment, stored_enrichment
from engine.enrichment.profile import IncidentProfile, profile_of
from engine.enrichment.sections import (
    Absent,
    AffectedServices,
    AlertBrief,
    Band,
    ChangeItem,
    Count,
    MetricContext,
    Neighbour,
    RecentChanges,
    RelatedAlerts,
    SeriesWindow,
    ServiceContext,
    SimilarIncident,
    SimilarIncidents,
)
from engine.enrichment.service import (
    EnrichmentSource,
    HistoryRequest,
    IncidentSubject,
    build_enrichment,
    should_refresh,
)
from engine.enrichment.similarity import HistoryEntry

__all__ = [
    "Absent",
    "AffectedServices",
    "AlertBrief",
    "Band",
    "ChangeItem",
    "Count",
    "Enrichment",
    "EnrichmentConfig",
    "EnrichmentSource",
    "HistoryEntry",
    "HistoryRequest",
    "IncidentProfile",
    "IncidentSubject",
    "MetricContext",
    "Neighbour",
    "RecentChanges",
    "RelatedAlerts",
    "SeriesWindow",
    "ServiceContext",
    "SimilarIncident",
    "SimilarIncidents",
    "SimilarityWeights",
    "build_enrichment",
    "profile_of",
    "should_refresh",
    "stored_enrichment",
]
