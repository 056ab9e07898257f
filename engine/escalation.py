"""Escalation to PagerDuty, and PagerDuty's word coming back.

Out: `escalate` (the Escalate button, a playbook step, the auto-escalation rule) records the
escalation and queues a trigger in the outbox in one transaction; `follow` (a `StatusFollower` of the
timeline) queues acknowledge/resolve when nocbot acknowledges or resolves an escalated incident.
In: `apply` takes a verified webhook event, moves the escalation's status, acknowledges or resolves
the nocbot incident through the responders (audited like any responder action) and notes the rest
on the timeline. Every step is idempotent, so retries and re-deliveries change nothing more.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog
from engine.clock import Clock
from engine.escalation_rule import AutoEscalation
from engine.models import IncidentStatus
from engine.responders import Outcome, Result
from engine.storage import audit_rows, escalation_rows, incident_rows, outbox_rows
from engine.storage.escalation_rows import ACKNOWLEDGED, RESOLVED, TRIGGERED, Escalation
from engine.storage.store import Store
from engine.timeline import Timeline
from integrations.pagerduty import (
    ACKNOWLEDGE,
    DESTINATION,
    RESOLVE,
    IncidentFacts,
    WebhookEvent,
    dedup_key_for,
    follow_event,
    trigger_event,
)

log = logging.getLogger("nocbot.escalation")

SURFACE = "pagerduty"
NOTE_KIND = "pagerduty"
"""The timeline kind of what PagerDuty webhooks report (their detail holds the webhook event id)."""
ESCALATED_KIND = "escalated"
DEFAULT_ROUTE = "default"
_ROUTING_KEY = re.compile(r"^[A-Za-z0-9]{32}$")


class IncidentActions(Protocol):
    """What `engine.responders.Responders` offers; acknowledging from a webhook goes through it so the
    audit log, the card and the other followers see a PagerDuty acknowledgement like any other."""

    async def acknowledge(
        self, incident_id: int, *, actor: str, surface: str, name: str | None = None
    ) -> Outcome: ...

    async def resolve(
        self, incident_id: int, *, actor: str, surface: str, name: str | None = None
    ) -> Outcome: ...


@dataclass(frozen=True)
class Routing:
    """Which PagerDuty routing key pages for a service.

    `keys` names keys by service or team (`default` is the fallback). A catalog entry's
    `pagerduty_routing_key` is a key itself, or the name of one in `keys`. First match wins: the
    service's name in `keys`, its catalog key, its owning team in `keys`, then `default`."""

    keys: Mapping[str, str] = field(default_factory=dict)
    catalog: Catalog = field(default_factory=Catalog.empty)

    def key_for(self, services: Sequence[str]) -> str | None:
        for name in services:
            found = self._service_key(name)
            if found:
                return found
        return self.keys.get(DEFAULT_ROUTE)

    def _service_key(self, name: str) -> str | None:
        if name in self.keys:
            return self.keys[name]
        entry = self.catalog.get(name)
        if entry is None:
            return None
        named = entry.pagerduty_routing_key
        if named:
            if named in self.keys:
                return self.keys[named]
            if _ROUTING_KEY.match(named):
                return named
            log.warning("catalog names an unknown PagerDuty routing key", extra={"service": name})
        if entry.owner and entry.owner in self.keys:
            return self.keys[entry.owner]
        return None

    def team_of(self, service: str | None) -> str | None:
        entry = self.catalog.get(service)
        return entry.owner if entry is not None else None


class EscalationResult(enum.StrEnum):
    ESCALATED = "escalated"
    ALREADY_ESCALATED = "already_escalated"
    NOT_FOUND = "not_found"
    NOT_OPEN = "not_open"
    NO_ROUTE = "no_route"


@dataclass(frozen=True, slots=True)
class EscalationOutcome:
    result: EscalationResult
    message: str
    dedup_key: str | None = None


