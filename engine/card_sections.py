"""An incident's enrichment, in the words of its card: the sections every surface shows.

Pure: the stored `Enrichment` in, `ViewSection`s out. Each section says one thing a responder
looks up first; an absent one is left out (its note is for the API, not for a busy card).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from engine.enrichment.enrichment import Enrichment
from engine.enrichment.sections import (
    AffectedServices,
    MetricContext,
    RecentChanges,
    RelatedAlerts,
    SimilarIncidents,
)
from engine.view import SectionItem, ViewSection, duration_text, link_target, time_text

MAX_LINES = 3


def enrichment_sections(
    enrichment: Enrichment, *, now: datetime, tz: tzinfo = UTC
) -> tuple[ViewSection, ...]:
    sections: list[ViewSection] = []
    if isinstance(enrichment.recent_changes, RecentChanges) and enrichment.recent_changes.items:
        sections.append(_changes(enrichment.recent_changes, now, tz))
    if isinstance(enrichment.similar_incidents, SimilarIncidents) and enrichment.similar_incidents.items:
        sections.append(_similar(enrichment.similar_incidents, now, tz))
    if isinstance(enrichment.affected_services, AffectedServices) and enrichment.affected_services.services:
        sections.append(_owners(enrichment.affected_services))
    if isinstance(enrichment.related_alerts, RelatedAlerts) and enrichment.related_alerts.by_name:
        sections.append(_related(enrichment.related_alerts))
    return tuple(sections)


def sparkline_values(enrichment: Enrichment) -> Sequence[float]:
    context = enrichment.metric_context
    return context.window.values if isinstance(context, MetricContext) else ()


def _changes(changes: RecentChanges, now: datetime, tz: tzinfo) -> ViewSection:
    lines = []
    for item in changes.items[:MAX_LINES]:
        when = _minutes_phrase(item.minutes_before_start)
        relation = "" if item.relation == "affected" else f" ({item.relation})"
        lines.append(SectionItem(f"{item.kind} {item.service}{relation}: {item.what} by {item.who}, {when}"))
    more = len(changes.items) - MAX_LINES
    if more > 0 or changes.more:
        lines.append(SectionItem("and more changes in the window"))
    return ViewSection("Recent changes", tuple(lines))


def _minutes_phrase(minutes_before: float) -> str:
    if minutes_before >= 0:
        return f"{duration_text(minutes_before * 60)} before it started"
    return f"{duration_text(-minutes_before * 60)} after it started"


def _similar(similar: SimilarIncidents, now: datetime, tz: tzinfo) -> ViewSection:
    lines = []
    for item in similar.items[:MAX_LINES]:
        name = (
            f"#{item.incident_id}"
            if item.origin == "nocbot"
            else (item.external_id or f"#{item.incident_id}")
        )
        fix = f" — fixed by: {item.resolution}" if item.resolution else ""
        took = f", resolved in {duration_text(item.resolve_seconds)}" if item.resolve_seconds else ""
        playbook = f" (playbook {item.playbook})" if item.playbook else ""
        lines.append(
            SectionItem(f"{name} {item.title} ({time_text(item.opened_at, now, tz)}{took}){fix}{playbook}")
        )
    return ViewSection("Similar past incidents", tuple(lines))


def _owners(affected: AffectedServices) -> ViewSection:
    fields = []
    for service in affected.services[:MAX_LINES]:
        owner = service.owner or "no owner in the catalog"
        facing = ", customer-facing" if service.customer_facing else ""
        fields.append(
            SectionItem(
                f"{owner} · tier {service.tier}{facing}",
                label=service.name,
                url=link_target(service.runbook),
            )
        )
    return ViewSection("Owners and runbooks", fields=tuple(fields))


def _related(related: RelatedAlerts) -> ViewSection:
    names = ", ".join(f"{count.key} ×{count.total}" for count in related.by_name[:MAX_LINES])
    hosts = ", ".join(count.key for count in related.by_host[:MAX_LINES])
    lines = [
        SectionItem(f"{related.firing} of {related.total} firing, worst {related.worst_severity}: {names}")
    ]
    if hosts:
        lines.append(SectionItem(f"hosts: {hosts}"))
    return ViewSection("Alerts", tuple(lines))
