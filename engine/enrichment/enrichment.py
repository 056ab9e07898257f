"""An incident's enrichment: the five sections, the incident's similarity profile, and how it is
stored in the `incidents.enrichment` JSON column.

Stored shape (format 1):

    {"format": 1, "computed_at": "<ISO 8601>", "alert_count": 12,
     "profile": {"words": [...], "services": [...], "labels": ["env=prod", ...]},
     "related_alerts":    {"available": true, ...the fields of RelatedAlerts}
                          or {"available": false, "note": "why it is absent"},
     "recent_changes":    ... RecentChanges,
     "similar_incidents": ... SimilarIncidents,
     "affected_services": ... AffectedServices,
     "metric_context":    ... MetricContext}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine.enrichment.codec import EncodingError, decode, encode
from engine.enrichment.profile import IncidentProfile
from engine.enrichment.sections import (
    Absent,
    AffectedServices,
    MetricContext,
    RecentChanges,
    RelatedAlerts,
    SimilarIncidents,
)
from engine.models import PastIncident, Priority

FORMAT = 1

SECTIONS: Mapping[str, type[Any]] = {
    "related_alerts": RelatedAlerts,
    "recent_changes": RecentChanges,
    "similar_incidents": SimilarIncidents,
    "affected_services": AffectedServices,
    "metric_context": MetricContext,
}


@dataclass(frozen=True, slots=True)
class Enrichment:
    computed_at: datetime
    alert_count: int  # alerts in the incident when computed: refreshing is due when it grows
    profile: IncidentProfile
    related_alerts: RelatedAlerts | Absent
    recent_changes: RecentChanges | Absent
    similar_incidents: SimilarIncidents | Absent
    affected_services: AffectedServices | Absent
    metric_context: MetricContext | Absent

    def notes(self) -> dict[str, str]:
        """Why each absent section is absent, by section name."""
        return {name: section.note for name in SECTIONS if isinstance(section := getattr(self, name), Absent)}

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": FORMAT,
            "computed_at": encode(self.computed_at),
            "alert_count": self.alert_count,
            "profile": encode(self.profile),
        }
        for name in SECTIONS:
            section = getattr(self, name)
            if isinstance(section, Absent):
                document[name] = {"available": False, "note": section.note}
            else:
                document[name] = {"available": True, **encode(section)}
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Enrichment:
        """Raises `EncodingError` (a ValueError) for a document of another format or a damaged one."""
        if document.get("format") != FORMAT:
            raise EncodingError(f"not an enrichment of format {FORMAT}: {document.get('format')!r}")
        sections: dict[str, Any] = {}
        for name, section_type in SECTIONS.items():
            raw = document.get(name)
            if not isinstance(raw, Mapping) or not isinstance(raw.get("available"), bool):
                raise EncodingError(f"$.{name}: expected a section with 'available'")
            if raw["available"]:
                body = {key: value for key, value in raw.items() if key != "available"}
                sections[name] = decode(section_type, body, f"$.{name}")
            else:
                sections[name] = Absent(decode(str, raw.get("note"), f"$.{name}.note"))
        return cls(
            computed_at=decode(datetime, document.get("computed_at"), "$.computed_at"),
            alert_count=decode(int, document.get("alert_count"), "$.alert_count"),
            profile=decode(IncidentProfile, document.get("profile"), "$.profile"),
            **sections,
        )

    def same_content(self, other: Enrichment) -> bool:
        """Equal apart from when it was computed: a refresh that changed nothing needs no card update."""
        mine, theirs = self.to_json(), other.to_json()
        mine.pop("computed_at")
        theirs.pop("computed_at")
        return mine == theirs

    def similar_past_incidents(self) -> tuple[PastIncident, ...]:
        """The similar incidents as scoring's `IncidentFacts.similar_incidents` expects them."""
        if isinstance(self.similar_incidents, Absent):
            return ()
        return tuple(
            PastIncident(
                id=item.external_id or str(item.incident_id),
                title=item.title,
                service=item.service,
                priority=_priority(item.priority),
                opened_at=item.opened_at,
                resolved_at=None
                if item.resolve_seconds is None
                else item.opened_at + timedelta(seconds=item.resolve_seconds),
                resolution=item.resolution,
                playbook=item.playbook,
            )
            for item in self.similar_incidents.items
        )


def _priority(value: int | None) -> Priority | None:
    return Priority(value) if value is not None and 1 <= value <= 5 else None


def stored_enrichment(document: Mapping[str, Any]) -> Enrichment | None:
    """The enrichment in an incident's JSON column; None when there is none yet (the column starts as
    `{}`, and imported history is never enriched) or when it was written in another format."""
    if not document:
        return None
    try:
        return Enrichment.from_json(document)
    except EncodingError:
        return None
