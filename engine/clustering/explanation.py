"""Why an alert is in its incident, as data and as one sentence for people.

Every membership decision keeps the evidence that drove it, with each piece's contribution to the
score, so that a wrong grouping can be understood, corrected and learnt from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class ReasonKind(enum.StrEnum):
    REFIRED = "refired"  # the same fingerprint fired again
    SAME_SERVICE = "same_service"
    TEXT = "text"
    TIME = "time"
    TOPOLOGY = "topology"
    HOST = "host"
    CLUSTER = "cluster"
    CHANGE = "change"
    NO_MATCH = "no_match"  # why a new incident was opened
    RESTORED = "restored"  # loaded from storage on startup
    MANUAL = "manual"  # put there by a split or merge
    COMMON_CAUSE = "common_cause"  # merged because a later alert explained both incidents


@dataclass(frozen=True, slots=True)
class Reason:
    kind: ReasonKind
    text: str  # a fragment of the sentence: "same service payments"
    contribution: float = 0.0  # what it added to the score (negative: counted against)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "text": self.text, "contribution": round(self.contribution, 4)}


@dataclass(frozen=True, slots=True)
class Explanation:
    incident_id: int
    joined: bool  # False: the alert opened the incident
    reasons: tuple[Reason, ...]
    score: float | None = None  # None when no score was involved (re-fire, restore, manual)
    threshold: float | None = None

    def sentence(self) -> str:
        verb = "joined" if self.joined else "opened"
        details = ", ".join(r.text for r in self.reasons if r.text)
        return f"{verb} #{self.incident_id}: {details}" if details else f"{verb} #{self.incident_id}"

    def with_incident(self, incident_id: int) -> Explanation:
        return Explanation(incident_id, self.joined, self.reasons, self.score, self.threshold)

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "joined": self.joined,
            "score": None if self.score is None else round(self.score, 4),
            "threshold": self.threshold,
            "reasons": [r.as_dict() for r in self.reasons],
            "sentence": self.sentence(),
        }


def seconds_text(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
