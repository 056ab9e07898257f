"""Merging incidents that one later alert turns out to explain.

Symptoms often alert before their cause: two services depending on a database can each open an
incident before the database's own alert arrives. When it does, and it could join several open
incidents, each incident whose every root depends on the alert's service has the same explanation,
so they are merged into the oldest (the one people were paged for first).
"""

from __future__ import annotations

from datetime import datetime

from engine.clustering import editing
from engine.clustering.explanation import Reason, ReasonKind
from engine.clustering.features import AlertFeatures
from engine.clustering.incident import Incident
from engine.clustering.matching import Assessment
from engine.clustering.records import IncidentClosure
from engine.clustering.state import EngineState


def merge_explained(
    state: EngineState,
    incident: Incident,
    features: AlertFeatures,
    qualified: tuple[Assessment, ...],
    now: datetime,
) -> list[IncidentClosure]:
    """Merge the incidents the new alert (now in `incident`) explains; returns their closures."""
    service = features.location.service
    if not state.config.merge_explained_incidents or service is None or not features.location.in_catalog:
        return []
    explained: list[Incident] = []
    for assessment in qualified:
        other = state.incidents.get(assessment.incident_id)
        if other is None or other.id == incident.id or not other.is_open:
            continue
        if other.roots and all(explains(state, service, root) for root in other.roots):
            explained.append(other)
    if not explained:
        return []
    group = sorted([incident, *explained], key=lambda i: (i.opened_clock, i.id))
    target = group[0]
    closures: list[IncidentClosure] = []
    for other in group[1:]:
        reason = Reason(ReasonKind.COMMON_CAUSE, f"merged from #{other.id}: {_cause(service, other)}")
        _, closure = editing.merge(state, target.id, other.id, now, actor=None, note=None, reason=reason)
        closures.append(closure)
    return closures


def _cause(service: str, other: Incident) -> str:
    dependents = sorted(other.roots - {service})
    if not dependents:
        return f"{service} alerted in both"
    verb = "depends" if len(dependents) == 1 else "depend"
    return f"{', '.join(dependents)} {verb} on {service}, which alerted"


def explains(state: EngineState, service: str, root: str) -> bool:
    return root == service or service in state.topology.dependencies(root)
