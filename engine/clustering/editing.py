"""Split and merge applied to the engine state (the records themselves are in `corrections`)."""

from __future__ import annotations

from datetime import datetime

from engine.clustering import lifecycle
from engine.clustering.corrections import Correction, CorrectionKind
from engine.clustering.dedup import AlertKey
from engine.clustering.explanation import Explanation, Reason, ReasonKind
from engine.clustering.incident import Incident, Member
from engine.clustering.records import IncidentClosure
from engine.clustering.state import EngineState


class CorrectionError(ValueError):
    """The split or merge cannot be applied; the message says why."""


def open_incident(state: EngineState, incident_id: int) -> Incident:
    incident = state.incidents.get(incident_id)
    if incident is None:
        raise CorrectionError(f"incident #{incident_id} is unknown (never seen, or evicted)")
    if not incident.is_open:
        raise CorrectionError(f"incident #{incident_id} is resolved; resolved incidents do not change")
    return incident


def split(
    state: EngineState,
    incident_id: int,
    keys: tuple[AlertKey, ...],
    now: datetime,
    *,
    actor: str | None,
    note: str | None,
) -> Correction:
    source = open_incident(state, incident_id)
    moving = set(keys)
    if not moving:
        raise CorrectionError("a split needs at least one alert to move")
    unknown = moving - source.members.keys()
    if unknown:
        raise CorrectionError(f"{len(unknown)} of the alerts are not in incident #{incident_id}")
    if moving == source.members.keys():
        raise CorrectionError("a split must leave at least one alert behind (close the incident instead)")

    target = Incident(
        state.ids.allocate(),
        opened_clock=source.opened_clock,
        last_joined_clock=source.last_joined_clock,
        change=source.change,
    )
    state.incidents[target.id] = target
    by = f" by {actor}" if actor else ""
    reason = Reason(ReasonKind.MANUAL, f"split out of #{source.id}{by}")
    moved = [_relabel(source.members[k], target.id, reason) for k in keys]
    staying = [m for k, m in source.members.items() if k not in moving]
    _repopulate(state, target, moved, firing_from=source)
    _repopulate(state, source, staying, firing_from=source)
    return Correction(
        CorrectionKind.SPLIT,
        source.id,
        target.id,
        tuple(keys),
        tuple(m.key for m in staying),
        now,
        actor,
        note,
    )


def merge(
    state: EngineState,
    into: int,
    other: int,
    now: datetime,
    *,
    actor: str | None,
    note: str | None,
    reason: Reason | None = None,
) -> tuple[Correction, IncidentClosure]:
    """Move everything of `other` into `into`; `reason` replaces the default "merged by <actor>"."""
    if into == other:
        raise CorrectionError("an incident cannot be merged into itself")
    target = open_incident(state, into)
    source = open_incident(state, other)
    by = f" by {actor}" if actor else ""
    reason = reason or Reason(ReasonKind.MANUAL, f"merged from #{source.id}{by}")
    kept = tuple(target.members)
    moved = [_relabel(m, target.id, reason) for m in source.members.values()]
    target.firing |= source.firing
    target.opened_clock = min(target.opened_clock, source.opened_clock)
    target.last_joined_clock = max(target.last_joined_clock, source.last_joined_clock)
    if target.change is None:
        target.change = source.change
    _repopulate(state, target, [*target.members.values(), *moved], firing_from=target)
    source.members = {}
    source.firing = set()
    closure = lifecycle.close_incident(
        state, source, state.clock, f"merged into #{target.id}", merged_into=target.id
    )
    moved_keys = tuple(m.key for m in moved)
    correction = Correction(CorrectionKind.MERGE, source.id, target.id, moved_keys, kept, now, actor, note)
    return correction, closure


def _relabel(member: Member, incident_id: int, reason: Reason) -> Member:
    # The original reasons stay after the manual one: they are what the engine got wrong.
    explanation = Explanation(incident_id, True, (reason, *member.explanation.reasons))
    return Member(member.key, member.features, explanation, refire=False)


def _repopulate(
    state: EngineState, incident: Incident, members: list[Member], *, firing_from: Incident
) -> None:
    firing = {m.key for m in members if m.key in firing_from.firing}
    incident.firing = firing
    incident.rebuild(members, state.topology, state.config.max_signatures_per_incident)
    incident.firing = firing
    for member in members:
        state.instances[member.key].incident_id = incident.id
    clock = state.clock
    lifecycle.reindex(state, incident, clock)
    if not incident.firing and state.config.resolve_when_alerts_resolve:
        incident.last_resolved_clock = incident.last_resolved_clock or clock
        quiet = state.config.resolve_quiet_period.total_seconds()
        state.schedule(state.close_queue, clock + quiet, incident.id)
