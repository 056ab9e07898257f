"""PagerDuty's wire formats: Events API v2 bodies out, webhooks v3 in (signature and parsing).

Pure: bytes and dicts in, dicts and typed events out. The HTTP client is
`integrations.pagerduty_delivery`; what an event means for an incident is `engine.escalation`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DESTINATION = "pagerduty"
"""The outbox destination of Events API events."""
EVENTS_PATH = "/v2/enqueue"
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
# PagerDuty refuses events over 512 KB; the enrichment is the only part that can grow that large
MAX_DETAILS_BYTES = 256 * 1024
SIGNATURE_HEADER = "X-PagerDuty-Signature"

TRIGGER = "trigger"
ACKNOWLEDGE = "acknowledge"
RESOLVE = "resolve"

_SEVERITY = {1: "critical", 2: "error", 3: "warning", 4: "info", 5: "info"}


def severity_for(priority: int | None) -> str:
    """PagerDuty's four severities from nocbot's five priorities (unscored counts as a warning)."""
    return _SEVERITY.get(priority or 3, "warning")


def dedup_key_for(incident_id: int, opened_at: datetime) -> str:
    """Stable for one incident, so every retry and every replica names the same PagerDuty alert; the
    opening time keeps two nocbot databases (staging, a restore) from sharing keys for equal ids."""
    return f"nocbot-incident-{incident_id}-{int(opened_at.timestamp())}"


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What a trigger tells PagerDuty about a nocbot incident."""

    id: int
    title: str
    status: str
    priority: int | None
    service: str | None
    services: tuple[str, ...]
    opened_at: datetime
    reasons: tuple[str, ...]
    enrichment: Mapping[str, Any]
    team: str | None = None


def summary_for(facts: IncidentFacts) -> str:
    label = f"P{facts.priority}" if facts.priority else "unscored"
    text = f"[{label}] #{facts.id} {facts.title}".strip()
    if facts.service and facts.service not in facts.title:
        text = f"{text} ({facts.service})"
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


def trigger_event(
    facts: IncidentFacts, *, routing_key: str, dedup_key: str, console_url: str, api_url: str
) -> dict[str, Any]:
    details: dict[str, Any] = {
        "nocbot_incident": facts.id,
        "priority": f"P{facts.priority}" if facts.priority else None,
        "services": list(facts.services),
        "reasons": list(facts.reasons),
        "console": console_url,
        "api": api_url,
        "enrichment": dict(facts.enrichment),
    }
    if len(json.dumps(details, default=str).encode()) > MAX_DETAILS_BYTES:
        details["enrichment"] = {"omitted": "too large for PagerDuty; see the console link"}
    payload: dict[str, Any] = {
        "summary": summary_for(facts),
        "source": facts.service or "nocbot",
        "severity": severity_for(facts.priority),
        "timestamp": facts.opened_at.isoformat(),
        "custom_details": details,
    }
    if facts.service:
        payload["component"] = facts.service
    if facts.team:
        payload["group"] = facts.team
    return {
        "routing_key": routing_key,
        "event_action": TRIGGER,
        "dedup_key": dedup_key,
        "payload": payload,
        "client": "nocbot",
        "client_url": console_url,
        "links": [{"href": console_url, "text": f"nocbot incident #{facts.id}"}],
    }


def follow_event(action: str, *, routing_key: str, dedup_key: str) -> dict[str, Any]:
    """An acknowledge or resolve of the alert a trigger opened (PagerDuty needs only the keys)."""
    if action not in (ACKNOWLEDGE, RESOLVE):
        raise ValueError(f"not a follow-up action: {action!r}")
    return {"routing_key": routing_key, "event_action": action, "dedup_key": dedup_key}


# --- webhooks v3: signature -------------------------------------------------------------------


def signature(body: bytes, secret: str) -> str:
    """One `v1=` value as PagerDuty computes it: lowercase hex HMAC-SHA256 of the raw body."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True when any `v1=` value of the header matches any secret (several during a rotation)."""
    if not header:
        return False
    presented = [part.strip().encode() for part in header.split(",") if part.strip().startswith("v1=")]
    matched = False
    for secret in secrets:
        expected = signature(body, secret).encode()
        for value in presented:
            # no early exit: the time taken does not depend on which value matched
            matched |= hmac.compare_digest(expected, value)
    return matched


# --- webhooks v3: parsing ---------------------------------------------------------------------


class WebhookError(ValueError):
    """The body is not a PagerDuty webhook v3 delivery."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: str
    event_type: str  # e.g. "incident.acknowledged"
    occurred_at: str | None
    agent: str | None
    """Who did it, when a person did (`agent.summary` of a user reference)."""
    incident_id: str | None
    """PagerDuty's incident id (not its number)."""
    incident_key: str | None
    """The dedup key the incident was triggered with, when PagerDuty sends it."""
    number: int | None
    status: str | None
    title: str | None
    html_url: str | None
    priority: str | None
    """The priority's name in PagerDuty (`P1`... on most accounts; accounts may rename them)."""
    assignees: tuple[str, ...]
    note: str | None
    """The note's text (`incident.annotated`)."""

    @property
    def action(self) -> str:
        """`acknowledged` of `incident.acknowledged`."""
        return self.event_type.removeprefix("incident.")


def parse_webhook(body: bytes) -> WebhookEvent:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookError(f"not JSON: {exc}") from None
    event = document.get("event") if isinstance(document, dict) else None
    if not isinstance(event, dict):
        raise WebhookError("expected an object with an 'event' object")
    event_id, event_type = event.get("id"), event.get("event_type")
    if not isinstance(event_id, str) or not event_id or not isinstance(event_type, str) or not event_type:
        raise WebhookError("event.id and event.event_type must be non-empty strings")
    data = _object(event.get("data"))
    agent = event.get("agent")
    incident = data
    if event.get("resource_type") != "incident":
        incident = {}
    elif data.get("type") != "incident":
        # notes and other sub-resources carry the incident as a reference
        incident = _object(data.get("incident"))
    priority = data.get("priority") if incident is data else None
    return WebhookEvent(
        id=event_id,
        event_type=event_type,
        occurred_at=_text(event.get("occurred_at")),
        agent=_person(agent),
        incident_id=_text(incident.get("id")),
        incident_key=_text(incident.get("incident_key")),
        number=incident.get("number") if isinstance(incident.get("number"), int) else None,
        status=_text(incident.get("status")),
        title=_text(incident.get("title")) or _text(incident.get("summary")),
        html_url=_text(incident.get("html_url")),
        priority=_text(priority.get("summary")) if isinstance(priority, dict) else None,
        assignees=_names(data.get("assignees") if incident is data else None),
        note=_text(data.get("content")) if data.get("type") == "incident_note" else None,
    )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _person(reference: object) -> str | None:
    if isinstance(reference, dict) and reference.get("type") == "user_reference":
        return _text(reference.get("summary"))
    return None


def _names(references: object) -> tuple[str, ...]:
    if not isinstance(references, Sequence) or isinstance(references, str):
        return ()
    return tuple(name for ref in references if isinstance(ref, dict) and (name := _text(ref.get("summary"))))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
