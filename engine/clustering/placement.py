"""Deciding which incident a new alert instance belongs to.

First the fingerprint: an alert firing again soon after its previous instance, or while it is
flapping, rejoins that instance's incident (one flapping alert is one incident). Otherwise every open
incident found through the join index and still in its time window is scored, and the best one is
joined if it reaches the threshold; if none does, the alert opens a new incident.

The other incidents that also reached the threshold are returned too: when the new alert is on a
component every one of their roots depends on, it explains them as well, and they are merged (the
symptoms of a database outage may alert, in separate incidents, before the database itself does).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.clustering.explanation import Explanation, Reason, ReasonKind, seconds_text
from engine.clustering.features import AlertFeatures
from engine.clustering.flapping import FlapStatus
from engine.clustering.incident import Incident
from engine.clustering.matching import Assessment, describe_change
from engine.clustering.state import EngineState
from engine.models import ChangeEvent


@dataclass(frozen=True, slots=True)
class Placement:
    incident: Incident | None  # None: open a new incident
    explanation: Explanation  # incident id 0 until a new incident gets its id
    refire: bool
    qualified: tuple[Assessment, ...] = ()  # every incident that reached the threshold, best first


def place(
    state: EngineState,
    features: AlertFeatures,
    fingerprint: str,
    flap: FlapStatus,
    change: ChangeEvent | None,
) -> Placement:
    refire = _refire_target(state, features, fingerprint, flap)
    if refire is not None:
        incident, reason = refire
        return Placement(incident, Explanation(incident.id, True, (reason,)), refire=True)

    scorer = state.scorer
    threshold = state.config.join_threshold
    incidents = state.incidents
    candidates = (incidents[i] for i in state.index.candidates(state.lookup_keys(features, change)))
    assessments, hopeless = scorer.scan(features, candidates, change, threshold)
    best = _best(assessments, features, state, threshold)

    if best is not None and best.score >= threshold:
        reasons = scorer.reasons(best, features, change)
        explanation = Explanation(best.incident_id, True, reasons, best.score, threshold)
        qualified = tuple(a for a in assessments if a.lower >= threshold)
        return Placement(best.incident, explanation, refire=False, qualified=qualified)
    if hopeless is not None:
        scorer.complete(hopeless, features)
        if best is None or hopeless.score > best.score:
            best = hopeless
    return Placement(None, _opening(best, features, state, threshold, change), refire=False)


def _best(
    assessments: list[Assessment], features: AlertFeatures, state: EngineState, threshold: float
) -> Assessment | None:
    """The highest-scoring candidate, comparing text only where it can change the outcome.

    Candidates are taken by their best possible score; one whose best cannot beat the leader is
    left without text similarity, unless text decides whether it reaches the threshold (which
    matters for merging incidents the alert explains). Ties go to the older incident, the one
    people are already looking at.
    """
    scorer = state.scorer
    assessments.sort(key=lambda a: (-a.upper, a.incident_id))
    best: Assessment | None = None
    for assessment in assessments:
        settled = assessment.upper < threshold or assessment.lower >= threshold
        if best is not None and assessment.upper < best.score and settled:
            continue
        scorer.complete(assessment, features)
        if best is None or (assessment.score, -assessment.incident_id) > (best.score, -best.incident_id):
            best = assessment
    return best


def _refire_target(
    state: EngineState, features: AlertFeatures, fingerprint: str, flap: FlapStatus
) -> tuple[Incident, Reason] | None:
    previous_key = state.latest_by_fingerprint.get(fingerprint)
    if previous_key is None:
        return None
    previous = state.instances.get(previous_key)
    if previous is None:
        return None
    incident = state.incidents.get(previous.incident_id)
    if incident is None or not incident.is_open:
        return None
    # The previous instance has ended: a new firing supersedes it (see AlertCorrelator._supersede).
    ended = previous.ended_at if previous.ended_at is not None else features.starts_at
    quiet_for = features.starts_at - ended
    if quiet_for > state.config.refire_window.total_seconds() and not flap.flapping:
        return None
    if flap.flapping:
        text = f"same alert firing again, flapping ({flap.total_changes} state changes)"
    else:
        text = f"same alert firing again {seconds_text(quiet_for)} after it resolved"
    return incident, Reason(ReasonKind.REFIRED, text)


def _opening(
    best: Assessment | None,
    features: AlertFeatures,
    state: EngineState,
    threshold: float,
    change: ChangeEvent | None,
) -> Explanation:
    reasons: list[Reason] = []
    if best is None:
        window = seconds_text(state.config.max_gap.total_seconds())
        text = f"no open incident within {window} is related to it"
        reasons.append(Reason(ReasonKind.NO_MATCH, text))
    else:
        details = ", ".join(r.text for r in state.scorer.reasons(best, features, change))
        reasons.append(
            Reason(
                ReasonKind.NO_MATCH,
                f"closest incident #{best.incident_id} scored {best.score:.2f} < {threshold:.2f} ({details})",
            )
        )
    if change is not None:
        reasons.append(Reason(ReasonKind.CHANGE, f"follows {describe_change(change)}"))
    return Explanation(0, False, tuple(reasons), None if best is None else best.score, threshold)
