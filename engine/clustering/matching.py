"""Scoring a candidate incident for a new alert, and choosing where the alert goes.

The score adds up independent evidence (text similarity, same service, topology, shared host,
cluster, a common change) and then fades with the time since the incident's latest alert. Every
term becomes a `Reason`, so the explanation shows exactly what the decision was made of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.clustering.config import ClusteringConfig
from engine.clustering.explanation import Reason, ReasonKind, seconds_text
from engine.clustering.features import AlertFeatures
from engine.clustering.incident import Incident
from engine.clustering.signatures import Signature, SignatureTable
from engine.clustering.topology import Direction, Topology, TopologyLink
from engine.models import ChangeEvent


@dataclass(frozen=True, slots=True)
class Evidence:
    """The facts relating one alert to one incident, apart from text similarity."""

    service: str | None  # the alert's
    same_service: str | None
    link: TopologyLink | None
    unrelated_to: frozenset[str]  # the incident's roots, when the catalog says none relates
    subject_host: str | None  # a node-level alert on a host the incident's node-level alerts are on
    shared_host: str | None
    shared_cluster: str | None
    other_clusters: tuple[str, ...]
    change: ChangeEvent | None  # a change both the alert and the incident follow
    seconds_after_first: float


@dataclass(slots=True)
class Assessment:
    """One candidate's score, with text similarity computed only when it can change the outcome.

    Comparing text is most of the cost of scoring. Until it is known the score lies between
    `lower` (text similarity 0) and `upper` (text similarity 1), which often settles whether the
    candidate can win or reach the threshold.
    """

    incident: Incident
    base: float  # the weighted evidence apart from text
    factor: float  # what time leaves of it
    text_weight: float
    text_similarity: float | None = None

    @property
    def incident_id(self) -> int:
        return self.incident.id

    @property
    def lower(self) -> float:
        return self.score if self.text_similarity is not None else self.base * self.factor

    @property
    def upper(self) -> float:
        if self.text_similarity is not None:
            return self.score
        return (self.base + self.text_weight) * self.factor

    @property
    def score(self) -> float:
        text = self.text_similarity or 0.0
        return (self.base + self.text_weight * text) * self.factor


class CandidateScorer:
    def __init__(self, config: ClusteringConfig, topology: Topology, signatures: SignatureTable) -> None:
        self._topology = topology
        self._signatures = signatures
        self._weights = config.weights
        self._decay = config.time_decay
        self._max_gap = config.max_gap.total_seconds()
        self._max_span = config.max_span.total_seconds()
        self._memo_signature = -1
        self._memo: dict[int, float] = {}

    def scan(
        self,
        features: AlertFeatures,
        incidents: Iterable[Incident],
        change: ChangeEvent | None,
        threshold: float,
    ) -> tuple[list[Assessment], Assessment | None]:
        """Assess the open incidents in the alert's time window, cheaply (without text).

        The window: the alert started at most `max_gap` after the incident's latest alert and
        `max_span` after its first (an alert delivered late may have started before them, by up
        to `max_gap`). Returns the incidents that can still reach `threshold`, and the closest of
        those that cannot (for the explanation when nothing is joined). This loop runs for every
        candidate of every new alert, hence the local variables.
        """
        start = features.starts_at
        max_gap = self._max_gap
        max_span = self._max_span
        decay = self._decay / max_gap
        text_weight = self._weights.text
        base_of = self._base
        hopeful: list[Assessment] = []
        hopeless: Assessment | None = None
        for incident in incidents:
            if incident.closed_at is not None:
                continue
            opened = incident.opened_at
            gap = start - incident.last_new_alert_at
            if gap > max_gap or start - opened > max_span or start < opened - max_gap:
                continue
            base = base_of(features, incident, change)
            factor = 1.0 - decay * gap if gap > 0.0 else 1.0
            assessment = Assessment(incident, base, factor, text_weight)
            if (base + text_weight) * factor >= threshold:
                hopeful.append(assessment)
            elif hopeless is None or assessment.upper > hopeless.upper:
                hopeless = assessment
        return hopeful, hopeless

    def _base(self, features: AlertFeatures, incident: Incident, change: ChangeEvent | None) -> float:
        """The weighted evidence apart from text; `evidence` spells out the same facts for people."""
        weights = self._weights
        location = features.location
        service = location.service
        base = 0.0
        if service is not None and not location.host_level and service in incident.services:
            base += weights.same_service
        elif location.in_catalog and service is not None and incident.roots:
            link = self._topology.link(service, incident.roots)
            if link is None:
                base -= weights.unrelated
            elif link.direction is not Direction.SAME:
                base += weights.topology
        host = location.host
        if host is not None:
            if location.host_level and host in incident.subject_hosts:
                base += weights.host_subject
            elif host in incident.hosts:
                base += weights.host_shared
        cluster = location.cluster
        if cluster is not None and incident.clusters:
            base += weights.cluster_shared if cluster in incident.clusters else -weights.cluster_other
        if change is not None and change == incident.change:
            base += weights.change
        return base

    def complete(self, assessment: Assessment, features: AlertFeatures) -> Assessment:
        if assessment.text_similarity is None:
            assessment.text_similarity = self.text_similarity(features, assessment.incident)
        return assessment

    def evidence(self, features: AlertFeatures, incident: Incident, change: ChangeEvent | None) -> Evidence:
        location = features.location
        service = location.service
        same_service = service is not None and not location.host_level and service in incident.services
        link: TopologyLink | None = None
        unrelated_to: frozenset[str] = frozenset()
        if location.in_catalog and service is not None and not same_service and incident.roots:
            link = self._topology.link(service, incident.roots)
            if link is None:
                unrelated_to = incident.roots
            elif link.direction is Direction.SAME:
                link = None
        host = location.host
        subject_host: str | None = None
        shared_host: str | None = None
        if host is not None:
            if location.host_level and host in incident.subject_hosts:
                subject_host = host
            elif host in incident.hosts:
                shared_host = host
        cluster = location.cluster
        shared_cluster: str | None = None
        other_clusters: tuple[str, ...] = ()
        if cluster is not None and incident.clusters:
            if cluster in incident.clusters:
                shared_cluster = cluster
            else:
                other_clusters = tuple(sorted(incident.clusters))
        shared_change = change if change is not None and change == incident.change else None
        return Evidence(
            service=service,
            same_service=service if same_service else None,
            link=link,
            unrelated_to=unrelated_to,
            subject_host=subject_host,
            shared_host=shared_host,
            shared_cluster=shared_cluster,
            other_clusters=other_clusters,
            change=shared_change,
            seconds_after_first=features.starts_at - incident.opened_at,
        )

    def reasons(
        self, assessment: Assessment, features: AlertFeatures, change: ChangeEvent | None
    ) -> tuple[Reason, ...]:
        """The evidence as sentence fragments, each with what it added to the score."""
        weights = self._weights
        evidence = self.evidence(features, assessment.incident, change)
        text = assessment.text_similarity or 0.0
        reasons: list[Reason] = []
        if evidence.same_service is not None:
            reasons.append(
                Reason(ReasonKind.SAME_SERVICE, f"same service {evidence.same_service}", weights.same_service)
            )
        if text > 0.0:
            reasons.append(Reason(ReasonKind.TEXT, f"text similarity {text:.2f}", weights.text * text))
        since_first = evidence.seconds_after_first
        timing = f"{seconds_text(since_first)} {'after' if since_first >= 0 else 'before'} the first alert"
        time_index = len(reasons)
        if evidence.link is not None:
            reasons.append(Reason(ReasonKind.TOPOLOGY, evidence.link.describe(), weights.topology))
        elif evidence.unrelated_to:
            # The catalog knows both sides and no dependency path joins them: an outage of one
            # cannot explain the other.
            roots = ", ".join(sorted(evidence.unrelated_to))
            unrelated = f"{evidence.service} unrelated to {roots}"
            reasons.append(Reason(ReasonKind.TOPOLOGY, unrelated, -weights.unrelated))
        if evidence.subject_host is not None:
            subject = f"same host {evidence.subject_host}"
            reasons.append(Reason(ReasonKind.HOST, subject, weights.host_subject))
        elif evidence.shared_host is not None:
            shared = f"shares host {evidence.shared_host}"
            reasons.append(Reason(ReasonKind.HOST, shared, weights.host_shared))
        if evidence.shared_cluster is not None and weights.cluster_shared:
            reasons.append(
                Reason(ReasonKind.CLUSTER, f"same cluster {evidence.shared_cluster}", weights.cluster_shared)
            )
        elif evidence.other_clusters:
            others = ", ".join(evidence.other_clusters)
            reasons.append(Reason(ReasonKind.CLUSTER, f"other cluster than {others}", -weights.cluster_other))
        if evidence.change is not None:
            reasons.append(
                Reason(ReasonKind.CHANGE, f"both follow {describe_change(evidence.change)}", weights.change)
            )
        lost = sum(r.contribution for r in reasons) * (assessment.factor - 1.0)
        reasons.insert(time_index, Reason(ReasonKind.TIME, timing, lost))
        return tuple(reasons)

    def text_similarity(self, features: AlertFeatures, incident: Incident) -> float:
        """Similarity to the closest kind of alert already in the incident."""
        best = 0.0
        signature = features.signature
        memo = self._memo_for(signature)
        similarity = self._signatures.similarity
        for other_id, other in incident.signatures.items():
            value = memo.get(other_id)
            if value is None:
                value = memo[other_id] = similarity(signature, other)
            if value > best:
                best = value
                if best >= 0.999:  # nothing can be closer than the same kind of alert
                    break
        return best

    def _memo_for(self, signature: Signature) -> dict[int, float]:
        # One new alert is compared with many incidents holding the same few kinds of alert:
        # remembering its similarities for the duration of one placement avoids most lookups.
        if self._memo_signature != signature.id:
            self._memo_signature = signature.id
            self._memo = {}
        return self._memo


def describe_change(change: ChangeEvent) -> str:
    who = f" by {change.who}" if change.who else ""
    return f"{change.kind} of {change.service}{who}"
