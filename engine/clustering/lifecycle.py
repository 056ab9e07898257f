"""Time-driven state changes: sealing, resolving and closing incidents, expiring and evicting.

Nothing here runs on its own: the engine calls `advance` with the clock it is given, so replays
behave exactly like the live service and tests control time completely.
"""

from __future__ import annotations

from datetime import UTC, datetime

from engine.clustering.dedup import AlertInstance
from engine.clustering.incident import Incident
from engine.clustering.records import IncidentClosure
from engine.clustering.state import EngineState

# Housekeeping that scans (old change events) runs at most this often, in engine time.
_SWEEP_INTERVAL = 60.0


def advance(state: EngineState, now: float) -> list[IncidentClosure]:
    """Run every timer due at `now`; returns the incidents that closed."""
    state.clock = max(state.clock, now)
    now = state.clock
    if now < state.wakeup:
        return []
    _seal_due(state, now)
    _expire_stale(state, now)
    closures = _close_due(state, now)
    _evict_due(state, now)
    if now >= state.next_sweep:
        state.flaps.forget_idle(now)
        config = state.config
        horizon = config.change_window + config.max_span + config.late_delivery_allowance
        state.changes.forget_before(now - horizon.total_seconds())
        state.next_sweep = now + _SWEEP_INTERVAL
    state.wakeup = state.next_timer()
    return closures


def reindex(state: EngineState, incident: Incident, now: float) -> None:
    """Put the incident in the join index under all its members, if its window is still open."""
    state.unindex(incident.id)
    if not incident.is_open:
        return
    deadline = state.seal_deadline(incident)
    if deadline <= now:
        return
    for member in incident.members.values():
        state.index_member(incident, member.features)
    state.schedule(state.seal_queue, deadline, incident.id)


def resolve_instance(state: EngineState, instance: AlertInstance, now: float, ended_at: float) -> bool:
    """Mark the instance resolved; True when that resolved (closed) its incident right away."""
    if not instance.firing:
        return False
    instance.resolved_at = now
    instance.ended_at = ended_at
    instance.alert = None
    state.flaps.record(instance.key.fingerprint, ended_at)
    incident = state.incidents.get(instance.incident_id)
    if incident is None:
        return False
    incident.firing.discard(instance.key)
    incident.last_resolved_clock = now
    if incident.firing or not incident.is_open or not state.config.resolve_when_alerts_resolve:
        return False
    quiet = state.config.resolve_quiet_period.total_seconds()
    blocked_until = flap_block(state, incident)
    if quiet == 0.0 and (blocked_until is None or blocked_until <= now):
        close_incident(state, incident, now, "all alerts resolved")
        return True
    state.schedule(state.close_queue, max(now + quiet, blocked_until or now), incident.id)
    return False


def flap_block(state: EngineState, incident: Incident) -> float | None:
    """When the last flapping fingerprint of the incident becomes stable, if any is flapping.

    A flapping alert's incident stays open while it flaps, so that its next firing rejoins it
    instead of opening one incident per firing.
    """
    latest: float | None = None
    for fingerprint in incident.fingerprints:
        stable = state.flaps.stable_at(fingerprint)
        if stable is not None and (latest is None or stable > latest):
            latest = stable
    return latest


def close_incident(
    state: EngineState, incident: Incident, now: float, reason: str, merged_into: int | None = None
) -> IncidentClosure:
    incident.closed_at = now
    incident.merged_into = merged_into
    state.unindex(incident.id)
    state.schedule(state.evict_queue, now + state.config.closed_retention.total_seconds(), incident.id)
    return IncidentClosure(incident.id, _datetime(now), reason, merged_into)


def _seal_due(state: EngineState, now: float) -> None:
    for _, incident_id in state.seal_queue.pop_due(now):
        incident = state.incidents.get(incident_id)
        if incident is None or incident_id not in state.index:
            continue
        deadline = state.seal_deadline(incident)
        if deadline <= now:
            state.unindex(incident_id)
        else:
            state.schedule(state.seal_queue, deadline, incident_id)


def _expire_stale(state: EngineState, now: float) -> None:
    stale_after = state.config.stale_after
    if stale_after is None:
        return
    limit = stale_after.total_seconds()
    for _, key in state.stale_queue.pop_due(now):
        instance = state.instances.get(key)
        if instance is None or not instance.firing:
            continue
        deadline = instance.last_seen + limit
        if deadline <= now:
            # Its resolution was lost (Alertmanager would have re-sent a firing alert by now).
            resolve_instance(state, instance, now, now)
        else:
            state.schedule(state.stale_queue, deadline, key)


def _close_due(state: EngineState, now: float) -> list[IncidentClosure]:
    closures: list[IncidentClosure] = []
    quiet = state.config.resolve_quiet_period.total_seconds()
    for _, incident_id in state.close_queue.pop_due(now):
        incident = state.incidents.get(incident_id)
        if incident is None or not incident.is_open or incident.firing:
            continue
        resolved_at = incident.last_resolved_clock if incident.last_resolved_clock is not None else now
        due = resolved_at + quiet
        blocked_until = flap_block(state, incident)
        if blocked_until is not None:
            due = max(due, blocked_until)
        if due > now:
            state.schedule(state.close_queue, due, incident_id)
            continue
        # Stamped when it became due, not when the clock was next looked at.
        closures.append(close_incident(state, incident, due, "all alerts resolved"))
    return closures


def _evict_due(state: EngineState, now: float) -> None:
    for _, incident_id in state.evict_queue.pop_due(now):
        incident = state.incidents.get(incident_id)
        if incident is None or incident.is_open:
            continue
        del state.incidents[incident_id]
        for key in incident.members:
            instance = state.instances.get(key)
            if instance is not None and instance.incident_id == incident_id:
                del state.instances[key]
            if state.latest_by_fingerprint.get(key.fingerprint) == key:
                del state.latest_by_fingerprint[key.fingerprint]


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
