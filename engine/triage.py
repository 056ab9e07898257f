"""Triage: (re)score the incidents a batch opened or grew, so the most urgent one is shown first.

Facts come from the database in the batch's transaction; the scorer (XGBoost, or rules when no
model exists) is pure. A priority a responder set by hand is kept: the model only updates the score.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog
from engine.clustering.correlator import AlertCorrelator
from engine.clustering.incident import IncidentSummary
from engine.models import Alert
from engine.scoring import IncidentFacts, PriorityAssessment, PriorityScorer
from engine.storage import change_rows, incident_rows

CHANGE_LOOKBACK = timedelta(hours=2)
HUMAN_SOURCES = frozenset({"responder", "pagerduty"})
SCORED_AT_ONCE = 10  # incidents read and scored in one piece, at most
# and alerts, unless one incident alone has more: building ~5,000 alerts from their rows and scoring
# their incidents held the event loop 40–53 ms a piece after an alert flood (session 11)
ALERTS_SCORED_AT_ONCE = 1_000


def scoring_pieces(incident_ids: Iterable[int], size_of: Callable[[int], int]) -> Iterator[list[int]]:
    """The incidents in order, in pieces of at most SCORED_AT_ONCE incidents and
    ALERTS_SCORED_AT_ONCE alerts (an incident larger than that is a piece of its own)."""
    piece: list[int] = []
    alerts = 0
    for incident_id in incident_ids:
        size = size_of(incident_id)
        if piece and (len(piece) == SCORED_AT_ONCE or alerts + size > ALERTS_SCORED_AT_ONCE):
            yield piece
            piece, alerts = [], 0
        piece.append(incident_id)
        alerts += size
    if piece:
        yield piece


async def prioritize(
    conn: AsyncConnection,
    incident_ids: Iterable[int],
    *,
    correlator: AlertCorrelator,
    scorer: PriorityScorer,
    catalog: Catalog,
    team_timezone: tzinfo,
    now: datetime,
    previous: dict[int, PriorityAssessment],
) -> dict[int, PriorityAssessment]:
    """Score each open incident; returns the assessments whose priority changed.

    `previous` (the last assessment per incident, kept by the caller) lets the scorer reuse its
    reasons when the priority did not move, which saves most of the cost during a flood.
    """
    snapshots = [s for i in sorted(incident_ids) if (s := correlator.summary(i)) is not None and s.open]
    if not snapshots:
        return {}
    scopes = {s.id: _scope(s.services, catalog) for s in snapshots}
    since = min(s.opened_at for s in snapshots) - CHANGE_LOOKBACK
    all_changes = await change_rows.changes_between(conn, since, now, sorted(set().union(*scopes.values())))
    rows: list[incident_rows.AssessmentRow] = []
    events: list[incident_rows.EventRow] = []
    changed: dict[int, PriorityAssessment] = {}
    async for snapshot, alerts, stored in _with_alerts(conn, snapshots):
        facts = IncidentFacts(
            opened_at=snapshot.opened_at,
            now=now,
            alerts=alerts,
            services=tuple(svc for name in snapshot.services if (svc := catalog.get(name)) is not None),
            recent_changes=tuple(
                c.change
                for c in all_changes
                if c.change.service in scopes[snapshot.id]
                and c.change.at >= snapshot.opened_at - CHANGE_LOOKBACK
            ),
            team_timezone=team_timezone,
        )
        assessment = scorer.assess(facts, previous.get(snapshot.id))
        previous[snapshot.id] = assessment
        stored_priority, source = stored
        if source in HUMAN_SOURCES:
            priority, new_source = stored_priority, source
        else:
            priority, new_source = int(assessment.priority), assessment.scorer
        rows.append(
            incident_rows.AssessmentRow(
                snapshot.id,
                priority,
                new_source,
                assessment.score,
                assessment.scorer,
                [reason.phrase for reason in assessment.reasons],
            )
        )
        if priority != stored_priority:
            changed[snapshot.id] = assessment
            detail = {"priority": priority, "score": assessment.score, "scorer": assessment.scorer}
            events.append(
                incident_rows.EventRow(snapshot.id, "prioritized", assessment.explanation, detail=detail)
            )
    await incident_rows.set_assessments(conn, rows, now)
    await incident_rows.add_events(conn, events, now)
    return changed


async def _with_alerts(
    conn: AsyncConnection, snapshots: list[IncidentSummary]
) -> AsyncIterator[tuple[IncidentSummary, tuple[Alert, ...], tuple[int | None, str | None]]]:
    """Each incident with its alerts and stored priority, read a piece at a time (`scoring_pieces`):
    decoding the rows and scoring them holds the event loop, and the incident clock's catch-up after
    a flood (50 incidents of 150 alerts each) held it 60–220 ms, nearly all in one piece."""
    by_id = {s.id: s for s in snapshots}
    for ids in scoring_pieces(by_id, lambda incident_id: by_id[incident_id].size):
        alerts_by_incident = await incident_rows.alerts_of_incidents(conn, ids)
        stored_priorities = await incident_rows.priorities_of(conn, ids)
        for incident_id in ids:
            yield (
                by_id[incident_id],
                tuple(alerts_by_incident.get(incident_id, ())),
                stored_priorities.get(incident_id, (None, None)),
            )


def _scope(services: Iterable[str], catalog: Catalog) -> set[str]:
    """The services whose changes may explain an incident: its own and what they depend on."""
    scope = set(services)
    for name in services:
        scope |= catalog.dependencies(name)
    return scope
