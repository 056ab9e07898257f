"""Triage: (re)score the incidents a batch opened or grew, so the most urgent one is shown first.

Facts come from the database in the batch's transaction; the scorer (XGBoost, or rules when no
model exists) is pure. A priority a responder set by hand is kept: the model only updates the score.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog
from engine.clustering.correlator import AlertCorrelator
from engine.scoring import IncidentFacts, PriorityAssessment, PriorityScorer
from engine.storage import change_rows, incident_rows

CHANGE_LOOKBACK = timedelta(hours=2)
HUMAN_SOURCES = frozenset({"responder", "pagerduty"})


async def prioritize(
    conn: AsyncConnection,
    incident_ids: Iterable[int],
    *,
    correlator: AlertCorrelator,
    scorer: PriorityScorer,
    catalog: Catalog,
    team_timezone: tzinfo,
    now: datetime,
) -> dict[int, PriorityAssessment]:
    """Score each incident; returns the assessments whose priority changed."""
    changed: dict[int, PriorityAssessment] = {}
    for incident_id in sorted(incident_ids):
        snapshot = correlator.incident(incident_id)
        if snapshot is None or not snapshot.open:
            continue
        services = tuple(s for name in snapshot.services if (s := catalog.get(name)) is not None)
        scope = set(snapshot.services)
        for name in snapshot.services:
            scope |= catalog.dependencies(name)
        changes = await change_rows.changes_between(
            conn, snapshot.opened_at - CHANGE_LOOKBACK, now, sorted(scope)
        )
        facts = IncidentFacts(
            opened_at=snapshot.opened_at,
            now=now,
            alerts=tuple(await incident_rows.alerts_of(conn, incident_id)),
            services=services,
            recent_changes=tuple(c.change for c in changes),
            team_timezone=team_timezone,
        )
        assessment = scorer.assess(facts)
        previous_priority, source = await incident_rows.priority_of(conn, incident_id)
        if source in HUMAN_SOURCES:
            priority, new_source = previous_priority, source
        else:
            priority, new_source = int(assessment.priority), assessment.scorer
        await incident_rows.set_assessment(
            conn,
            incident_id,
            priority=priority,
            source=new_source,
            score=assessment.score,
            scorer=assessment.scorer,
            reasons=[reason.phrase for reason in assessment.reasons],
            now=now,
        )
        if priority != previous_priority:
            changed[incident_id] = assessment
            await incident_rows.add_event(
                conn,
                incident_id,
                at=now,
                kind="prioritized",
                text=assessment.explanation,
                detail={"priority": priority, "score": assessment.score, "scorer": assessment.scorer},
            )
    return changed
