"""Stored records → JSON-ready dicts for the REST API (the read side's wire format)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.clustering.silences import Silence
from engine.storage.records import IncidentDetail, IncidentRecord, StoredAlert


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def alert_view(stored: StoredAlert) -> dict[str, Any]:
    alert = stored.alert
    return {
        "id": stored.id,
        "fingerprint": alert.fingerprint,
        "name": alert.name,
        "status": alert.status.value,
        "severity": alert.severity.label,
        "source": alert.source.value,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "starts_at": iso(alert.starts_at),
        "ends_at": iso(alert.ends_at),
        "generator_url": alert.generator_url,
        "received_at": iso(stored.received_at),
        "updated_at": iso(stored.updated_at),
        "incident_id": stored.incident_id,
    }


def incident_view(record: IncidentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "title": record.title,
        "status": record.status,
        "origin": record.origin,
        "service": record.service,
        "services": record.services,
        "priority": f"P{record.priority}" if record.priority is not None else None,
        "priority_source": record.priority_source,
        "score": record.score,
        "scorer": record.scorer,
        "reasons": record.reasons,
        "alert_count": record.alert_count,
        "opened_at": iso(record.opened_at),
        "acknowledged_at": iso(record.acknowledged_at),
        "acknowledged_by": record.acknowledged_by,
        "resolved_at": iso(record.resolved_at),
        "resolved_by": record.resolved_by,
        "auto_resolved": record.auto_resolved,
        "resolution": record.resolution,
        "playbook": record.playbook,
        "external_id": record.external_id,
        "updated_at": iso(record.updated_at),
        "version": record.version,
    }


def incident_detail_view(detail: IncidentDetail) -> dict[str, Any]:
    view = incident_view(detail.incident)
    view["enrichment"] = detail.incident.enrichment
    view["alerts"] = [
        {**alert_view(stored), "explanation": detail.explanations.get(stored.id)} for stored in detail.alerts
    ]
    view["timeline"] = [
        {"at": iso(event.at), "kind": event.kind, "actor": event.actor, "text": event.text}
        for event in detail.timeline
    ]
    return view


def silence_view(silence: Silence) -> dict[str, Any]:
    return {
        "id": int(silence.id),
        "matchers": [f"{m.name}{m.op.value}{m.value}" for m in silence.matchers],
        "starts_at": iso(silence.starts_at),
        "ends_at": iso(silence.ends_at),
        "created_by": silence.created_by,
        "comment": silence.comment,
    }
