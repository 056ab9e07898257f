"""An incident as the engine holds it: members plus the aggregates that matching reads.

Aggregates (services, hosts, roots, text signatures, time bounds) are kept up to date on every
join so that scoring a candidate never walks its members; after a split or merge they are rebuilt.
Callers outside the engine get an `IncidentSnapshot`, never this mutable record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from engine.clustering.dedup import AlertKey
from engine.clustering.explanation import Explanation
from engine.clustering.features import AlertFeatures
from engine.clustering.signatures import Signature
from engine.clustering.topology import Topology
from engine.models import ChangeEvent


@dataclass(slots=True)
class Member:
    key: AlertKey
    features: AlertFeatures
    explanation: Explanation
    refire: bool  # joined because its fingerprint was already here, not on its own evidence


@dataclass(slots=True)
class Incident:
    id: int
    members: dict[AlertKey, Member] = field(default_factory=dict)
    firing: set[AlertKey] = field(default_factory=set)
    opened_at: float = float("inf")  # earliest member start
    last_new_alert_at: float = float("-inf")  # latest start of a member that joined on evidence
    last_joined_clock: float = float("-inf")  # engine clock when a member last joined on evidence
    opened_clock: float = float("-inf")  # engine clock when the incident was opened
    fingerprints: dict[str, AlertKey] = field(default_factory=dict)  # latest instance per fingerprint
    services: Counter[str] = field(default_factory=Counter)
    subject_hosts: Counter[str] = field(default_factory=Counter)  # hosts of node-level alerts
    hosts: Counter[str] = field(default_factory=Counter)
    clusters: Counter[str] = field(default_factory=Counter)
    roots: frozenset[str] = frozenset()
    signatures: dict[int, Signature] = field(default_factory=dict)
    change: ChangeEvent | None = None
    last_resolved_clock: float | None = None
    closed_at: float | None = None
    merged_into: int | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def add(self, member: Member, topology: Topology, max_signatures: int) -> None:
        self.members[member.key] = member
        features = member.features
        location = features.location
        self.opened_at = min(self.opened_at, features.starts_at)
        if not member.refire:
            self.last_new_alert_at = max(self.last_new_alert_at, features.starts_at)
        latest = self.fingerprints.get(member.key.fingerprint)
        if latest is None or latest.starts_at <= member.key.starts_at:
            self.fingerprints[member.key.fingerprint] = member.key
        if location.service is not None and not location.host_level:
            if location.service not in self.services and location.in_catalog:
                self.roots = topology.roots((*self.roots, location.service))
            self.services[location.service] += 1
        if location.host is not None:
            self.hosts[location.host] += 1
            if location.host_level:
                self.subject_hosts[location.host] += 1
        if location.cluster is not None:
            self.clusters[location.cluster] += 1
        if len(self.signatures) < max_signatures:
            self.signatures.setdefault(features.signature.id, features.signature)

    def rebuild(self, members: Iterable[Member], topology: Topology, max_signatures: int) -> None:
        """Recompute every aggregate from `members` (after members moved in or out)."""
        firing = {key for key in self.firing}
        self.members = {}
        self.opened_at = float("inf")
        self.last_new_alert_at = float("-inf")
        self.fingerprints = {}
        self.services = Counter()
        self.subject_hosts = Counter()
        self.hosts = Counter()
        self.clusters = Counter()
        self.roots = frozenset()
        self.signatures = {}
        for member in sorted(members, key=lambda m: m.features.starts_at):
            self.add(member, topology, max_signatures)
        if self.last_new_alert_at == float("-inf"):
            self.last_new_alert_at = self.opened_at
        self.firing = {key for key in firing if key in self.members}

    def summary(self) -> IncidentSummary:
        return IncidentSummary(
            id=self.id,
            open=self.is_open,
            opened_at=_datetime(self.opened_at),
            size=len(self.members),
            services=tuple(sorted(self.services)),
            roots=tuple(sorted(self.roots)),
        )

    def snapshot(self) -> IncidentSnapshot:
        return IncidentSnapshot(
            id=self.id,
            open=self.is_open,
            opened_at=_datetime(self.opened_at),
            closed_at=None if self.closed_at is None else _datetime(self.closed_at),
            alerts=tuple(sorted(self.members, key=lambda k: (k.starts_at, k.fingerprint))),
            firing=tuple(sorted(self.firing, key=lambda k: (k.starts_at, k.fingerprint))),
            services=tuple(sorted(self.services)),
            roots=tuple(sorted(self.roots)),
            explanations={key: m.explanation for key, m in self.members.items()},
            change=self.change,
            merged_into=self.merged_into,
        )


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """What the service asks of an incident on every batch, without copying its members (an
    incident thousands of alerts large grows on every batch of a flood)."""

    id: int
    open: bool
    opened_at: datetime
    size: int
    services: tuple[str, ...]
    roots: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IncidentSnapshot:
    id: int
    open: bool
    opened_at: datetime
    closed_at: datetime | None
    alerts: tuple[AlertKey, ...]
    firing: tuple[AlertKey, ...]
    services: tuple[str, ...]
    roots: tuple[str, ...]  # the member services nothing else in the incident depends on
    explanations: dict[AlertKey, Explanation]
    change: ChangeEvent | None
    merged_into: int | None


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
