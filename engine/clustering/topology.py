"""Service topology as clustering sees it: which services an outage can spread between.

An outage of a component makes it and everything depending on it (transitively) alert together.
So an incident is anchored on its *roots*, the member services that depend on no other member, and a
new alert is topologically related when its service depends on a root or a root depends on it.
Relating to any member instead would let an edge service that depends on everything (a gateway,
a frontend) glue unrelated outages together.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from engine.catalog import Catalog

_MAX_CACHED_LINKS = 200_000


class Direction(enum.StrEnum):
    SAME = "same"
    DEPENDS_ON = "depends_on"  # the alert's service depends on the root
    DEPENDENCY_OF = "dependency_of"  # the root depends on the alert's service


@dataclass(frozen=True, slots=True)
class TopologyLink:
    service: str
    root: str
    direction: Direction

    def describe(self) -> str:
        if self.direction is Direction.DEPENDS_ON:
            return f"{self.service} depends on {self.root}"
        if self.direction is Direction.DEPENDENCY_OF:
            return f"{self.root} depends on {self.service}"
        return f"same service {self.service}"


class Topology:
    """Catalog queries cached per service: the catalog never changes while the engine runs."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._dependencies: dict[str, frozenset[str]] = {}
        self._dependents: dict[str, frozenset[str]] = {}
        # Scoring asks the same question (this service against that incident's roots) for every
        # candidate of every alert; root sets change rarely, so the answers are worth keeping.
        self._links: dict[tuple[str, frozenset[str]], TopologyLink | None] = {}

    def __contains__(self, service: object) -> bool:
        return service in self._catalog

    def dependencies(self, service: str) -> frozenset[str]:
        found = self._dependencies.get(service)
        if found is None:
            found = self._catalog.dependencies(service)
            self._dependencies[service] = found
        return found

    def dependents(self, service: str) -> frozenset[str]:
        found = self._dependents.get(service)
        if found is None:
            found = self._catalog.dependents(service)
            self._dependents[service] = found
        return found

    def link(self, service: str, roots: frozenset[str]) -> TopologyLink | None:
        """How `service` relates to one of `roots`, preferring the same service."""
        key = (service, roots)
        if key in self._links:
            return self._links[key]
        if len(self._links) >= _MAX_CACHED_LINKS:
            self._links.clear()
        found = self._links[key] = self._find_link(service, roots)
        return found

    def _find_link(self, service: str, roots: frozenset[str]) -> TopologyLink | None:
        best: TopologyLink | None = None
        for root in sorted(roots):  # sorted: the same answer whatever the set's iteration order
            if root == service:
                return TopologyLink(service, root, Direction.SAME)
            if best is None:
                if root in self.dependencies(service):
                    best = TopologyLink(service, root, Direction.DEPENDS_ON)
                elif service in self.dependencies(root):
                    best = TopologyLink(service, root, Direction.DEPENDENCY_OF)
        return best

    def roots(self, services: Iterable[str]) -> frozenset[str]:
        """The members that depend on no other member: where the outage most likely started."""
        members = {s for s in services if s in self._catalog}
        roots = frozenset(s for s in members if not (self.dependencies(s) & members))
        # A dependency cycle leaves no member without a dependency inside: every member is a root.
        return roots or frozenset(members)

    def neighbourhood(self, service: str) -> frozenset[str]:
        """Services whose incidents a new alert of `service` could join through topology."""
        return self.dependencies(service) | self.dependents(service) | {service}
