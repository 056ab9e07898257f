"""Rebuilding engine state on startup from the open incidents the service stored.

Membership is taken as stored (people may have split and merged since); aggregates, indexes,
timers and flap histories are derived again from the alerts' own timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.clustering import lifecycle
from engine.clustering.dedup import AlertInstance, AlertKey
from engine.clustering.explanation import Explanation, Reason, ReasonKind
from engine.clustering.features import extract_features
from engine.clustering.incident import Incident, Member
from engine.clustering.records import StoredIncident
from engine.clustering.state import EngineState
from engine.models import AlertStatus

_RESTORED = Reason(ReasonKind.RESTORED, "restored from storage")


def restore(state: EngineState, stored: Iterable[StoredIncident], now: float) -> None:
    state.clock = max(state.clock, now)
    config = state.config
    transitions: list[tuple[float, str]] = []
    for record in stored:
        if record.id in state.incidents:
            raise ValueError(f"incident #{record.id} is already loaded")
        if not record.alerts:
            raise ValueError(f"incident #{record.id} has no alerts")
        state.ids.reserve(record.id)
        incident = Incident(record.id, change=record.change)
        for position, alert in enumerate(sorted(record.alerts, key=lambda a: a.starts_at)):
            key = AlertKey.of(alert)
            if key in state.instances:
                raise ValueError(f"alert {key.fingerprint}@{key.starts_at.isoformat()} is in two incidents")
            features = extract_features(
                alert,
                catalog=state.catalog,
                semantics=config.semantics,
                weights=config.text_weights,
                signatures=state.signatures,
            )
            refire = key.fingerprint in incident.fingerprints
            explanation = Explanation(record.id, position > 0, (_RESTORED,))
            incident.add(
                Member(key, features, explanation, refire), state.topology, config.max_signatures_per_incident
            )
            resolved = alert.status is AlertStatus.RESOLVED
            instance = AlertInstance(
                key, None if resolved else alert, record.id, first_seen=now, last_seen=now
            )
            state.instances[key] = instance
            transitions.append((features.starts_at, key.fingerprint))
            if resolved:
                ended = alert.ends_at.timestamp() if alert.ends_at is not None else now
                instance.resolved_at = now
                instance.ended_at = ended
                transitions.append((ended, key.fingerprint))
            else:
                incident.firing.add(key)
                if config.stale_after is not None:
                    state.schedule(state.stale_queue, now + config.stale_after.total_seconds(), key)
            latest = state.latest_by_fingerprint.get(key.fingerprint)
            if latest is None or latest.starts_at <= key.starts_at:
                state.latest_by_fingerprint[key.fingerprint] = key
        # Stored times are the alerts' own: the window is measured from when they started.
        incident.opened_clock = incident.opened_at
        incident.last_joined_clock = incident.last_new_alert_at
        state.incidents[record.id] = incident
        lifecycle.reindex(state, incident, state.clock)
        if not incident.firing and config.resolve_when_alerts_resolve:
            incident.last_resolved_clock = now
            state.schedule(state.close_queue, now + config.resolve_quiet_period.total_seconds(), record.id)
    for at, fingerprint in sorted(transitions):
        state.flaps.record(fingerprint, at)
