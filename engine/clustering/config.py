"""Every threshold of dedup, flap control and clustering in one frozen, validated record.

Defaults describe how outages show up in Alertmanager: a failing component and its dependents start
alerting within minutes of each other; the same failure hours later is a new incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from engine.clustering.features import TextWeights
from engine.clustering.labels import LabelSemantics


@dataclass(frozen=True, slots=True)
class EvidenceWeights:
    """Score contributions; a candidate incident is joined when the total reaches `join_threshold`.

    Text similarity is the only graded evidence (cosine, 0..1); the others count fully or not at all.
    """

    text: float = 1.0
    same_service: float = 0.6
    topology: float = 0.6
    unrelated: float = 0.6  # subtracted: the catalog knows both services and neither depends on the other
    # A host shared by two node-level alerts (disk, memory, NotReady on one machine) versus a host
    # that merely runs pods of two alerting services.
    host_subject: float = 0.6
    host_shared: float = 0.05
    cluster_shared: float = 0.0  # every alert of a one-cluster estate shares it: no evidence
    # Subtracted: different clusters are different failure domains; only a shared change event
    # (a deploy to both) together with strong evidence overcomes it.
    cluster_other: float = 1.2
    change: float = 0.3


@dataclass(frozen=True, slots=True)
class ClusteringConfig:
    semantics: LabelSemantics = field(default_factory=LabelSemantics)
    text_weights: TextWeights = field(default_factory=TextWeights)
    weights: EvidenceWeights = field(default_factory=EvidenceWeights)
    join_threshold: float = 0.55

    # An incident takes new alerts while they start within `max_gap` of its latest one and within
    # `max_span` of its first; the score loses up to `time_decay` of itself as the gap nears max_gap.
    max_gap: timedelta = timedelta(minutes=4)
    max_span: timedelta = timedelta(minutes=15)
    time_decay: float = 0.4
    # Deliveries arrive after the alerts start (group_wait, retries): keep windows open this much longer.
    late_delivery_allowance: timedelta = timedelta(minutes=2)

    # When a new alert's service is a dependency of every root of other open incidents it could
    # join, it explains them too: merge them into the oldest.
    merge_explained_incidents: bool = True

    # A fingerprint firing again this soon after its previous instance ended rejoins that incident.
    refire_window: timedelta = timedelta(minutes=30)

    # Incidents resolve once every alert has been resolved for `resolve_quiet_period` (so that a
    # quick re-fire does not open a second incident); `resolve_when_alerts_resolve=False` leaves
    # resolution to people.
    resolve_when_alerts_resolve: bool = True
    resolve_quiet_period: timedelta = timedelta(minutes=10)

    flap_threshold: int = 4  # state changes (firing or resolving) ...
    flap_window: timedelta = timedelta(hours=1)  # ... within this window
    flap_hysteresis: timedelta = timedelta(minutes=20)  # stable this long to stop flapping
    flap_memory: timedelta = timedelta(hours=24)  # keep the flap count of an idle fingerprint this long

    change_window: timedelta = timedelta(minutes=30)  # an alert this soon after a change may be caused by it

    # Memory bounds: closed incidents are kept (to recognize late re-deliveries) this long, and an
    # instance not re-delivered for `stale_after` is taken as resolved (its resolution was lost).
    closed_retention: timedelta = timedelta(hours=2)
    stale_after: timedelta | None = timedelta(hours=12)

    # Text similarity compares a new alert with up to this many kinds of alert already in the
    # incident (the first ones seen); an outage rarely produces more kinds than this.
    max_signatures_per_incident: int = 16
    # Tokens shared by more open incidents than this are not used to find candidates: they do not
    # discriminate, and scanning them would make ingestion cost grow with the number of incidents.
    max_token_postings: int = 64

    def __post_init__(self) -> None:
        positive = {
            "max_gap": self.max_gap,
            "max_span": self.max_span,
            "flap_window": self.flap_window,
            "change_window": self.change_window,
        }
        for name, value in positive.items():
            if value <= timedelta(0):
                raise ValueError(f"{name} must be positive")
        not_negative = {
            "late_delivery_allowance": self.late_delivery_allowance,
            "refire_window": self.refire_window,
            "resolve_quiet_period": self.resolve_quiet_period,
            "flap_hysteresis": self.flap_hysteresis,
            "flap_memory": self.flap_memory,
            "closed_retention": self.closed_retention,
        }
        for name, value in not_negative.items():
            if value < timedelta(0):
                raise ValueError(f"{name} must not be negative")
        if self.stale_after is not None and self.stale_after <= timedelta(0):
            raise ValueError("stale_after must be positive (or None to never expire alerts)")
        if self.join_threshold <= 0.0:
            raise ValueError("join_threshold must be positive")
        if not 0.0 <= self.time_decay < 1.0:
            raise ValueError("time_decay must be in [0, 1)")
        if self.flap_threshold < 2:
            raise ValueError("flap_threshold must be at least 2")
        if self.max_signatures_per_incident < 1 or self.max_token_postings < 1:
            raise ValueError("max_signatures_per_incident and max_token_postings must be at least 1")
