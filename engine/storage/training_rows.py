"""Incidents whose final priority is known, read as the input of priority training.

Two kinds of resolved incidents carry a label worth learning from:

- imported history (origin "imported" with a priority): `PastIncident` records, which
  `engine.scoring.history_training_rows` turns into rows;
- incidents nocbot handled whose priority a responder or PagerDuty set or confirmed. A priority the
  model or the rules set is not a label: training on it would teach the model its own guesses.

Every stored incident, labelled or not, is also history: "similar incidents in the last 30 days"
counts all of them, as the responder would have.

What is stored of a handled incident is less than what triage saw: the moment its priority was
decided and the peak anomaly score are not stored, so the duration and anomaly features stay
unknown (NaN); its alerts are all those attached by the time it resolved.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Row, and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.catalog import Catalog
from engine.models import Alert, ChangeEvent, IncidentStatus, PastIncident, Priority, utc
from engine.scoring import IncidentFacts, LabelledRow, history_training_rows, labelled_row
from engine.scoring.history import SIMILAR_LOOKBACK, SimilarityKey, title_and_service_key
from engine.storage.alert_rows import stored_alert
from engine.storage.change_rows import changes_between
from engine.storage.schema import alerts as alert_table
from engine.storage.schema import incident_alerts, incidents

HUMAN_PRIORITY_SOURCES = ("responder", "pagerduty")
# The window engine.triage reads changes from before an incident opened; training must see the
# same window, or "minutes since the last change" would mean something else at scoring time.
CHANGE_LOOKBACK = timedelta(hours=2)
_ONE_MICROSECOND = timedelta(microseconds=1)

_RESPONDER_LABELLED = and_(
    incidents.c.origin == "nocbot",
    incidents.c.status == IncidentStatus.RESOLVED.value,
    incidents.c.priority.is_not(None),
    incidents.c.priority_source.in_(HUMAN_PRIORITY_SOURCES),
)

# Not `enrichment` or `reasons`: they can be large, and training needs none of them.
_HISTORY_COLUMNS = [
    incidents.c[name]
    for name in (
        "id",
        "external_id",
        "origin",
        "status",
        "title",
        "service",
        "services",
        "priority",
        "priority_source",
        "opened_at",
        "acknowledged_at",
        "resolved_at",
        "resolution",
        "playbook",
    )
]


@dataclass(frozen=True, slots=True)
class HandledIncident:
    """An incident nocbot handled, labelled with the priority a person gave it."""

    record: PastIncident
    priority: Priority
    """The label: the priority the responder (or PagerDuty) left on it."""
    services: tuple[str, ...]
    alerts: tuple[Alert, ...]
    changes: tuple[ChangeEvent, ...]
    """Changes on its services or its alerts' services in `CHANGE_LOOKBACK` up to its opening."""


@dataclass(frozen=True, slots=True)
class TrainingIncidents:
    history: tuple[PastIncident, ...]
    """Every stored incident in opening order. Only imported ones usable as labels keep their
    priority; handled ones are labelled through `handled` instead, so none is counted twice."""
    handled: tuple[HandledIncident, ...]

    @property
    def imported_count(self) -> int:
        return sum(1 for incident in self.history if incident.priority is not None)

    @property
    def handled_count(self) -> int:
        return len(self.handled)

    @property
    def labelled_count(self) -> int:
        return self.imported_count + self.handled_count


async def read_training_incidents(
    conn: AsyncConnection, *, change_lookback: timedelta = CHANGE_LOOKBACK
) -> TrainingIncidents:
    rows = (
        await conn.execute(select(*_HISTORY_COLUMNS).order_by(incidents.c.opened_at, incidents.c.id))
    ).all()
    history: list[PastIncident] = []
    handled_rows: list[tuple[Row[Any], Priority]] = []
    for row in rows:
        label = _label(row)
        history.append(_past_incident(row, label if row.origin == "imported" else None))
        if label is not None and row.origin == "nocbot":
            handled_rows.append((row, label))
    alerts_by_incident = await _alerts_of_labelled_handled(conn)
    changes = await _changes_before(conn, [row.opened_at for row, _ in handled_rows], change_lookback)
    handled = []
    for row, label in handled_rows:
        alerts = alerts_by_incident.get(int(row.id), ())
        services = tuple(str(name) for name in row.services)
        handled.append(
            HandledIncident(
                record=_past_incident(row, label),
                priority=label,
                services=services,
                alerts=alerts,
                changes=changes.around(_affected(services, alerts), row.opened_at, change_lookback),
            )
        )
    return TrainingIncidents(history=tuple(history), handled=tuple(handled))


def training_rows(
    incidents: TrainingIncidents, *, catalog: Catalog, team_timezone: tzinfo | None
) -> list[LabelledRow]:
    """One labelled row per labelled incident: imported history first, then handled incidents."""
    rows = history_training_rows(incidents.history, catalog=catalog, team_timezone=team_timezone)
    similar = SimilarIncidents(incidents.history)
    for incident in incidents.handled:
        facts = handled_incident_facts(
            incident,
            catalog=catalog,
            similar=similar.before(incident.record),
            team_timezone=team_timezone,
        )
        rows.append(labelled_row(facts, incident.priority))
    return rows


