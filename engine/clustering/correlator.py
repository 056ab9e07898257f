"""`AlertCorrelator`: deliveries in, decisions out; the only public way into the engine's state.

The clock is always an argument (the alert's own timestamps in replays), so the engine is a pure
state machine: the same deliveries at the same times give the same incidents, live or replayed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from engine.catalog import Catalog
from engine.clustering import common_cause, editing, lifecycle, restore
from engine.clustering.config import ClusteringConfig
from engine.clustering.corrections import Correction
from engine.clustering.dedup import AlertInstance, AlertKey, InstanceOutcome, classify
from engine.clustering.features import extract_features
from engine.clustering.ids import IncidentIdAllocator, SequentialIds
from engine.clustering.incident import Incident, IncidentSnapshot, IncidentSummary, Member
from engine.clustering.placement import place
from engine.clustering.records import Decision, IncidentClosure, StoredIncident
from engine.clustering.silences import Silence, silencing
from engine.clustering.state import EngineState
from engine.models import Alert, AlertStatus, ChangeEvent


class AlertCorrelator:
    def __init__(
        self,
        config: ClusteringConfig | None = None,
        catalog: Catalog | None = None,
        *,
        ids: IncidentIdAllocator | None = None,
    ) -> None:
        self._state = EngineState.create(
            config or ClusteringConfig(), catalog or Catalog.empty(), ids or SequentialIds()
        )

    @property
    def config(self) -> ClusteringConfig:
        return self._state.config

    # -- inputs ---------------------------------------------------------------------------------

    def ingest(self, alert: Alert, now: datetime) -> Decision:
        state = self._state
        clock = now.timestamp()
        closed = tuple(lifecycle.advance(state, clock))
        clock = state.clock
        key = AlertKey.of(alert)
        instance = state.instances.get(key)
        outcome = classify(instance, alert)
        if instance is None:
            return self._admit(alert, key, clock, now, closed)
        instance.last_seen = clock
        instance.deliveries += 1
        silenced_by: tuple[str, ...] = ()
        incident_closed_now = False
        if outcome is InstanceOutcome.RESOLVED:
            ended = alert.ends_at.timestamp() if alert.ends_at is not None else clock
            incident_closed_now = lifecycle.resolve_instance(state, instance, clock, ended)
        elif outcome is InstanceOutcome.UPDATED:
            instance.alert = alert
            silenced_by = silencing(alert, state.silences, now)
        return self._decision(
            instance, outcome, silenced_by, notify=False, closed=closed, closed_now=incident_closed_now
        )

    def record_change(self, change: ChangeEvent) -> None:
        """A deploy or config change; alerts on it or its dependents soon after are related to it."""
        self._state.changes.record(change)

    def set_silences(self, silences: Iterable[Silence]) -> None:
        """Replace the silences in force (the service keeps them in its database)."""
        self._state.silences = tuple(silences)

    def tick(self, now: datetime) -> tuple[IncidentClosure, ...]:
        """Let time pass without a delivery (call periodically): closes quiet incidents, evicts old state."""
        return tuple(lifecycle.advance(self._state, now.timestamp()))

    def restore(self, incidents: Iterable[StoredIncident], now: datetime) -> None:
        """Load the open incidents stored by the service, before the first delivery after startup."""
        restore.restore(self._state, incidents, now.timestamp())

    # -- corrections ----------------------------------------------------------------------------

    def split(
        self,
        incident_id: int,
        alerts: Iterable[AlertKey],
        now: datetime,
        *,
        actor: str | None = None,
        note: str | None = None,
    ) -> Correction:
        """Move `alerts` out of the incident into a new one."""
        lifecycle.advance(self._state, now.timestamp())
        return editing.split(self._state, incident_id, tuple(alerts), now, actor=actor, note=note)

    def merge(
        self, into: int, other: int, now: datetime, *, actor: str | None = None, note: str | None = None
    ) -> Correction:
        """Move every alert of incident `other` into incident `into`; `other` closes as merged."""
        lifecycle.advance(self._state, now.timestamp())
        correction, _ = editing.merge(self._state, into, other, now, actor=actor, note=note)
        return correction

    def close(self, incident_id: int, now: datetime, *, actor: str | None = None) -> IncidentClosure:
        """Resolve an incident by hand; it takes no new alerts afterwards."""
        state = self._state
        lifecycle.advance(state, now.timestamp())
        incident = editing.open_incident(state, incident_id)
        reason = f"closed by {actor}" if actor else "closed by hand"
        return lifecycle.close_incident(state, incident, state.clock, reason)

    # -- reads ----------------------------------------------------------------------------------

    def incident(self, incident_id: int) -> IncidentSnapshot | None:
        incident = self._state.incidents.get(incident_id)
        return None if incident is None else incident.snapshot()

    def summary(self, incident_id: int) -> IncidentSummary | None:
        """The incident without its members: cheap however large it grew."""
        incident = self._state.incidents.get(incident_id)
        return None if incident is None else incident.summary()

    def is_duplicate(self, alert: Alert) -> bool:
        """Whether `alert` repeats an instance the engine holds, unchanged (pure: changes nothing)."""
        instance = self._state.instances.get(AlertKey.of(alert))
        return instance is not None and classify(instance, alert) is InstanceOutcome.DUPLICATE

    def incident_of(self, key: AlertKey) -> int | None:
        instance = self._state.instances.get(key)
        return None if instance is None else instance.incident_id

    def open_incidents(self) -> list[IncidentSnapshot]:
        return [i.snapshot() for i in self._state.incidents.values() if i.is_open]

    def memory(self) -> dict[str, int]:
        """Sizes of the engine's tables, for monitoring that state stays bounded."""
        state = self._state
        return {
            "instances": len(state.instances),
            "incidents": len(state.incidents),
            "open_incidents": sum(1 for i in state.incidents.values() if i.is_open),
            "indexed_incidents": len(state.index),
            "fingerprints": len(state.latest_by_fingerprint),
            "flap_histories": len(state.flaps),
            "changes": len(state.changes),
        }

    # -- internals ------------------------------------------------------------------------------

    def _admit(
        self, alert: Alert, key: AlertKey, clock: float, now: datetime, closed: tuple[IncidentClosure, ...]
    ) -> Decision:
        state = self._state
        config = state.config
        features = extract_features(
            alert,
            catalog=state.catalog,
            semantics=config.semantics,
            weights=config.text_weights,
            signatures=state.signatures,
        )
        closed_now = self._supersede(key, clock, features.starts_at)
        flap = state.flaps.record(key.fingerprint, features.starts_at)
        change = state.changes.latest_before(self._blame_scope(features.service), features.starts_at)
        placement = place(state, features, key.fingerprint, flap, change)

        incident = placement.incident
        opened = incident is None
        if incident is None:
            incident = Incident(state.ids.allocate(), opened_clock=clock, change=change)
            state.incidents[incident.id] = incident
        new_fingerprint = key.fingerprint not in incident.fingerprints
        member = Member(key, features, placement.explanation.with_incident(incident.id), placement.refire)
        incident.add(member, state.topology, config.max_signatures_per_incident)
        incident.firing.add(key)
        if incident.change is None and change is not None:
            incident.change = change
        instance = AlertInstance(key, alert, incident.id, first_seen=clock, last_seen=clock)
        state.instances[key] = instance
        latest = state.latest_by_fingerprint.get(key.fingerprint)
        if latest is None or latest.starts_at <= key.starts_at:
            state.latest_by_fingerprint[key.fingerprint] = key
        if config.stale_after is not None:
            state.schedule(state.stale_queue, clock + config.stale_after.total_seconds(), key)
        if not placement.refire:
            incident.last_joined_clock = clock
            state.index_member(incident, features)
            state.schedule(state.seal_queue, state.seal_deadline(incident), incident.id)
            merged = tuple(common_cause.merge_explained(state, incident, features, placement.qualified, now))
        else:
            merged = ()

        if alert.status is AlertStatus.RESOLVED:
            ended = alert.ends_at.timestamp() if alert.ends_at is not None else clock
            closed_now = lifecycle.resolve_instance(state, instance, clock, ended) or closed_now

        silenced_by = silencing(alert, state.silences, now)
        notify = not silenced_by and not flap.flapping and new_fingerprint
        return self._decision(
            instance,
            InstanceOutcome.NEW,
            silenced_by,
            notify=notify,
            closed=closed,
            closed_now=closed_now,
            opened=opened,
            merged=merged,
        )

    def _decision(
        self,
        instance: AlertInstance,
        outcome: InstanceOutcome,
        silenced_by: tuple[str, ...],
        *,
        notify: bool,
        closed: tuple[IncidentClosure, ...],
        closed_now: bool,
        opened: bool = False,
        merged: tuple[IncidentClosure, ...] = (),
    ) -> Decision:
        state = self._state
        incident = state.incidents[instance.incident_id]
        flapping, flap_count = state.flaps.flapping_now(instance.key.fingerprint, state.clock)
        return Decision(
            key=instance.key,
            outcome=outcome,
            incident_id=incident.id,
            opened=opened,
            explanation=incident.members[instance.key].explanation,
            notify=notify,
            silenced_by=silenced_by,
            flapping=flapping,
            flap_count=flap_count,
            incident_resolved=closed_now or not incident.is_open,
            closed_incidents=closed,
            merged_incidents=merged,
        )

    def _supersede(self, key: AlertKey, clock: float, started: float) -> bool:
        """End the fingerprint's previous instance if it still fires; True if that closed its incident.

        Alertmanager has one active alert per fingerprint, so a new startsAt means the previous
        firing ended and its resolution was lost; left firing, it would hold its incident open.
        """
        state = self._state
        previous_key = state.latest_by_fingerprint.get(key.fingerprint)
        if previous_key is None or previous_key.starts_at >= key.starts_at:
            return False
        previous = state.instances.get(previous_key)
        if previous is None or not previous.firing:
            return False
        return lifecycle.resolve_instance(state, previous, clock, started)

    def _blame_scope(self, service: str | None) -> Iterable[str]:
        """Services whose changes could explain an alert on `service`: itself and what it depends on."""
        if service is None:
            return ()
        if service in self._state.topology:
            return (service, *self._state.topology.dependencies(service))
        return (service,)
