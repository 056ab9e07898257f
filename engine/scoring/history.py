"""Incidents imported from other tools (the `import-incidents` CSV) as scoring facts and rows.

Such a record names a service, a priority and open/ack/resolve times, nothing about alerts,
changes or anomalies. Those features stay missing. Recurrence and time-to-resolve of similar
incidents come from the history itself, counting only what was known when each incident opened.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable
from datetime import timedelta, tzinfo

from engine.catalog import Catalog
from engine.models import PastIncident, utc
from engine.scoring.dataset import LabelledRow, labelled_row
from engine.scoring.facts import IncidentFacts

SIMILAR_LOOKBACK = timedelta(days=90)
SimilarityKey = Callable[[PastIncident], Hashable]
_NUMBERS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


def title_and_service_key(incident: PastIncident) -> Hashable:
    """Same service and same title once numbers (hosts, ports, percentages) are blanked out."""
    title = _SPACES.sub(" ", _NUMBERS.sub("#", incident.title.lower())).strip()
    return (incident.service, title)


def imported_incident_facts(
    incident: PastIncident,
    *,
    catalog: Catalog,
    similar: Iterable[PastIncident] | None,
    team_timezone: tzinfo | None,
) -> IncidentFacts:
    service = catalog.get(incident.service)
    return IncidentFacts(
        opened_at=incident.opened_at,
        now=None,  # when its priority was set is not recorded
        alerts=None,
        services=(service,) if service else (),
        recent_changes=None,
        similar_incidents=None if similar is None else tuple(similar),
        peak_anomaly_score=None,
        team_timezone=team_timezone,
    )


def history_training_rows(
    incidents: Iterable[PastIncident],
    *,
    catalog: Catalog,
    team_timezone: tzinfo | None,
    similarity_key: SimilarityKey = title_and_service_key,
    lookback: timedelta = SIMILAR_LOOKBACK,
) -> list[LabelledRow]:
    """One labelled row per incident with a priority; incidents without one still count as
    history for the others' recurrence."""
    earlier: defaultdict[Hashable, deque[PastIncident]] = defaultdict(deque)
    rows: list[LabelledRow] = []
    for incident in sorted(incidents, key=lambda i: utc(i.opened_at)):
        same = earlier[similarity_key(incident)]
        opened = utc(incident.opened_at)
        while same and utc(same[0].opened_at) < opened - lookback:
            same.popleft()
        if incident.priority is not None:
            facts = imported_incident_facts(
                incident, catalog=catalog, similar=same, team_timezone=team_timezone
            )
            rows.append(labelled_row(facts, incident.priority))
        same.append(incident)
    return rows
