"""The one message model: what a responder sees of an incident, whatever the surface.

`build_incident_view` turns stored facts into an `IncidentView`; Block Kit, Adaptive Card and HTML
renderers turn that view into their own format and decide nothing themselves. Wording that every
surface shares (badges, times, status lines) is settled here so the three can never disagree.

Every action a card offers carries an `ActionValue`: the incident, the version the responder saw and
what to do. The handler that receives a click parses it with `parse_action_value`, whatever the
surface it came from.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from engine.models import IncidentStatus, Priority, utc

T = TypeVar("T")

MAX_REASONS = 3
# Longest action argument (a playbook name): short enough that every encoded value fits Slack's
# 2,000-character button value, and a silence value its 150-character menu option.
MAX_ARGUMENT_CHARS = 200
MAX_ID = 2**63 - 1  # incident ids and versions are 64-bit database integers
MAX_URL_CHARS = 1000  # longer than any real link; a longer one would crowd the card out
MAX_MERGE_CANDIDATES = 5
ELLIPSIS = "…"

PRIORITY_BADGES: Mapping[Priority, str] = {
    Priority.P1: "🔴",
    Priority.P2: "🟠",
    Priority.P3: "🟡",
    Priority.P4: "🔵",
    Priority.P5: "⚪",
}
UNSCORED_BADGE = "⚫ unscored"
RESOLVED_BADGE = "✅ Resolved"
_SPARK_LEVELS = "▁▂▃▄▅▆▇█"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ActionKind(enum.StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    SILENCE = "silence"
    ESCALATE = "escalate"
    RUN_PLAYBOOK = "playbook"
    SPLIT = "split"
    MERGE = "merge"
    # on a playbook run's approval request in the thread; the argument is the run id
    APPROVE_RUN = "approve"
    DENY_RUN = "deny"
    CANCEL_RUN = "cancel"


class ActionStyle(enum.StrEnum):
    DEFAULT = "default"
    PRIMARY = "primary"  # the one thing a responder most likely does next
    DANGER = "danger"  # wakes someone up or changes production


@dataclass(frozen=True, slots=True)
class SilencePreset:
    argument: str
    label: str
    seconds: int | None  # None: the responder picks the duration


SILENCE_PRESETS: tuple[SilencePreset, ...] = (
    SilencePreset("1h", "Silence 1 h", 3600),
    SilencePreset("4h", "Silence 4 h", 4 * 3600),
    SilencePreset("custom", "Silence for…", None),
)


def silence_seconds(argument: str) -> int | None:
    """Seconds a silence argument stands for; None for "custom". Raises ValueError if unknown."""
    for preset in SILENCE_PRESETS:
        if preset.argument == argument:
            return preset.seconds
    raise ValueError(f"unknown silence duration {argument!r}")


@dataclass(frozen=True, slots=True)
class ActionValue:
    """What a click means: act on this incident, as of this version, with this argument.

    The version lets the handler notice a click on a card that has changed since it was drawn.
    """

    incident_id: int
    version: int
    action: ActionKind
    argument: str = ""

    def __post_init__(self) -> None:
        for name, number in (("incident_id", self.incident_id), ("version", self.version)):
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX_ID:
                raise ValueError(f"{name} must be an integer from 0 to {MAX_ID}, not {number!r}")
        if not isinstance(self.action, ActionKind):
            raise ValueError(f"unknown action {self.action!r}")
        if not isinstance(self.argument, str) or len(self.argument) > MAX_ARGUMENT_CHARS:
            raise ValueError(f"an action argument is a string of at most {MAX_ARGUMENT_CHARS} characters")
        if not self.argument.isprintable():
            raise ValueError("an action argument has no control characters")

    def as_dict(self) -> dict[str, str | int]:
        return {
            "incident": self.incident_id,
            "version": self.version,
            "action": self.action.value,
            "arg": self.argument,
        }

    def encode(self) -> str:
        return json.dumps(self.as_dict(), separators=(",", ":"), ensure_ascii=False)


_ACTION_NAMES = frozenset(kind.value for kind in ActionKind)


def parse_action_value(raw: str | Mapping[str, Any]) -> ActionValue:
    """Read a value back from a Slack button/option `value` (a JSON string) or a Teams `data` object.

    Keys other than the four are ignored: Teams merges the card's inputs into `data`.
    Raises ValueError on anything else.
    """
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"action value is not JSON: {exc.msg}") from None
    else:
        decoded = raw
    if not isinstance(decoded, Mapping):
        raise ValueError("action value must be a JSON object")
    incident, version = decoded.get("incident"), decoded.get("version")
    action, argument = decoded.get("action"), decoded.get("arg", "")
    if not isinstance(incident, int) or not isinstance(version, int):
        raise ValueError("action value needs integer 'incident' and 'version'")
    if not isinstance(action, str) or action not in _ACTION_NAMES or not isinstance(argument, str):
        raise ValueError(f"unknown action {action!r} or non-string 'arg'")
    return ActionValue(incident, version, ActionKind(action), argument)


@dataclass(frozen=True, slots=True)
class ActionView:
    id: str
    """Stable per card: "nocbot.acknowledge", "nocbot.silence.1h", "nocbot.playbook.0", ..."""
    label: str
    value: ActionValue
    style: ActionStyle = ActionStyle.DEFAULT
    confirm: str | None = None
    """Question to confirm before acting, for actions that page people or run steps."""

    @property
    def kind(self) -> ActionKind:
        return self.value.action


@dataclass(frozen=True, slots=True)
class SectionItem:
    """One line of a section; `label` makes it a key/value field."""

    text: str
    label: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ViewSection:
    """A block of enrichment: related alerts, recent changes, similar incidents, owner/runbook."""

    heading: str
    lines: tuple[SectionItem, ...] = ()
    fields: tuple[SectionItem, ...] = ()


@dataclass(frozen=True, slots=True)
class Chart:
    url: str
    alt_text: str


@dataclass(frozen=True, slots=True)
class StatusView:
    status: IncidentStatus
    by: str | None
    at: datetime | None
    text: str  # "Acknowledged by alice · 12:04 UTC"


@dataclass(frozen=True, slots=True)
class IncidentView:
    incident_id: int
    version: int
    title: str
    status: StatusView
    priority: Priority | None
    score: float | None  # 0-100 urgency
    scorer: str | None
    reasons: tuple[str, ...]  # the top few, most important first
    services: tuple[str, ...]
    alert_count: int
    started_at: datetime
    started_text: str
    duration_text: str
    sections: tuple[ViewSection, ...] = ()
    chart: Chart | None = None
    sparkline: str | None = None
    actions: tuple[ActionView, ...] = ()
    footer: str = "nocbot"
    console_url: str | None = None

    @property
    def badge(self) -> str:
        """ "🔴 P1"; resolved incidents lose their colour so that open ones stand out."""
        if self.status.status is IncidentStatus.RESOLVED:
            return RESOLVED_BADGE
        if self.priority is None:
            return UNSCORED_BADGE
        return f"{PRIORITY_BADGES[self.priority]} {self.priority.name}"

    @property
    def assessment_text(self) -> str:
        """ "P2 · score 64/100 (xgboost) — customer-facing service · 14 alerts"."""
        parts = [self.priority.name if self.priority is not None else "unscored"]
        if self.score is not None and math.isfinite(self.score):
            scorer = f" ({self.scorer})" if self.scorer else ""
            parts.append(f"score {round(self.score)}/100{scorer}")
        head = " · ".join(parts)
        return f"{head} — {' · '.join(self.reasons)}" if self.reasons else head

    @property
    def alert_count_text(self) -> str:
        return f"{self.alert_count:,}"

    def actions_of(self, *kinds: ActionKind) -> tuple[ActionView, ...]:
        return tuple(action for action in self.actions if action.kind in kinds)


class IncidentLike(Protocol):
    """The fields of an incident the view needs (engine.storage.records.IncidentRecord has them)."""

    @property
    def id(self) -> int: ...
    @property
    def version(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def service(self) -> str | None: ...
    @property
    def services(self) -> Sequence[str]: ...
    @property
    def priority(self) -> int | None: ...
    @property
    def score(self) -> float | None: ...
    @property
    def scorer(self) -> str | None: ...
    @property
    def reasons(self) -> Sequence[Any]: ...
    @property
    def alert_count(self) -> int: ...
    @property
    def opened_at(self) -> datetime: ...
    @property
    def acknowledged_at(self) -> datetime | None: ...
    @property
    def acknowledged_by(self) -> str | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def resolved_by(self) -> str | None: ...
    @property
    def auto_resolved(self) -> bool: ...


class ReasonLike(Protocol):
    @property
    def phrase(self) -> str: ...


class AssessmentLike(Protocol):
    """engine.scoring.PriorityAssessment, without importing the scoring stack."""

    @property
    def priority(self) -> Priority: ...
    @property
    def score(self) -> float: ...
    @property
    def scorer(self) -> str: ...
    @property
    def reasons(self) -> Sequence[ReasonLike]: ...


def build_incident_view(
    incident: IncidentLike,
    *,
    now: datetime,
    assessment: AssessmentLike | None = None,
    sections: Sequence[ViewSection] = (),
    playbooks: Sequence[str] = (),
    chart: Chart | None = None,
    series: Sequence[float] = (),
    can_escalate: bool = False,
    offer_split: bool = False,
    merge_candidates: Sequence[int] = (),
    tz: tzinfo = UTC,
    console_url: str | None = None,
) -> IncidentView:
    """The view of `incident` as of `now`.

    Without `assessment` the incident's stored priority, score and reasons are shown. `playbooks`
    are the names of the playbooks that match it; `series` is a metric to draw as a sparkline;
    `merge_candidates` are incidents the clustering was unsure about keeping apart.
    """
    status = IncidentStatus(incident.status)
    if assessment is not None:
        priority: Priority | None = assessment.priority
        score: float | None = assessment.score
        scorer: str | None = assessment.scorer
        reasons = tuple(reason.phrase for reason in assessment.reasons)
    else:
        priority = Priority(incident.priority) if incident.priority is not None else None
        score, scorer = incident.score, incident.scorer
        reasons = tuple(filter(None, (_reason_phrase(reason) for reason in incident.reasons)))
    ended = incident.resolved_at if status is IncidentStatus.RESOLVED and incident.resolved_at else now
    return IncidentView(
        incident_id=incident.id,
        version=incident.version,
        title=incident.title,
        status=_status_view(incident, status, now, tz),
        priority=priority,
        score=score,
        scorer=scorer,
        reasons=reasons[:MAX_REASONS],
        services=_services(incident),
        alert_count=incident.alert_count,
        started_at=incident.opened_at,
        started_text=time_text(incident.opened_at, now, tz),
        duration_text=duration_text((utc(ended) - utc(incident.opened_at)).total_seconds()),
        sections=tuple(sections),
        chart=chart,
        sparkline=sparkline(series) or None,
        actions=incident_actions(
            incident.id,
            incident.version,
            status,
            playbooks=playbooks,
            can_escalate=can_escalate,
            offer_split=offer_split,
            merge_candidates=merge_candidates,
        ),
        footer=f"nocbot · incident #{incident.id} · updated {time_text(now, now, tz)}",
        console_url=console_url,
    )


def incident_actions(
    incident_id: int,
    version: int,
    status: IncidentStatus,
    *,
    playbooks: Sequence[str] = (),
    can_escalate: bool = False,
    offer_split: bool = False,
    merge_candidates: Sequence[int] = (),
) -> tuple[ActionView, ...]:
    """What a responder can do in this status: nothing once resolved, no Acknowledge once acknowledged.

    A playbook whose name is longer than MAX_ARGUMENT_CHARS (or has control characters) cannot be
    carried in a button and is left out; the playbook loader is expected to refuse such names.
    """
    if status is IncidentStatus.RESOLVED:
        return ()

    def action(
        id_: str,
        label: str,
        kind: ActionKind,
        argument: str = "",
        style: ActionStyle = ActionStyle.DEFAULT,
        confirm: str | None = None,
    ) -> ActionView:
        return ActionView(id_, label, ActionValue(incident_id, version, kind, argument), style, confirm)

    actions: list[ActionView] = []
    if status is IncidentStatus.OPEN:
        actions.append(
            action("nocbot.acknowledge", "Acknowledge", ActionKind.ACKNOWLEDGE, style=ActionStyle.PRIMARY)
        )
    resolve_style = ActionStyle.PRIMARY if status is IncidentStatus.ACKNOWLEDGED else ActionStyle.DEFAULT
    actions.append(action("nocbot.resolve", "Resolve", ActionKind.RESOLVE, style=resolve_style))
    for preset in SILENCE_PRESETS:
        silence_id = f"nocbot.silence.{preset.argument}"
        actions.append(action(silence_id, preset.label, ActionKind.SILENCE, preset.argument))
    if can_escalate:
        page = "Page the on-call responder through PagerDuty?"
        actions.append(
            action(
                "nocbot.escalate",
                "Escalate to PagerDuty",
                ActionKind.ESCALATE,
                style=ActionStyle.DANGER,
                confirm=page,
            )
        )
    carried = [name for name in dict.fromkeys(playbooks) if _fits_argument(name)]
    for index, name in enumerate(carried):
        question = f"Run the playbook {name} on this incident?"
        actions.append(
            action(f"nocbot.playbook.{index}", f"Run {name}", ActionKind.RUN_PLAYBOOK, name, confirm=question)
        )
    if offer_split:
        actions.append(action("nocbot.split", "Split…", ActionKind.SPLIT))
    for other in list(dict.fromkeys(merge_candidates))[:MAX_MERGE_CANDIDATES]:
        if other != incident_id and 0 <= other <= MAX_ID:
            actions.append(
                action(f"nocbot.merge.{other}", f"Merge into #{other}", ActionKind.MERGE, str(other))
            )
    return tuple(actions)


def reply_actions(incident_id: int, kind: str, detail: Mapping[str, Any] | None) -> tuple[ActionView, ...]:
    """Buttons under a timeline reply: approving or denying a requested playbook run, cancelling
    a running one. The version is 0: a run's buttons do not go stale with the incident."""
    run_id = (detail or {}).get("run_id")
    if not isinstance(run_id, int) or not 0 < run_id <= MAX_ID:
        return ()
    run = str(run_id)

    def action(kind_: ActionKind, label: str, style: ActionStyle, confirm: str | None = None) -> ActionView:
        return ActionView(
            f"nocbot.run.{kind_.value}", label, ActionValue(incident_id, 0, kind_, run), style, confirm
        )

    if kind == "playbook_requested":
        return (
            action(ActionKind.APPROVE_RUN, "Approve", ActionStyle.PRIMARY, "Run this playbook now?"),
            action(ActionKind.DENY_RUN, "Deny", ActionStyle.DANGER),
        )
    if kind in ("playbook_approved", "playbook_running"):
        return (action(ActionKind.CANCEL_RUN, "Cancel run", ActionStyle.DANGER, "Stop this playbook run?"),)
    return ()


