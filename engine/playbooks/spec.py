"""A playbook as nocbot holds it once loaded: what it matches, who approves it, what its steps do.

Files are read by `engine.playbooks.loader`; every template in here was parsed and checked then.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from engine.clustering.silences import Matcher
from engine.playbooks.templating import Template, UrlTemplate

# values the engine supplies to every template, next to the playbook's own parameters
BUILTIN_PARAMETERS = ("incident_id", "run_id", "playbook")


class StepKind(enum.StrEnum):
    HTTP = "http"
    COMMAND = "command"
    WAIT = "wait"
    CHECK = "check"
    NOTIFY = "notify"
    ESCALATE = "escalate"
    RESOLVE = "resolve"


# kinds that change nothing outside nocbot's own thread, so they are safe and may repeat
SAFE_KINDS = frozenset({StepKind.WAIT, StepKind.CHECK, StepKind.NOTIFY})
# kinds whose second run does no harm (PagerDuty dedups by key, resolving twice is a no-op)
IDEMPOTENT_KINDS = frozenset(
    {StepKind.WAIT, StepKind.CHECK, StepKind.NOTIFY, StepKind.ESCALATE, StepKind.RESOLVE}
)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class Approval(enum.StrEnum):
    REQUIRED = "required"
    AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Parameter:
    """One value for the templates: an incident label (with a default), or fixed text."""

    name: str
    label: str | None = None
    default: str | None = None
    pattern: re.Pattern[str] | None = None
    """When set, the value must match it whole or the run is refused (defence in depth: values
    are data wherever they land, but a namespace that is not a namespace is a mistake)."""


@dataclass(frozen=True, slots=True)
class Match:
    alertnames: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    labels: tuple[Matcher, ...] = ()


@dataclass(frozen=True, slots=True)
class Approvers:
    """Chat user keys ("slack:U123", "teams:<aad object id>") and groups ("slack:S0614TZR7" for
    a Slack user group, "teams:<aad group id>" for a Teams AAD group)."""

    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    def describe(self) -> str:
        names = sorted(self.users) + [f"group {group}" for group in sorted(self.groups)]
        return ", ".join(names) if names else "nobody"


@dataclass(frozen=True, slots=True)
class HttpAction:
    method: str
    url: UrlTemplate
    headers: tuple[tuple[str, Template], ...] = ()
    body: Any = None
    """JSON with `Template`s for strings (see `templating.parse_json`); None sends no body."""
    expect_status: tuple[int, ...] = ()
    """Statuses that count as success; empty means any 2xx."""


@dataclass(frozen=True, slots=True)
class CommandAction:
    argv: tuple[Template, ...]
    """argv[0] is literal text (an absolute path the allow-list must hold)."""


@dataclass(frozen=True, slots=True)
class WaitAction:
    seconds: float


class Comparison(enum.StrEnum):
    BELOW = "<"
    AT_MOST = "<="
    ABOVE = ">"
    AT_LEAST = ">="

    def holds(self, value: float, threshold: float) -> bool:
        if self is Comparison.BELOW:
            return value < threshold
        if self is Comparison.AT_MOST:
            return value <= threshold
        if self is Comparison.ABOVE:
            return value > threshold
        return value >= threshold


class Aggregate(enum.StrEnum):
    AVG = "avg"
    MAX = "max"
    MIN = "min"


@dataclass(frozen=True, slots=True)
class MetricCondition:
    metric: str
    labels: tuple[tuple[str, Template], ...]
    aggregate: Aggregate
    comparison: Comparison
    threshold: float
    window_seconds: float


@dataclass(frozen=True, slots=True)
class ProbeCondition:
    url: UrlTemplate
    expect_status: tuple[int, ...] = ()
    body_contains: str | None = None


@dataclass(frozen=True, slots=True)
class CheckAction:
    condition: MetricCondition | ProbeCondition
    interval_seconds: float


@dataclass(frozen=True, slots=True)
class NotifyAction:
    text: Template


@dataclass(frozen=True, slots=True)
class EscalateAction:
    reason: Template


@dataclass(frozen=True, slots=True)
class ResolveAction:
    note: Template | None = None


Action = HttpAction | CommandAction | WaitAction | CheckAction | NotifyAction | EscalateAction | ResolveAction


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    kind: StepKind
    action: Action
    line: int
    timeout_seconds: float
    """For one attempt (a check: for all its probes together)."""
    retries: int = 0
    retry_delay_seconds: float = 5.0
    safe: bool = False
    idempotent: bool = False
    """Whether running it again after a crash mid-step is harmless; if not, such a step is
    marked failed instead of being repeated."""


@dataclass(frozen=True, slots=True)
class Playbook:
    name: str
    title: str
    description: str
    source: str
    """The file it was read from."""
    revision: str
    """sha256 of the file: a run approved for one revision never runs another."""
    match: Match
    parameters: tuple[Parameter, ...]
    approval: Approval
    approvers: Approvers
    allow_self_approval: bool
    timeout_seconds: float
    approval_timeout_seconds: float
    steps: tuple[Step, ...]