class WebhookResult(enum.StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"  # a re-delivery, or nothing this event changes
    UNKNOWN_INCIDENT = "unknown_incident"
    IGNORED = "ignored"  # an event type nocbot does not act on


@dataclass(frozen=True, slots=True)
class Links:
    """Where PagerDuty responders find the incident in nocbot."""

    base_url: str

    def console(self, incident_id: int) -> str:
        return f"{self.base_url.rstrip('/')}/console#incident-{incident_id}"

    def api(self, incident_id: int) -> str:
        return f"{self.base_url.rstrip('/')}/api/v1/incidents/{incident_id}"


class EscalationService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        timeline: Timeline,
        responders: IncidentActions,
        *,
        routing: Routing,
        links: Links,
        auto: AutoEscalation | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.timeline = timeline
        self.responders = responders
        self.routing = routing
        self.links = links
        self.auto = auto

    # --- out ----------------------------------------------------------------------------------

    async def escalate(
        self, incident_id: int, *, actor: str, surface: str, name: str | None = None
    ) -> EscalationOutcome:
        """Page PagerDuty for an incident, once: a second call (or a concurrent one, on any replica)
        answers `ALREADY_ESCALATED` and queues nothing. `actor`/`name` as in `Responders`."""
        now = self.clock.now()
        async with self.store.transaction() as conn:
            outcome = await self.escalate_within(conn, incident_id, by=name or actor, actor=actor, now=now)
            if outcome.result is EscalationResult.ESCALATED:
                await audit_rows.audit(
                    conn,
                    at=now,
                    actor=actor,
                    surface=surface,
                    action="escalate",
                    incident_id=incident_id,
                    detail={"dedup_key": outcome.dedup_key},
                )
        return outcome

    async def escalate_within(
        self,
        conn: AsyncConnection,
        incident_id: int,
        *,
        by: str,
        actor: str | None,
        now: datetime,
        only_unacknowledged: bool = False,
    ) -> EscalationOutcome:
        """`escalate` inside the caller's transaction (a playbook step records its own progress in
        the same one)."""
        incident = await escalation_rows.incident(conn, incident_id)
        if incident is None:
            return EscalationOutcome(EscalationResult.NOT_FOUND, f"no incident #{incident_id}")
        existing = await escalation_rows.of_incident(conn, incident_id)
        if existing is not None:
            return EscalationOutcome(
                EscalationResult.ALREADY_ESCALATED,
                f"#{incident_id} was already escalated to PagerDuty by {existing.triggered_by}",
                existing.dedup_key,
            )
        wanted = (
            {IncidentStatus.OPEN.value}
            if only_unacknowledged
            else {
                IncidentStatus.OPEN.value,
                IncidentStatus.ACKNOWLEDGED.value,
            }
        )
        if incident.status not in wanted:
            return EscalationOutcome(EscalationResult.NOT_OPEN, f"#{incident_id} is {incident.status}")
        services = [s for s in (incident.service, *incident.services) if s]
        routing_key = self.routing.key_for(list(dict.fromkeys(services)))
        if routing_key is None:
            shown = ", ".join(services) or "an incident without a service"
            return EscalationOutcome(
                EscalationResult.NO_ROUTE, f"no PagerDuty routing key for {shown} (and no default)"
            )
        dedup_key = dedup_key_for(incident_id, incident.opened_at)
        if not await escalation_rows.insert(
            conn,
            incident_id=incident_id,
            dedup_key=dedup_key,
            routing_key=routing_key,
            triggered_by=by,
            now=now,
        ):
            return EscalationOutcome(
                EscalationResult.ALREADY_ESCALATED, f"#{incident_id} was already escalated", dedup_key
            )
        facts = IncidentFacts(
            id=incident.id,
            title=incident.title,
            status=incident.status,
            priority=incident.priority,
            service=incident.service,
            services=incident.services,
            opened_at=incident.opened_at,
            reasons=incident.reasons,
            enrichment=incident.enrichment,
            team=self.routing.team_of(incident.service),
        )
        event = trigger_event(
            facts,
            routing_key=routing_key,
            dedup_key=dedup_key,
            console_url=self.links.console(incident_id),
            api_url=self.links.api(incident_id),
        )
        await self._queue(conn, incident_id, "trigger", event, now)
        await self.timeline.note(
            conn,
            incident_id,
            kind=ESCALATED_KIND,
            text=f"Escalated to PagerDuty by {by}",
            actor=actor,
            detail={"dedup_key": dedup_key},
            now=now,
        )
        return EscalationOutcome(
            EscalationResult.ESCALATED, f"#{incident_id} escalated to PagerDuty by {by}", dedup_key
        )

    async def follow(self, conn: AsyncConnection, incident_id: int, status: str, now: datetime) -> None:
        """Called inside the transaction that acknowledges or resolves `incident_id` in nocbot:
        tells PagerDuty the same, when the incident was escalated and PagerDuty does not know yet."""
        target = {
            IncidentStatus.ACKNOWLEDGED.value: ACKNOWLEDGED,
            IncidentStatus.RESOLVED.value: RESOLVED,
        }.get(status)
        if target is None:
            return
        escalation = await escalation_rows.of_incident(conn, incident_id, lock=True)
        if escalation is None or escalation.status == RESOLVED or escalation.status == target:
            return
        if not await escalation_rows.set_status(conn, escalation, target, now):
            return
        action = ACKNOWLEDGE if target == ACKNOWLEDGED else RESOLVE
        event = follow_event(action, routing_key=escalation.routing_key, dedup_key=escalation.dedup_key)
        await self._queue(conn, incident_id, action, event, now)

    async def escalate_overdue(self) -> list[int]:
        """The auto-escalation rule, one pass: returns the incidents escalated now. Safe on every
        replica at once (the dedup key is unique)."""
        if self.auto is None:
            return []
        now = self.clock.now()
        async with self.store.engine.connect() as conn:
            candidates = await escalation_rows.overdue(
                conn, max_priority=self.auto.max_priority, opened_before=now - self.auto.after
            )
        escalated: list[int] = []
        by = f"the auto-escalation rule ({self.auto})"
        for incident_id in candidates:
            async with self.store.transaction() as conn:
                outcome = await self.escalate_within(
                    conn, incident_id, by=by, actor=None, now=now, only_unacknowledged=True
                )
                if outcome.result is EscalationResult.ESCALATED:
                    await audit_rows.audit(
                        conn,
                        at=now,
                        actor="nocbot",
                        surface=SURFACE,
                        action="escalate",
                        incident_id=incident_id,
                        detail={"dedup_key": outcome.dedup_key, "rule": str(self.auto)},
                    )
                    escalated.append(incident_id)
                elif outcome.result is EscalationResult.NO_ROUTE:
                    log.warning("auto-escalation without a routing key", extra={"incident": incident_id})
        return escalated

    async def _queue(
        self, conn: AsyncConnection, incident_id: int, action: str, event: dict[str, object], now: datetime
    ) -> None:
        await outbox_rows.enqueue(
            conn,
            destination=DESTINATION,
            kind=action,
            key=f"pagerduty:{action}:{event['dedup_key']}",
            payload=dict(event),
            incident_id=incident_id,
            now=now,
        )

    # --- in -----------------------------------------------------------------------------------

    async def apply(self, event: WebhookEvent) -> WebhookResult:
        """Apply one verified webhook event. Each applied event is audited with its id, which is
        what makes a re-delivery (PagerDuty retries, or replays an old event) change nothing."""
        if not event.event_type.startswith("incident.") or event.incident_id is None:
            log.info("pagerduty webhook ignored", extra={"event_type": event.event_type, "event": event.id})
            return WebhookResult.IGNORED
        now = self.clock.now()
        who = event.agent or "PagerDuty"
        async with self.store.transaction() as conn:
            escalation = await escalation_rows.linked(
                conn, external_id=event.incident_id, dedup_key=event.incident_key, lock=True
            )
            if escalation is None:
                log.info(
                    "pagerduty webhook for an incident nocbot did not escalate",
                    extra={"event_type": event.event_type, "pagerduty_incident": event.incident_id},
                )
                return WebhookResult.UNKNOWN_INCIDENT
            incident_id = escalation.incident_id
            linked_now = escalation.external_incident_id is None and await escalation_rows.set_external_id(
                conn, escalation.id, event.incident_id
            )
            found = await incident_rows.status_of(conn, incident_id)
            status = found[0] if found is not None else IncidentStatus.RESOLVED.value
            note: str | None = None
            if event.id in await escalation_rows.applied_events(conn, incident_id):
                hand_over = _unfinished(escalation, event, status)
            else:
                note, hand_over = await self._decide(conn, escalation, event, who, status, linked_now, now)
                if note is not None:
                    await self._note(conn, incident_id, event, note, now)
                await audit_rows.audit(
                    conn,
                    at=now,
                    actor=f"{who} (PagerDuty)",
                    surface=SURFACE,
                    action=escalation_rows.WEBHOOK_ACTION,
                    incident_id=incident_id,
                    detail={"event_id": event.id, "event_type": event.event_type},
                )
        if hand_over is not None and await self._hand_over(incident_id, event, hand_over, who, now):
            return WebhookResult.APPLIED
        return WebhookResult.APPLIED if note is not None else WebhookResult.UNCHANGED

    async def _decide(
        self,
        conn: AsyncConnection,
        escalation: Escalation,
        event: WebhookEvent,
        who: str,
        status: str,
        linked_now: bool,
        now: datetime,
    ) -> tuple[str | None, str | None]:
        """(timeline note, responder action to take after the transaction) for one event."""
        action = event.action
        where = f"PagerDuty incident #{event.number}" if event.number else "PagerDuty"
        if action == "triggered":
            if not linked_now:
                return None, None
            link = f": {event.html_url}" if event.html_url else ""
            return f"Paged in PagerDuty as incident #{event.number or event.incident_id}{link}", None
        if action == "acknowledged":
            moved = await escalation_rows.set_status(conn, escalation, ACKNOWLEDGED, now)
            if status == IncidentStatus.OPEN.value:
                return None, "acknowledge"  # the responders note it ("Acknowledged by Ana (PagerDuty)")
            return (f"Acknowledged in PagerDuty by {who}" if moved else None), None
        if action == "resolved":
            moved = await escalation_rows.set_status(conn, escalation, RESOLVED, now)
            if status != IncidentStatus.RESOLVED.value:
                return None, "resolve"
            return (f"Resolved in PagerDuty by {who}" if moved else None), None
        if action == "unacknowledged":
            if not await escalation_rows.set_status(conn, escalation, TRIGGERED, now):
                return None, None
            return f"Unacknowledged in {where}: it pages again", None
        if action == "reopened":
            if not await escalation_rows.set_status(conn, escalation, TRIGGERED, now):
                return None, None
            return f"Reopened in {where} by {who}", None
        if action in ("escalated", "reassigned"):
            to = ", ".join(event.assignees) or "the next level"
            verb = "Escalated" if action == "escalated" else "Reassigned"
            return f"{verb} in {where} to {to}", None
        if action == "priority_updated":
            return await self._priority(conn, escalation.incident_id, event, who, now), None
        if action == "annotated" and event.note:
            return f"Note in PagerDuty by {who}: {event.note[:2000]}", None
        log.info("pagerduty webhook ignored", extra={"event_type": event.event_type, "event": event.id})
        return None, None

    async def _priority(
        self, conn: AsyncConnection, incident_id: int, event: WebhookEvent, who: str, now: datetime
    ) -> str | None:
        if event.priority is None:
            return f"Priority cleared in PagerDuty by {who}"
        matched = re.fullmatch(r"[Pp]([1-5])", event.priority.strip())
        if matched is None:
            # an account's own priority names: shown, not mapped onto nocbot's P1..P5
            return f"Priority set to {event.priority} in PagerDuty by {who}"
        priority = int(matched.group(1))
        current = await incident_rows.priorities_of(conn, [incident_id])
        if current.get(incident_id, (None, None))[0] != priority:
            # a person chose it: triage keeps it and it becomes a training label, like a responder's
            await incident_rows.set_priority(conn, incident_id, priority=priority, source=SURFACE, now=now)
        return f"Priority set to P{priority} in PagerDuty by {who}"

    async def _note(
        self, conn: AsyncConnection, incident_id: int, event: WebhookEvent, text: str, now: datetime
    ) -> None:
        await self.timeline.note(
            conn,
            incident_id,
            kind=NOTE_KIND,
            text=text,
            actor=f"{event.agent} (PagerDuty)" if event.agent else "PagerDuty",
            detail={
                "event_id": event.id,
                "event_type": event.event_type,
                "pagerduty_incident": event.incident_id,
            },
            now=now,
        )

    async def _hand_over(
        self, incident_id: int, event: WebhookEvent, action: str, who: str, now: datetime
    ) -> bool:
        """Acknowledge or resolve in nocbot as the PagerDuty user; False when someone in nocbot was
        first. The escalation already shows the new status, so `follow` sends nothing back."""
        actor = f"{who} (PagerDuty)"
        if action == "acknowledge":
            outcome = await self.responders.acknowledge(incident_id, actor=actor, surface=SURFACE)
        else:
            outcome = await self.responders.resolve(incident_id, actor=actor, surface=SURFACE)
        return outcome.result is Result.DONE


def _unfinished(escalation: Escalation, event: WebhookEvent, status: str) -> str | None:
    """For a re-delivered acknowledge or resolve: the hand-over still to do when the first delivery
    stopped between its two transactions (the escalation moved, the incident did not)."""
    if event.action == "acknowledged" and escalation.status == ACKNOWLEDGED:
        return "acknowledge" if status == IncidentStatus.OPEN.value else None
    if event.action == "resolved" and escalation.status == RESOLVED:
        return "resolve" if status != IncidentStatus.RESOLVED.value else None
    return None