def _fits_argument(name: str) -> bool:
    return 0 < len(name) <= MAX_ARGUMENT_CHARS and name.isprintable()


def _reason_phrase(reason: Any) -> str | None:
    """Stored reasons are phrases, or objects with a "phrase" (scoring) or "text" (clustering)."""
    if isinstance(reason, str):
        return reason
    if isinstance(reason, Mapping):
        phrase = reason.get("phrase") or reason.get("text")
        return phrase if isinstance(phrase, str) else None
    return None


def _services(incident: IncidentLike) -> tuple[str, ...]:
    named = [incident.service] if incident.service else []
    return tuple(dict.fromkeys([*named, *incident.services]))


def _status_view(incident: IncidentLike, status: IncidentStatus, now: datetime, tz: tzinfo) -> StatusView:
    if status is IncidentStatus.RESOLVED:
        by, at = incident.resolved_by, incident.resolved_at
        who = "automatically" if incident.auto_resolved or not by else f"by {by}"
        text = f"Resolved {who}"
    elif status is IncidentStatus.ACKNOWLEDGED:
        by, at = incident.acknowledged_by, incident.acknowledged_at
        text = f"Acknowledged by {by}" if by else "Acknowledged"
    else:
        return StatusView(status, None, None, "Open")
    if at is not None:
        text += f" · {time_text(at, now, tz)}"
    return StatusView(status, by, at, text)


