"""The service catalog: which services exist, who owns them, and what depends on what.

The YAML format is the one of the shared scenarios (`services: [{name, kind, tier, customer_facing,
owner, runbook, depends_on}]`), extended with optional `pagerduty_routing_key`. Unknown keys are
ignored so that catalogs exported from other tools still load.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.models import Service


class CatalogError(ValueError):
    """The catalog file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Catalog:
    services: Mapping[str, Service]

    @classmethod
    def empty(cls) -> Catalog:
        return cls({})

    @classmethod
    def from_services(cls, services: Iterable[Service]) -> Catalog:
        return cls({s.name: s for s in services})

    def __contains__(self, name: object) -> bool:
        return name in self.services

    def __len__(self) -> int:
        return len(self.services)

    def get(self, name: str | None) -> Service | None:
        if name is None:
            return None
        return self.services.get(name)

    def dependencies(self, name: str) -> frozenset[str]:
        """Everything `name` depends on, directly or transitively."""
        return self._walk(name, self._dependencies_of)

    def dependents(self, name: str) -> frozenset[str]:
        """Everything that depends on `name`, directly or transitively."""
        return self._walk(name, self._dependents_of)

    def related(self, a: str, b: str) -> bool:
        """True when one of the two services depends (transitively) on the other."""
        return a == b or b in self.dependencies(a) or a in self.dependencies(b)

    def _dependencies_of(self, name: str) -> Iterable[str]:
        service = self.services.get(name)
        return service.depends_on if service else ()

    def _dependents_of(self, name: str) -> Iterable[str]:
        return self._reverse.get(name, ())

    @property
    def _reverse(self) -> Mapping[str, tuple[str, ...]]:
        cached: Mapping[str, tuple[str, ...]] | None = self.__dict__.get("_reverse_cache")
        if cached is None:
            reverse: dict[str, list[str]] = {}
            for service in self.services.values():
                for dep in service.depends_on:
                    reverse.setdefault(dep, []).append(service.name)
            cached = {k: tuple(v) for k, v in reverse.items()}
            # frozen dataclass: cache through __dict__, the catalog never changes after loading
            self.__dict__["_reverse_cache"] = cached
        return cached

    @staticmethod
    def _walk(start: str, neighbours: Any) -> frozenset[str]:
        seen: set[str] = set()
        queue = deque(neighbours(start))
        while queue:
            name = queue.popleft()
            if name in seen or name == start:
                continue
            seen.add(name)
            queue.extend(neighbours(name))
        return frozenset(seen)


def parse_catalog(text: str, *, source: str = "<catalog>") -> Catalog:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML: {exc}") from exc
    if document is None:
        return Catalog.empty()
    if not isinstance(document, dict) or not isinstance(document.get("services"), list):
        raise CatalogError(f"{source}: expected a mapping with a 'services' list")
    services: dict[str, Service] = {}
    for index, entry in enumerate(document["services"]):
        where = f"{source}: services[{index}]"
        if not isinstance(entry, dict):
            raise CatalogError(f"{where}: expected a mapping")
        services[_text(entry, "name", where)] = _service(entry, where)
    for service in services.values():
        for dep in service.depends_on:
            if dep not in services:
                raise CatalogError(f"{source}: {service.name} depends on unknown service {dep!r}")
    return Catalog(services)


def load_catalog(path: Path) -> Catalog:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the service catalog: {exc.strerror}") from exc
    return parse_catalog(text, source=str(path))


def _service(entry: dict[str, Any], where: str) -> Service:
    depends_on = entry.get("depends_on") or []
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        raise CatalogError(f"{where}: depends_on must be a list of service names")
    tier = entry.get("tier", 3)
    if not isinstance(tier, int) or isinstance(tier, bool) or not 0 <= tier <= 5:
        raise CatalogError(f"{where}: tier must be a whole number from 0 to 5")
    customer_facing = entry.get("customer_facing", False)
    if not isinstance(customer_facing, bool):
        raise CatalogError(f"{where}: customer_facing must be true or false")
    return Service(
        name=_text(entry, "name", where),
        kind=str(entry.get("kind") or "service"),
        tier=tier,
        customer_facing=customer_facing,
        owner=_optional_text(entry, "owner", where),
        runbook=_optional_text(entry, "runbook", where),
        depends_on=tuple(depends_on),
        pagerduty_routing_key=_optional_text(entry, "pagerduty_routing_key", where),
    )


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _optional_text(entry: dict[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CatalogError(f"{where}: '{key}' must be a string")
    return value