def handled_incident_facts(
    incident: HandledIncident,
    *,
    catalog: Catalog,
    similar: Sequence[PastIncident],
    team_timezone: tzinfo | None,
) -> IncidentFacts:
    return IncidentFacts(
        opened_at=incident.record.opened_at,
        now=None,  # when the responder settled the priority is not stored
        alerts=incident.alerts,
        services=tuple(service for name in incident.services if (service := catalog.get(name))),
        recent_changes=incident.changes,
        similar_incidents=tuple(similar),
        peak_anomaly_score=None,  # not stored with the incident
        team_timezone=team_timezone,
    )


class SimilarIncidents:
    """Earlier similar incidents within the lookback, keyed as `history_training_rows` keys them,
    so that recurrence means the same for imported and handled rows."""

    def __init__(
        self,
        history: Iterable[PastIncident],
        *,
        key: SimilarityKey = title_and_service_key,
        lookback: timedelta = SIMILAR_LOOKBACK,
    ) -> None:
        self._key = key
        self._lookback = lookback
        groups: defaultdict[Hashable, list[PastIncident]] = defaultdict(list)
        for incident in sorted(history, key=lambda i: utc(i.opened_at)):
            groups[key(incident)].append(incident)
        self._groups = dict(groups)
        self._opened = {key: [utc(i.opened_at) for i in group] for key, group in groups.items()}

    def before(self, incident: PastIncident) -> list[PastIncident]:
        key = self._key(incident)
        group = self._groups.get(key, [])
        opened = utc(incident.opened_at)
        start = bisect_left(self._opened.get(key, []), opened - self._lookback)
        end = bisect_left(self._opened.get(key, []), opened)
        return group[start:end]


class _ChangesByService:
    def __init__(self, changes: Iterable[ChangeEvent]) -> None:
        grouped: defaultdict[str, list[ChangeEvent]] = defaultdict(list)
        for change in sorted(changes, key=lambda c: utc(c.at)):
            grouped[change.service].append(change)
        self._changes = dict(grouped)
        self._times = {service: [utc(c.at) for c in group] for service, group in grouped.items()}

    def around(
        self, services: Iterable[str], opened_at: datetime, lookback: timedelta
    ) -> tuple[ChangeEvent, ...]:
        found: list[ChangeEvent] = []
        for service in services:
            times = self._times.get(service, [])
            start = bisect_left(times, opened_at - lookback)
            end = bisect_right(times, opened_at)
            found.extend(self._changes.get(service, [])[start:end])
        return tuple(sorted(found, key=lambda c: utc(c.at)))


async def _changes_before(
    conn: AsyncConnection, opened: Sequence[datetime], lookback: timedelta
) -> _ChangesByService:
    """Every change in the span the incidents' windows cover, in one query."""
    if not opened:
        return _ChangesByService(())
    since, until = min(opened) - lookback, max(opened) + _ONE_MICROSECOND
    return _ChangesByService(stored.change for stored in await changes_between(conn, since, until))


async def _alerts_of_labelled_handled(conn: AsyncConnection) -> dict[int, tuple[Alert, ...]]:
    rows = await conn.execute(
        select(alert_table, incident_alerts.c.incident_id)
        .join(incident_alerts, incident_alerts.c.alert_id == alert_table.c.id)
        .join(incidents, incidents.c.id == incident_alerts.c.incident_id)
        .where(_RESPONDER_LABELLED)
        .order_by(incident_alerts.c.incident_id, alert_table.c.starts_at, alert_table.c.id)
    )
    grouped: defaultdict[int, list[Alert]] = defaultdict(list)
    for row in rows:
        grouped[int(row.incident_id)].append(stored_alert(row).alert)
    return {incident_id: tuple(alerts) for incident_id, alerts in grouped.items()}


def _affected(services: Iterable[str], alerts: Iterable[Alert]) -> set[str]:
    names = set(services)
    names.update(name for alert in alerts if (name := alert.service))
    return names


def _label(row: Row[Any]) -> Priority | None:
    """The priority to learn from, or None when the row's priority is not a usable label."""
    if row.status != IncidentStatus.RESOLVED.value or row.priority is None:
        return None
    if row.origin == "imported" or (row.origin == "nocbot" and row.priority_source in HUMAN_PRIORITY_SOURCES):
        try:
            return Priority(int(row.priority))
        except ValueError:
            return None  # outside P1..P5: not something a person could have set
    return None


def _past_incident(row: Row[Any], priority: Priority | None) -> PastIncident:
    return PastIncident(
        id=row.external_id or str(row.id),
        title=row.title,
        service=row.service,
        priority=priority,
        opened_at=row.opened_at,
        acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at,
        resolution=row.resolution,
        playbook=row.playbook,
    )