def time_text(at: datetime, now: datetime, tz: tzinfo = UTC) -> str:
    """ "12:04 UTC" today, "Nov 3 12:04 UTC" this year, else "2025-11-03 12:04 UTC"."""
    local, today = utc(at).astimezone(tz), utc(now).astimezone(tz)
    clock = f"{local:%H:%M} {local.tzname() or 'UTC'}"
    if local.date() == today.date():
        return clock
    if local.year == today.year:
        return f"{_MONTHS[local.month - 1]} {local.day} {clock}"
    return f"{local:%Y-%m-%d} {clock}"


def duration_text(seconds: float) -> str:
    """ "45 s", "12 min", "1 h 12 min", "3 d 4 h"; a negative span (clock skew) is "0 s"."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{secs} s"


def sparkline(values: Sequence[float], width: int = 30) -> str:
    """The last `width` values as block characters, scaled between their min and max; gaps for NaN."""
    recent = list(values)[-width:]
    finite = [v for v in recent if math.isfinite(v)]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    span = high - low
    top = len(_SPARK_LEVELS) - 1

    def level(value: float) -> str:
        if not math.isfinite(value):
            return " "
        if span == 0 or not math.isfinite(span):
            return _SPARK_LEVELS[top // 2]
        return _SPARK_LEVELS[round((value - low) / span * top)]

    return "".join(level(v) for v in recent)


# Characters that would end a Slack link or an HTML attribute early, or hide where a link goes.
_URL_UNSAFE = re.compile(r"[\s<>|\"'`\\]")


def link_target(url: str | None) -> str | None:
    """`url` if it is safe to put behind a link or image on every surface (http or https), else None."""
    if not url or len(url) > MAX_URL_CHARS or not url.isprintable() or _URL_UNSAFE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def more_text(count: int) -> str:
    return f"{ELLIPSIS} and {count:,} more"


def clip(text: str, limit: int, escape: Callable[[str], str] = str) -> str:
    """`escape(text)`, cut to at most `limit` characters (the cut marked with an ellipsis).

    Cuts the raw text, never the escaped one, so an escape sequence is never broken in half; keeps the
    longest raw prefix whose escape fits.
    """
    whole = escape(text)
    if len(whole) <= limit:
        return whole
    if limit < 1:
        return ""
    fits, too_long = 0, min(len(text), limit)  # escaping never shortens: `limit` raw characters cannot fit
    while too_long - fits > 1:
        middle = (fits + too_long) // 2
        if len(escape(text[:middle])) < limit:
            fits = middle
        else:
            too_long = middle
    return escape(text[:fits]) + ELLIPSIS


def fit_items(
    items: Sequence[T],
    render: Callable[[T, int], str],
    limit: int,
    *,
    separator: str = "\n",
    head: str = "",
    item_limit: int | None = None,
    min_room: int = 24,
) -> str:
    """`head`, then as many rendered items as fit in `limit` characters, then "… and N more".

    `render(item, room)` returns at most `room` characters. After each item, room is kept back for
    the "… and N more" that would follow it, so the result never exceeds `limit`. An item that does
    not fit whole is cut, unless so little room is left that the cut would say nothing.
    """
    out = head
    natural_limit = item_limit if item_limit is not None else limit
    for index, item in enumerate(items):
        sep = separator if head or index else ""
        after = len(items) - index - 1
        reserve = len(separator) + len(more_text(after)) if after else 0
        room = min(limit - len(out) - len(sep) - reserve, natural_limit)
        text = render(item, natural_limit)
        if len(text) > room:
            if room < min_room:
                return _with_tail(out, sep + more_text(len(items) - index), limit)
            text = render(item, room)
        out += sep + text
    return out


def _with_tail(out: str, tail: str, limit: int) -> str:
    if len(out) + len(tail) <= limit:
        return out + tail
    return clip(out + tail, limit)  # only when `head` alone left no room: callers clip it first
