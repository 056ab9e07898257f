"""The one action layer every chat surface calls: what responders can do, surface-neutral.

Slack, Teams and the console translate a click, a command or a question into a call on
`ChatActions` and turn the result back into their own wording. The action layer decides (may this
person do this, is the card stale, was it already done), records the audit trail and queues the card
updates through the outbox; surfaces record nothing themselves.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from engine.clustering.silences import Matcher
from engine.view import ActionKind

log = logging.getLogger("nocbot.actions")

# The same bounds as a silence created over the HTTP API.
MIN_SILENCE = timedelta(minutes=1)
MAX_SILENCE = timedelta(days=366)


class Surface(enum.StrEnum):
    SLACK = "slack"
    TEAMS = "teams"
    CONSOLE = "console"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked, as the surface knows them; `groups` are the surface's group handles (Slack user
    groups, Teams/AAD groups) that permissions may be granted to."""

    surface: Surface
    user_id: str
    display_name: str
    groups: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        """Unique across surfaces: "slack:U012AB3CD"."""
        return f"{self.surface.value}:{self.user_id}"


class Outcome(enum.StrEnum):
    DONE = "done"
    NOT_ALLOWED = "not_allowed"
    ALREADY_HANDLED = "already_handled"  # someone else acknowledged/resolved it first
    STALE = "stale"  # the card was drawn from an older version; it is being redrawn
    NOT_FOUND = "not_found"
    INVALID = "invalid"  # the request makes no sense for this incident (e.g. merge into itself)


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    outcome: Outcome
    message: str = ""
    """For people: why it was refused, or what was done ("Silenced for 4 h (silence #12)")."""

    @property
    def refused(self) -> bool:
        return self.outcome is not Outcome.DONE


@dataclass(frozen=True, slots=True)
class ChatReply:
    """An answer to a question or a status request: one sentence, then optional detail lines."""

    text: str
    details: tuple[str, ...] = ()
    """Context a reader may want: the time range covered, the resolution of the data."""
    answered: bool = True
    """False when the question could not be answered; `text` says why."""
    suggestions: tuple[str, ...] = ()
    """Questions to try instead, when not answered."""
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    """The answer as a table (already formatted cells), when there is more than one number."""
    sql: str | None = None
    """The SQL behind the answer, for those who want to check it."""


class ChatActions(Protocol):
    async def act(
        self, actor: Actor, incident_id: int, version: int, action: ActionKind, argument: str | None
    ) -> ActionOutcome:
        """Act on an incident as of the `version` the responder saw.

        `argument` by action: SILENCE a duration in `format_duration` form ("1h", "4h", "1h30m"; a
        surface turns "custom" into a concrete duration before calling); RUN_PLAYBOOK the playbook
        name; MERGE the id of the incident to merge into; None for the others.
        """
        ...

    async def ask(self, actor: Actor, question: str) -> ChatReply: ...

    async def silence(
        self, actor: Actor, matchers: tuple[Matcher, ...], duration: timedelta, comment: str
    ) -> ActionOutcome: ...

    async def status(self, actor: Actor) -> ChatReply:
        """What is going on now: open incidents by priority, active silences."""
        ...


_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60}
_UNIT_WORDS = {
    "d": ("d", "day", "days"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "m": ("m", "min", "mins", "minute", "minutes"),
}
_WORD_TO_UNIT = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
# digits, letters and separators are disjoint, so this cannot backtrack badly
_DURATION = re.compile(r"^(?:\d{1,6}\s*[a-z]+[\s,]*)+$")
_DURATION_PART = re.compile(r"(\d{1,6})\s*([a-z]+)")


def parse_duration(text: str) -> timedelta:
    """Read "90m", "1h30m", "2 hours", "1d 4h" into a duration between MIN_SILENCE and MAX_SILENCE.

    Raises ValueError with a message a responder can act on.
    """
    cleaned = text.strip().lower()
    problem = ValueError(f"not a duration: {text.strip()!r} (try 30m, 4h, 1h30m or 2d)")
    if not _DURATION.match(cleaned):
        raise problem
    seconds = 0
    for number, word in _DURATION_PART.findall(cleaned):
        if word not in _WORD_TO_UNIT:
            raise problem
        seconds += int(number) * _UNIT_SECONDS[_WORD_TO_UNIT[word]]
    return _bounded(timedelta(seconds=seconds), text)


def _bounded(duration: timedelta, text: str) -> timedelta:
    if not MIN_SILENCE <= duration <= MAX_SILENCE:
        raise ValueError(f"a duration must be between 1 minute and 366 days, not {text.strip()!r}")
    return duration


def format_duration(duration: timedelta) -> str:
    """The compact form `parse_duration` reads back: 5400 s → "1h30m", whole minutes only."""
    minutes = int(duration.total_seconds()) // 60
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return "".join(parts) or "0m"


async def outcome_or_none(call: Awaitable[ActionOutcome]) -> ActionOutcome | None:
    """The outcome, or None when the action layer failed (logged): a surface says "try again"
    instead of failing the request Slack or Teams is waiting on."""
    try:
        return await call
    except Exception:
        log.exception("action layer failed")
        return None


async def reply_or(call: Awaitable[ChatReply], failed: str) -> ChatReply:
    """The reply, or `failed` (in the surface's words) when the action layer failed (logged)."""
    try:
        return await call
    except Exception:
        log.exception("action layer failed")
        return ChatReply(failed, answered=False)
