"""Triage: (re)score the incidents a batch opened or grew, so the most urgent one is shown first.

Facts come from the database in the batch's transaction; the scorer (XGBoost, or rules when no
model exists) is pure. A priority a responder set by hand is kept: the model only updates the score.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
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
SCORED_AT_ONCE = 10


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
    """Each incident with its alerts and stored priority, read SCORED_AT_ONCE incidents at a time:
    decoding the rows and scoring them holds the event loop, and the incident clock's catch-up after
    a flood (50 incidents of 150 alerts each) held it 60–220 ms, nearly all in one piece."""
    for start in range(0, len(snapshots), SCORED_AT_ONCE):
        chunk = snapshots[start : start + SCORED_AT_ONCE]
        ids = [s.id for s in chunk]
        alerts_by_incident = await incident_rows.alerts_of_incidents(conn, ids)
        stored_priorities = await incident_rows.priorities_of(conn, ids)
        for snapshot in chunk:
            yield (
                snapshot,
                tuple(alerts_by_incident.get(snapshot.id, ())),
                stored_priorities.get(snapshot.id, (None, None)),
            )


def _scope(services: Iterable[str], catalog: Catalog) -> set[str]:
    """The services whose changes may explain an incident: its own and what they depend on."""
    scope = set(services)
    for name in services:
        scope |= catalog.dependencies(name)
    return scope
