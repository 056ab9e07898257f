"""Which channel gets which incident: a first-match routing table, read from one setting.

    NOCBOT_SLACK_ROUTES="service=payments:#pay-oncall; team=db,priority<=2:#db-critical; *:#incidents"

Routes are separated by `;` and tried in order; the first whose conditions all hold wins, so an
incident's card lives in exactly one channel (and is updated there). A route is `conditions:channel`:

- `service=a|b`  one of the incident's services is a or b
- `team=x|y`     the owning team is x or y
- `priority<=2`  P1 or P2 (`P2` works too); an unscored incident never matches a priority condition
- `*`            anything: the default, allowed only as the last route

A channel is `#name` or a channel id (`C0123ABCD`, `G…` for old private channels). Ids are preferred:
names are resolved through the API once and break when a channel is renamed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from engine.models import Priority

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
_CHANNEL_NAME = re.compile(r"^#[a-z0-9][a-z0-9_-]{0,79}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")
_DM_ID = re.compile(r"^D[A-Z0-9]{6,}$")
_CONDITION = re.compile(r"^(service|team)\s*=\s*(.+)$|^priority\s*<=\s*(\S+)$")
_CONDITION_HELP = "expected service=NAME, team=NAME or priority<=N; a NAME may be a|b"


class RoutingError(ValueError):
    """A route does not parse; the message names the route and the part that is wrong."""


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """What routing looks at: the incident's services, the team owning it, its priority."""

    services: tuple[str, ...] = ()
    team: str | None = None
    priority: Priority | None = None


@dataclass(frozen=True, slots=True)
class Route:
    channel: str
    services: frozenset[str] | None = None  # None: any service
    teams: frozenset[str] | None = None
    max_priority: Priority | None = None  # None: any priority, unscored included

    def matches(self, facts: IncidentFacts) -> bool:
        if self.services is not None and self.services.isdisjoint(facts.services):
            return False
        if self.teams is not None and facts.team not in self.teams:
            return False
        return self.max_priority is None or (
            facts.priority is not None and facts.priority <= self.max_priority
        )

    @property
    def is_default(self) -> bool:
        return self.services is None and self.teams is None and self.max_priority is None

    def __str__(self) -> str:
        conditions = [
            f"{label}={'|'.join(sorted(names))}"
            for label, names in (("service", self.services), ("team", self.teams))
            if names is not None
        ]
        if self.max_priority is not None:
            conditions.append(f"priority<={self.max_priority.value}")
        return f"{','.join(conditions) or '*'}:{self.channel}"


@dataclass(frozen=True, slots=True)
class RoutingTable:
    routes: tuple[Route, ...] = field(default=())

    def channel_for(self, facts: IncidentFacts) -> str | None:
        """The channel of the first matching route; None when no route matches (no default)."""
        for route in self.routes:
            if route.matches(facts):
                return route.channel
        return None

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(route.channel for route in self.routes))

    def __bool__(self) -> bool:
        return bool(self.routes)

    def __str__(self) -> str:
        return ";".join(str(route) for route in self.routes)


def parse_routes(text: str, *, target: Callable[[str, str], str] | None = None) -> RoutingTable:
    """Read the setting's syntax (see the module docstring). Raises RoutingError.

    `target(text, where)` checks a route's destination (default: a Slack channel); another surface
    passes its own and keeps the same conditions.
    """
    numbered = [(number, piece.strip()) for number, piece in enumerate(text.split(";"), 1) if piece.strip()]
    check = target or _channel
    routes = [_parse_route(piece, f"route {number} {piece!r}", check) for number, piece in numbered]
    for (number, piece), route in zip(numbered[:-1], routes[:-1], strict=True):
        if route.is_default:
            raise RoutingError(
                f"route {number} {piece!r}: '*' matches everything, so the routes after it would "
                "never be used; put it last"
            )
    return RoutingTable(tuple(routes))


def _parse_route(text: str, where: str, target: Callable[[str, str], str]) -> Route:
    # conditions never contain ':', a destination may (a Teams conversation id)
    conditions, colon, channel = text.partition(":")
    if not colon:
        raise RoutingError(f"{where}: expected CONDITIONS:#channel (or *:#channel for the default)")
    route = Route(target(channel.strip(), where))
    conditions = conditions.strip()
    if conditions == "*":
        return route
    if not conditions:
        raise RoutingError(f"{where}: no conditions before ':' (use * for the default route)")
    given: set[str] = set()
    for raw in conditions.split(","):
        condition = raw.strip()
        kind = _condition_kind(condition, where)
        if kind in given:
            raise RoutingError(f"{where}: {kind} is given twice; use {kind}=a|b for alternatives")
        given.add(kind)
        route = _with_condition(route, kind, condition, where)
    return route


def _condition_kind(text: str, where: str) -> str:
    if text == "*":
        raise RoutingError(f"{where}: '*' cannot be combined with other conditions")
    parsed = _CONDITION.match(text)
    if parsed is None:
        raise RoutingError(f"{where}: unknown condition {text!r} ({_CONDITION_HELP})")
    return parsed.group(1) or "priority"


def _with_condition(route: Route, kind: str, text: str, where: str) -> Route:
    parsed = _CONDITION.match(text)
    assert parsed is not None
    if kind == "priority":
        raw = parsed.group(3)
        try:
            return replace(route, max_priority=Priority.parse(raw))
        except ValueError:
            raise RoutingError(f"{where}: bad priority {raw!r} in {text!r} (1..5 or P1..P5)") from None
    names = [name.strip() for name in parsed.group(2).split("|")]
    for name in names:
        if not _NAME.match(name):
            raise RoutingError(f"{where}: bad {kind} name {name!r} in {text!r} (letters, digits, . _ / -)")
    if kind == "service":
        return replace(route, services=frozenset(names))
    return replace(route, teams=frozenset(names))


def is_channel_id(channel: str) -> bool:
    """A conversation id (C…, G…, or D… for a direct message) rather than a #name."""
    return _CHANNEL_ID.match(channel) is not None or _DM_ID.match(channel) is not None


def _channel(text: str, where: str) -> str:
    if _CHANNEL_NAME.match(text) or _CHANNEL_ID.match(text):
        return text
    raise RoutingError(
        f"{where}: bad channel {text!r} (expected #name in lower case, or a channel id such as C0123ABCD)"
    )
