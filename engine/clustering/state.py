"""The engine's whole mutable state in one place, shared by ingestion, lifecycle and corrections.

Each concern lives in its own module as functions over this state; the `AlertCorrelator` facade
is the only public way in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from engine.catalog import Catalog
from engine.clustering.changes import ChangeLog
from engine.clustering.config import ClusteringConfig
from engine.clustering.deadlines import DeadlineQueue
from engine.clustering.dedup import AlertInstance, AlertKey
from engine.clustering.features import AlertFeatures
from engine.clustering.flapping import FlapTracker
from engine.clustering.ids import IncidentIdAllocator
from engine.clustering.incident import Incident
from engine.clustering.join_index import (
    IndexKey,
    JoinIndex,
    change_key,
    host_key,
    root_key,
    rootless_token_key,
    service_key,
    token_key,
)
from engine.clustering.matching import CandidateScorer
from engine.clustering.signatures import SignatureTable
from engine.clustering.silences import Silence
from engine.clustering.topology import Topology
from engine.models import ChangeEvent

T = TypeVar("T")


@dataclass(slots=True)
class EngineState:
    config: ClusteringConfig
    catalog: Catalog
    ids: IncidentIdAllocator
    topology: Topology
    signatures: SignatureTable
    scorer: CandidateScorer
    index: JoinIndex
    flaps: FlapTracker
    changes: ChangeLog
    instances: dict[AlertKey, AlertInstance] = field(default_factory=dict)
    incidents: dict[int, Incident] = field(default_factory=dict)  # open, and closed until evicted
    latest_by_fingerprint: dict[str, AlertKey] = field(default_factory=dict)
    silences: tuple[Silence, ...] = ()
    seal_queue: DeadlineQueue[int] = field(default_factory=DeadlineQueue)
    close_queue: DeadlineQueue[int] = field(default_factory=DeadlineQueue)
    stale_queue: DeadlineQueue[AlertKey] = field(default_factory=DeadlineQueue)
    evict_queue: DeadlineQueue[int] = field(default_factory=DeadlineQueue)
    clock: float = float("-inf")  # the latest `now` seen; timers never run backwards
    next_sweep: float = float("-inf")
    # No timer is due before this: most deliveries are re-deliveries, and checking one number
    # instead of four queues keeps them cheap.
    wakeup: float = float("-inf")
    neighbourhood_keys: dict[str, tuple[IndexKey, ...]] = field(default_factory=dict)  # per catalog service
    indexed_roots: dict[int, frozenset[str]] = field(default_factory=dict)  # per indexed incident
    # True when no text similarity can make up for the unrelated-service penalty (see join_index).
    unrelated_is_hopeless: bool = True

    @classmethod
    def create(cls, config: ClusteringConfig, catalog: Catalog, ids: IncidentIdAllocator) -> EngineState:
        topology = Topology(catalog)
        signatures = SignatureTable()
        return cls(
            config=config,
            catalog=catalog,
            ids=ids,
            topology=topology,
            signatures=signatures,
            scorer=CandidateScorer(config, topology, signatures),
            index=JoinIndex(config.max_token_postings),
            flaps=FlapTracker(
                threshold=config.flap_threshold,
                window=config.flap_window.total_seconds(),
                hysteresis=config.flap_hysteresis.total_seconds(),
                memory=config.flap_memory.total_seconds(),
            ),
            changes=ChangeLog(config.change_window.total_seconds()),
            unrelated_is_hopeless=unrelated_is_hopeless(config),
        )

    def schedule(self, queue: DeadlineQueue[T], deadline: float, item: T) -> None:
        queue.push(deadline, item)
        if deadline < self.wakeup:
            self.wakeup = deadline

    def next_timer(self) -> float:
        return min(
            self.seal_queue.next_deadline,
            self.close_queue.next_deadline,
            self.stale_queue.next_deadline,
            self.evict_queue.next_deadline,
            self.next_sweep,
        )

    def index_member(self, incident: Incident, features: AlertFeatures) -> None:
        """Make the incident findable by what this member brings (see `join_index`)."""
        location = features.location
        tokens = features.signature.vector
        keys = [token_key(token) for token in tokens]
        if not incident.roots:
            keys.extend(rootless_token_key(token) for token in tokens)
        if location.host_level and location.host is not None:
            keys.append(host_key(location.host))
        elif location.service is not None:
            keys.append(service_key(location.service))
        if incident.change is not None:
            keys.append(change_key(change_identity(incident.change)))
        self.index.add(incident.id, keys)
        self.sync_roots(incident)

    def sync_roots(self, incident: Incident) -> None:
        """Index the incident under its current roots; once it has one, no longer as rootless."""
        previous = self.indexed_roots.get(incident.id, frozenset())
        if previous == incident.roots:
            return
        self.index.discard(incident.id, [root_key(r) for r in previous - incident.roots])
        self.index.add(incident.id, [root_key(r) for r in incident.roots - previous])
        if incident.roots and not previous:
            rootless = [k for k in self.index.keys_of(incident.id) if k[0] == "rootless-token"]
            self.index.discard(incident.id, rootless)
        self.indexed_roots[incident.id] = incident.roots

    def unindex(self, incident_id: int) -> None:
        self.index.remove(incident_id)
        self.indexed_roots.pop(incident_id, None)

    def lookup_keys(self, features: AlertFeatures, change: ChangeEvent | None) -> list[IndexKey]:
        """Where to look for incidents this alert could join."""
        location = features.location
        tokens = features.signature.vector
        keys: list[IndexKey] = []
        if location.host_level and location.host is not None:
            keys.append(host_key(location.host))
        elif location.service is not None:
            keys.append(service_key(location.service))
        if location.in_catalog and location.service is not None:
            keys.extend(self._neighbourhood_keys(location.service))
            if self.unrelated_is_hopeless:
                keys.extend(rootless_token_key(token) for token in tokens)
            else:
                keys.extend(token_key(token) for token in tokens)
        else:
            keys.extend(token_key(token) for token in tokens)
        if change is not None:
            keys.append(change_key(change_identity(change)))
        return keys

    def _neighbourhood_keys(self, service: str) -> tuple[IndexKey, ...]:
        found = self.neighbourhood_keys.get(service)
        if found is None:
            found = tuple(root_key(s) for s in sorted(self.topology.neighbourhood(service)))
            self.neighbourhood_keys[service] = found
        return found

    def seal_deadline(self, incident: Incident) -> float:
        """Engine time after which the incident no longer takes alerts on evidence."""
        config = self.config
        window_end = min(
            incident.last_joined_clock + config.max_gap.total_seconds(),
            incident.opened_clock + config.max_span.total_seconds(),
        )
        return window_end + config.late_delivery_allowance.total_seconds()


def unrelated_is_hopeless(config: ClusteringConfig) -> bool:
    """Whether an alert can never join an incident it is topologically unrelated to.

    That takes everything it could still share besides a change event (which is indexed on its
    own): a host its pods run on, the cluster, and identical text.
    """
    weights = config.weights
    best_case = -weights.unrelated + weights.host_shared + max(0.0, weights.cluster_shared) + weights.text
    return best_case < config.join_threshold


def change_identity(change: ChangeEvent) -> str:
    return change.external_id or f"{change.service}|{change.kind}|{change.at.isoformat()}|{change.what}"
