"""Section 2: what changed shortly before, on the affected services and on what they depend on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine.catalog import Catalog
from engine.enrichment.sections import Absent, ChangeItem, RecentChanges
from engine.models import ChangeEvent

AFFECTED = "affected"


def change_scope(services: Sequence[str], catalog: Catalog) -> dict[str, str]:
    """Services whose changes matter, each with how it relates to the incident.

    Dependencies are transitive: a schema migration on the database behind payments can break
    checkout. An affected service stays "affected" even when another affected one depends on it.
    """
    scope = dict.fromkeys(services, AFFECTED)
    for service in services:
        for dependency in sorted(catalog.dependencies(service)):
            scope.setdefault(dependency, f"dependency of {service}")
    return scope


def recent_changes(
    changes: Sequence[ChangeEvent],
    *,
    scope: dict[str, str],
    since: datetime,
    until: datetime,
    incident_start: datetime,
    more: bool,
    catalog_configured: bool,
) -> RecentChanges | Absent:
    if not scope:
        return Absent("the incident names no service, so no change could be tied to it")
    relevant = sorted(
        (c for c in changes if c.service in scope and since <= c.at <= until),
        key=lambda c: (c.at, c.service, c.what),
        reverse=True,
    )
    searched = ", ".join(scope)
    if not relevant:
        return Absent(f"no changes on {searched} since {since:%Y-%m-%d %H:%M} UTC")
    return RecentChanges(
        since=since,
        until=until,
        services=tuple(scope),
        items=tuple(_item(c, scope[c.service], incident_start) for c in relevant),
        more=more,
        scope_note=None if catalog_configured else "no service catalog configured: dependencies not searched",
    )


def _item(change: ChangeEvent, relation: str, start: datetime) -> ChangeItem:
    return ChangeItem(
        service=change.service,
        kind=change.kind,
        who=change.who,
        what=change.what,
        at=change.at,
        relation=relation,
        minutes_before_start=round((start - change.at).total_seconds() / 60, 1),
    )
