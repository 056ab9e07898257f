"""`ChatActions` implemented over the engine: what a click, a command or a question does.

Surfaces translate; this decides. Stale clicks: acknowledging, resolving or running a playbook
on an incident that changed since the card was drawn is still what the responder meant, so it is
done (a second click finds it already handled); merging or splitting a changed incident is refused
as stale and the card is redrawn, because what the responder saw is no longer what would be acted on.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from bot.actions import (
    ActionOutcome,
    Actor,
    ChatReply,
    Outcome,
    format_duration,
    parse_duration,
)
from engine.clock import Clock
from engine.clustering.silences import Matcher, MatchOp, Silence
from engine.ingest import IngestService
from engine.models import IncidentStatus, Priority
from engine.responders import Responders, Result
from engine.storage import audit_rows, incident_rows
from engine.storage.incident_rows import IncidentFilter
from engine.view import ActionKind
from nlq.answer import Answer
from nlq.errors import CannotAnswer

log = logging.getLogger("nocbot.actions")

STATUS_LIMIT = 10
# labels that name one instance, not the problem: a silence on them would be too narrow to help
_INSTANCE_LABELS = frozenset({"instance", "pod", "container", "job", "endpoint", "__name__"})


class PlaybookActions(Protocol):
    async def request(self, incident_id: int, name: str, actor: Actor) -> ActionOutcome: ...
    async def approve(self, run_id: int, actor: Actor) -> ActionOutcome: ...
    async def deny(self, run_id: int, actor: Actor) -> ActionOutcome: ...
    async def cancel(self, run_id: int, actor: Actor) -> ActionOutcome: ...


class EscalationActions(Protocol):
    async def escalate(self, incident_id: int, actor: Actor) -> ActionOutcome: ...


Asker = Callable[[str], Awaitable[Answer]]

_RESULTS: Mapping[Result, Outcome] = {
    Result.DONE: Outcome.DONE,
    Result.ALREADY_HANDLED: Outcome.ALREADY_HANDLED,
    Result.NOT_FOUND: Outcome.NOT_FOUND,
    Result.INVALID: Outcome.INVALID,
}
# a newer version (more alerts, new enrichment) changes what these would do; a playbook is
# checked against the incident by the playbook service itself when it is requested
_CHANGES_MEANING = frozenset({ActionKind.MERGE, ActionKind.SPLIT})


class ActionLayer:
    def __init__(
        self,
        responders: Responders,
        ingest: IngestService,
        clock: Clock,
        *,
        ask: Asker,
        playbooks: PlaybookActions | None = None,
        escalation: EscalationActions | None = None,
    ) -> None:
        self.responders = responders
        self.ingest = ingest
        self.store = ingest.store
        self.clock = clock
        self._ask = ask
        self.playbooks = playbooks
        self.escalation = escalation

    async def act(
        self, actor: Actor, incident_id: int, version: int, action: ActionKind, argument: str | None
    ) -> ActionOutcome:
        if action in (ActionKind.APPROVE_RUN, ActionKind.DENY_RUN, ActionKind.CANCEL_RUN):
            return await self._decide_run(actor, action, argument)
        async with self.store.engine.connect() as conn:
            current = await incident_rows.status_of(conn, incident_id)
        if current is None:
            return ActionOutcome(Outcome.NOT_FOUND, f"Incident #{incident_id} no longer exists.")
        status, current_version = current
        if action in _CHANGES_MEANING and version < current_version:
            await self._redraw(incident_id)
            return ActionOutcome(
                Outcome.STALE,
                f"Incident #{incident_id} changed since this card was drawn; it is being redrawn — "
                "look again and click once more if it still applies.",
            )
        if status == IncidentStatus.RESOLVED and action is not ActionKind.RESOLVE:
            return ActionOutcome(Outcome.ALREADY_HANDLED, f"Incident #{incident_id} is already resolved.")
        match action:
            case ActionKind.ACKNOWLEDGE:
                return _outcome(
                    await self.responders.acknowledge(
                        incident_id, actor=actor.key, surface=actor.surface.value, name=actor.display_name
                    )
                )
            case ActionKind.RESOLVE:
                return _outcome(
                    await self.responders.resolve(
                        incident_id, actor=actor.key, surface=actor.surface.value, name=actor.display_name
                    )
                )
            case ActionKind.SILENCE:
                return await self._silence_incident(actor, incident_id, argument)
            case ActionKind.ESCALATE:
                if self.escalation is None:
                    return ActionOutcome(Outcome.INVALID, "PagerDuty is not configured on this nocbot.")
                return await self.escalation.escalate(incident_id, actor)
            case ActionKind.RUN_PLAYBOOK:
                if self.playbooks is None:
                    return ActionOutcome(Outcome.INVALID, "No playbooks are configured on this nocbot.")
                if not argument:
                    return ActionOutcome(Outcome.INVALID, "Which playbook? The button carried no name.")
                return await self.playbooks.request(incident_id, argument, actor)
            case ActionKind.MERGE:
                if argument is None or not argument.isdigit():
                    return ActionOutcome(Outcome.INVALID, "Merge into which incident?")
                return _outcome(
                    await self.responders.merge(
                        incident_id, int(argument), actor=actor.key, surface=actor.surface.value
                    )
                )
            case ActionKind.SPLIT:
                # choosing alerts needs a list of them: the console's incident page has it
                return ActionOutcome(
                    Outcome.INVALID,
                    f"Pick the alerts to split off on the incident's page (console #{incident_id}) "
                    f"or POST /api/v1/incidents/{incident_id}/split.",
                )
        return ActionOutcome(Outcome.INVALID, f"Unknown action {action.value!r}.")

    async def ask(self, actor: Actor, question: str) -> ChatReply:
        try:
            answer = await self._ask(question)
        except CannotAnswer as exc:
            return ChatReply(exc.message, answered=False, suggestions=exc.suggestions)
        except Exception:
            log.exception("question failed", extra={"question": question[:200]})
            return ChatReply(
                "I could not answer that right now; the error is in nocbot's log.", answered=False
            )
        details = [f"{answer.start:%Y-%m-%d %H:%M} – {answer.end:%Y-%m-%d %H:%M} ({answer.resolution} data)"]
        rows = tuple(tuple(_cell(value) for value in row) for row in answer.rows)
        return ChatReply(
            answer.text,
            tuple(details),
            columns=tuple(answer.columns) if len(answer.rows) > 1 else (),
            rows=rows if len(answer.rows) > 1 else (),
            sql=answer.sql,
        )

    async def silence(
        self, actor: Actor, matchers: tuple[Matcher, ...], duration: timedelta, comment: str
    ) -> ActionOutcome:
        if not matchers:
            return ActionOutcome(
                Outcome.INVALID, "A silence needs at least one matcher, e.g. service=search."
            )
        return await self._create_silence(actor, matchers, duration, comment, None)

    async def status(self, actor: Actor) -> ChatReply:
        page = await self.store.list_incidents(IncidentFilter(status="open", limit=200))
        acknowledged = await self.store.list_incidents(IncidentFilter(status="acknowledged", limit=200))
        active = [*page.items, *acknowledged.items]
        silences = await self.ingest.silences()
        if not active:
            text = "All quiet: no open incidents."
        else:
            by_priority: dict[str, int] = {}
            for record in active:
                name = Priority(record.priority).name if record.priority is not None else "unscored"
                by_priority[name] = by_priority.get(name, 0) + 1
            counts = ", ".join(f"{count} {name}" for name, count in sorted(by_priority.items()))
            text = f"{len(active)} incidents need attention: {counts}."
        worst = sorted(active, key=lambda r: (r.priority or 9, r.id))[:STATUS_LIMIT]
        details = [
            f"#{r.id} {Priority(r.priority).name if r.priority else '—'} {r.title} ({r.status}, "
            f"{r.alert_count} alerts)"
            for r in worst
        ]
        if silences:
            details.append(f"{len(silences)} silences in force")
        return ChatReply(text, tuple(details))

    # -- the parts -----------------------------------------------------------------------------------

    async def _decide_run(self, actor: Actor, action: ActionKind, argument: str | None) -> ActionOutcome:
        if self.playbooks is None:
            return ActionOutcome(Outcome.INVALID, "No playbooks are configured on this nocbot.")
        if argument is None or not argument.isdigit():
            return ActionOutcome(Outcome.INVALID, "Which playbook run? The button carried no run id.")
        run_id = int(argument)
        if action is ActionKind.APPROVE_RUN:
            return await self.playbooks.approve(run_id, actor)
        if action is ActionKind.DENY_RUN:
            return await self.playbooks.deny(run_id, actor)
        return await self.playbooks.cancel(run_id, actor)

    async def _silence_incident(self, actor: Actor, incident_id: int, argument: str | None) -> ActionOutcome:
        try:
            duration = parse_duration(argument or "")
        except ValueError as exc:
            return ActionOutcome(Outcome.INVALID, str(exc))
        detail = await self.store.get_incident(incident_id)
        if detail is None:
            return ActionOutcome(Outcome.NOT_FOUND, f"Incident #{incident_id} no longer exists.")
        matchers = incident_matchers([dict(stored.alert.labels) for stored in detail.alerts])
        if not matchers:
            return ActionOutcome(
                Outcome.INVALID, f"The alerts of #{incident_id} share no label to silence on."
            )
        comment = f"silenced from incident #{incident_id}"
        return await self._create_silence(actor, matchers, duration, comment, incident_id)

    async def _create_silence(
        self,
        actor: Actor,
        matchers: tuple[Matcher, ...],
        duration: timedelta,
        comment: str,
        incident_id: int | None,
    ) -> ActionOutcome:
        now = self.clock.now()
        silence = Silence(
            id="0",
            matchers=matchers,
            starts_at=now,
            ends_at=now + duration,
            created_by=actor.key,
            comment=comment,
        )
        silence_id = await self.ingest.silence(silence)
        shown = ", ".join(f"{m.name}{m.op.value}{m.value}" for m in matchers)
        length = format_duration(duration)
        text = f"Silenced {shown} for {length} by {actor.display_name} (silence #{silence_id})"
        async with self.store.transaction() as conn:
            if incident_id is not None:
                await self.ingest.timeline.note(
                    conn, incident_id, kind="silenced", text=text, actor=actor.key, now=now
                )
            await audit_rows.audit(
                conn,
                at=now,
                actor=actor.key,
                surface=actor.surface.value,
                action="silence",
                incident_id=incident_id,
                detail={"silence": silence_id, "matchers": shown, "seconds": int(duration.total_seconds())},
            )
        return ActionOutcome(Outcome.DONE, text)

    async def _redraw(self, incident_id: int) -> None:
        async with self.store.transaction() as conn:
            await self.ingest.timeline.redraw(conn, [incident_id], self.clock.now())


def incident_matchers(labels: Sequence[Mapping[str, str]]) -> tuple[Matcher, ...]:
    """Matchers that catch every alert of an incident and as little else as possible: the labels all
    its alerts share (instance-level ones left out); else one alertname regex over their names."""
    if not labels:
        return ()
    shared = set(labels[0].items())
    for more in labels[1:]:
        shared &= set(more.items())
    kept = sorted((name, value) for name, value in shared if name not in _INSTANCE_LABELS)
    if kept:
        return tuple(Matcher(name, MatchOp.EQUAL, value) for name, value in kept)
    names = sorted({item["alertname"] for item in labels if item.get("alertname")})
    if not names:
        return ()
    return (Matcher("alertname", MatchOp.REGEX, "|".join(re.escape(name) for name in names)),)


def _outcome(outcome: Any) -> ActionOutcome:
    return ActionOutcome(_RESULTS[outcome.result], outcome.message)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return "" if value is None else str(value)
