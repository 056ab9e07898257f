"""Section 4: the affected services from the catalog — owners, tiers, runbooks, and which of their
direct neighbours are alerting too (a failing dependency is often the real cause)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.catalog import Catalog
from engine.enrichment.sections import Absent, AffectedServices, Neighbour, ServiceContext

NO_CATALOG = "no service catalog configured"


def neighbours(services: Sequence[str], catalog: Catalog) -> list[str]:
    """Direct dependencies and dependents of the services: whose firing alerts to look up."""
    found: dict[str, None] = {}
    for name in services:
        service = catalog.get(name)
        if service is None:
            continue
        found.update(dict.fromkeys(service.depends_on))
        found.update(dict.fromkeys(_direct_dependents(name, catalog)))
    return [name for name in found if name not in services]


def affected_services(
    services: Sequence[str], catalog: Catalog, firing: Mapping[str, int]
) -> AffectedServices | Absent:
    """`firing`: firing alert count per service, for the services and their neighbours."""
    if not len(catalog):
        return Absent(NO_CATALOG)
    if not services:
        return Absent("the incident names no service")
    known = [name for name in services if name in catalog]
    unknown = tuple(name for name in services if name not in catalog)
    if not known:
        return Absent(f"not in the service catalog: {', '.join(unknown)}")
    in_incident = set(services)

    def neighbour(name: str) -> Neighbour:
        return Neighbour(name=name, firing_alerts=firing.get(name, 0), in_incident=name in in_incident)

    contexts = []
    for name in known:
        service = catalog.services[name]
        contexts.append(
            ServiceContext(
                name=name,
                kind=service.kind,
                tier=service.tier,
                customer_facing=service.customer_facing,
                owner=service.owner,
                runbook=service.runbook,
                depends_on=tuple(neighbour(n) for n in service.depends_on),
                dependents=tuple(neighbour(n) for n in _direct_dependents(name, catalog)),
            )
        )
    return AffectedServices(services=tuple(contexts), not_in_catalog=unknown)


def _direct_dependents(name: str, catalog: Catalog) -> list[str]:
    return sorted(s.name for s in catalog.services.values() if name in s.depends_on)
