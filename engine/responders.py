"""What responders do to incidents, whatever surface they use (REST API now, chat next).

Every action is recorded in the audit log with the actor and the surface. A responder's priority is
final (triage keeps it) and becomes a training label for `nocbot train-priority`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from engine.clustering.editing import CorrectionError
from engine.ingest import IncidentChanges, IngestService
from engine.models import Priority
from engine.storage import audit_rows, incident_rows, playbook_rows


class Result(enum.StrEnum):
    DONE = "done"
    ALREADY_HANDLED = "already_handled"
    NOT_FOUND = "not_found"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    message: str


class Responders:
    def __init__(self, ingest: IngestService) -> None:
        self.ingest = ingest
        self.store = ingest.store
        self.clock = ingest.clock
        self.timeline = ingest.timeline

    async def acknowledge(
        self, incident_id: int, *, actor: str, surface: str, name: str | None = None
    ) -> Outcome:
        """`actor` identifies who (the audit log's key, e.g. "slack:U123"); `name` is how people
        know them (shown on the card), `actor` when not given."""
        now = self.clock.now()
        shown = name or actor
        async with self.store.transaction() as conn:
            if await incident_rows.priorities_of(conn, [incident_id]) == {}:
                return Outcome(Result.NOT_FOUND, f"no incident #{incident_id}")
            if not await incident_rows.acknowledge_incident(conn, incident_id, actor=shown, now=now):
                return Outcome(Result.ALREADY_HANDLED, f"#{incident_id} is already acknowledged or resolved")
            await self.timeline.note(
                conn, incident_id, kind="acknowledged", text=f"Acknowledged by {shown}", actor=actor, now=now
            )
            await self.timeline.status_changed(conn, [incident_id], "acknowledged", now)
            await audit_rows.audit(
                conn, at=now, actor=actor, surface=surface, action="acknowledge", incident_id=incident_id
            )
        self.ingest.announce(IncidentChanges(grown={incident_id}))
        return Outcome(Result.DONE, f"#{incident_id} acknowledged by {shown}")

    async def resolve(
        self, incident_id: int, *, actor: str, surface: str, name: str | None = None
    ) -> Outcome:
        shown = name or actor
        if not await self._exists(incident_id):
            return Outcome(Result.NOT_FOUND, f"no incident #{incident_id}")
        if not await self.ingest.resolve_by_hand(incident_id, shown):
            return Outcome(Result.ALREADY_HANDLED, f"#{incident_id} is already resolved")
        await self._audit(actor, surface, "resolve", incident_id, {})
        return Outcome(Result.DONE, f"#{incident_id} resolved by {shown}")

    async def auto_resolve(self, incident_id: int, *, playbook: str, run_id: int) -> Outcome:
        """A playbook run's checks passed: resolve the incident and record it as auto-resolved.

        The resolution and the flag are two transactions (resolving goes through the correlator);
        running this again after a crash between them still sets the flag, because the incident
        is resolved by this playbook's actor."""
        actor = f"playbook:{playbook}"
        if not await self._exists(incident_id):
            return Outcome(Result.NOT_FOUND, f"no incident #{incident_id}")
        closed = await self.ingest.resolve_by_hand(incident_id, actor)
        now = self.clock.now()
        async with self.store.transaction() as conn:
            marked = await playbook_rows.mark_auto_resolved(
                conn, incident_id, playbook=playbook, actor=actor, now=now
            )
            if marked:
                await audit_rows.audit(
                    conn,
                    at=now,
                    actor=actor,
                    surface="playbook",
                    action="auto_resolve",
                    incident_id=incident_id,
                    detail={"playbook": playbook, "run_id": run_id},
                )
        if marked:
            self.ingest.announce(IncidentChanges(closed={incident_id}))
        if not closed and not marked:
            return Outcome(Result.ALREADY_HANDLED, f"#{incident_id} was already resolved")
        return Outcome(Result.DONE, f"#{incident_id} resolved by playbook {playbook}")

    async def set_priority(
        self, incident_id: int, priority: Priority, *, actor: str, surface: str
    ) -> Outcome:
        now = self.clock.now()
        async with self.store.transaction() as conn:
            if not await incident_rows.set_priority(
                conn, incident_id, priority=int(priority), source="responder", now=now
            ):
                return Outcome(Result.NOT_FOUND, f"no incident #{incident_id}")
            text = f"priority set to {priority.name} by {actor}"
            await self.timeline.note(conn, incident_id, kind="prioritized", text=text, actor=actor, now=now)
            await audit_rows.audit(
                conn,
                at=now,
                actor=actor,
                surface=surface,
                action="set_priority",
                incident_id=incident_id,
                detail={"priority": priority.name},
            )
        self.ingest.announce(IncidentChanges(reprioritized={incident_id}))
        return Outcome(Result.DONE, f"#{incident_id} is now {priority.name}")

    async def merge(self, incident_id: int, into: int, *, actor: str, surface: str) -> Outcome:
        if incident_id == into:
            return Outcome(Result.INVALID, "an incident cannot be merged into itself")
        try:
            await self.ingest.merge(into, incident_id, actor)
        except CorrectionError as exc:
            return Outcome(Result.INVALID, str(exc))
        await self._audit(actor, surface, "merge", incident_id, {"into": into})
        return Outcome(Result.DONE, f"#{incident_id} merged into #{into}")

    async def split(self, incident_id: int, alert_ids: Sequence[int], *, actor: str, surface: str) -> Outcome:
        try:
            correction = await self.ingest.split(incident_id, alert_ids, actor)
        except CorrectionError as exc:
            return Outcome(Result.INVALID, str(exc))
        await self._audit(
            actor, surface, "split", incident_id, {"alerts": list(alert_ids), "new": correction.target}
        )
        return Outcome(
            Result.DONE, f"{len(alert_ids)} alerts moved from #{incident_id} to new #{correction.target}"
        )

    async def _exists(self, incident_id: int) -> bool:
        async with self.store.engine.connect() as conn:
            return bool(await incident_rows.priorities_of(conn, [incident_id]))

    async def _audit(
        self, actor: str, surface: str, action: str, incident_id: int, detail: dict[str, object]
    ) -> None:
        async with self.store.transaction() as conn:
            await audit_rows.audit(
                conn,
                at=self.clock.now(),
                actor=actor,
                surface=surface,
                action=action,
                incident_id=incident_id,
                detail=detail,
            )
