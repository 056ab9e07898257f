"""Silences with Alertmanager's matcher semantics.

A silence mutes every alert that matches all of its matchers while it is active. As in Alertmanager,
a missing label reads as the empty string (so `team=""` matches alerts without a team), and regular
expressions are anchored at both ends. Silenced alerts are still clustered and stored; they only do
not notify.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from engine.models import Alert, Labels


class MatchOp(enum.StrEnum):
    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


# Longest operators first, so that "!~" is not read as "!" followed by "~".
_MATCHER = re.compile(r"^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: MatchOp
    value: str
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
            try:
                compiled = re.compile(f"^(?:{self.value})$")
            except re.error as exc:
                matcher = f"{self.name}{self.op}{self.value!r}"
                raise ValueError(f"matcher {matcher}: bad regular expression: {exc}") from None
            # frozen: the compiled pattern is derived data, set once here
            object.__setattr__(self, "_pattern", compiled)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Read `name=value`, `name!="value"`, `name=~"a|b"` or `name!~regex`."""
        found = _MATCHER.match(text)
        if found is None:
            raise ValueError(f"not a label matcher: {text!r} (expected name=value, !=, =~ or !~)")
        name, op, raw = found.groups()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return cls(name, MatchOp(op), raw)

    def matches(self, labels: Labels) -> bool:
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQUAL:
            return actual == self.value
        if self.op is MatchOp.NOT_EQUAL:
            return actual != self.value
        assert self._pattern is not None
        found = self._pattern.match(actual) is not None
        return found if self.op is MatchOp.REGEX else not found


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""

    def __post_init__(self) -> None:
        if not self.matchers:
            raise ValueError(f"silence {self.id}: needs at least one matcher (it would mute everything)")
        if self.ends_at <= self.starts_at:
            raise ValueError(f"silence {self.id}: ends_at must be after starts_at")

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Labels) -> bool:
        return all(matcher.matches(labels) for matcher in self.matchers)


def silencing(alert: Alert, silences: Iterable[Silence], now: datetime) -> tuple[str, ...]:
    """Ids of the active silences that mute `alert` at `now`."""
    return tuple(s.id for s in silences if s.active(now) and s.matches(alert.labels))


def is_silenced(alert: Alert, silences: Iterable[Silence], now: datetime) -> bool:
    return any(s.active(now) and s.matches(alert.labels) for s in silences)
