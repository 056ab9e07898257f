"""What the demo shows in the terminal: what the replay sent, what nocbot made of it.

`ReplayTally` counts what the server accepted; `IncidentBoard` is the latest `GET /api/v1/incidents`;
`render` turns both into one rich renderable, redrawn by `rich.live`. Noise reduction is alerts per
incident: the unique alerts sent (fingerprint and start, so a re-delivery or a resolution is not a
second alert) divided by the incidents that hold them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from integrations.recordings import ReplayEvent, alert_instances

TOP_INCIDENTS = 8
_PRIORITY_STYLE = {"P1": "bold red", "P2": "red", "P3": "yellow", "P4": "cyan", "P5": "dim"}


@dataclass
class ReplayTally:
    deliveries: int = 0
    points: int = 0
    changes: int = 0
    events: int = 0
    latest_at: datetime | None = None  # event time of the newest event sent
    _alerts: set[tuple[str, str]] = field(default_factory=set)

    def observe(self, event: ReplayEvent) -> None:
        self.events += 1
        self.latest_at = event.at
        if event.kind in ("alertmanager", "alerts"):
            instances = alert_instances(event)
            self.deliveries += len(instances)
            self._alerts.update(instances)
        elif event.kind == "metrics":
            self.points += event.items()
        elif event.kind == "changes":
            self.changes += event.items()

    @property
    def alerts(self) -> int:
        return len(self._alerts)


@dataclass(frozen=True)
class IncidentBoard:
    """nocbot's own incidents (imported history left out), as the API lists them."""

    incidents: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of(cls, items: Iterable[Mapping[str, Any]]) -> IncidentBoard:
        # an incident merged into another keeps its row but no alerts: it is not one more page
        return cls(tuple(i for i in items if i.get("origin", "nocbot") == "nocbot" and i.get("alert_count")))

    @property
    def count(self) -> int:
        return len(self.incidents)

    @property
    def open(self) -> int:
        return sum(1 for i in self.incidents if i.get("status") != "resolved")

    def top(self, limit: int = TOP_INCIDENTS) -> list[Mapping[str, Any]]:
        """Most urgent first: priority, then open before resolved, then size, then newest."""
        return sorted(
            self.incidents,
            key=lambda i: (
                str(i.get("priority") or "P9"),
                i.get("status") == "resolved",
                -int(i.get("alert_count") or 0),
                -int(i.get("id") or 0),
            ),
        )[:limit]


def noise_reduction(alerts: int, incidents: int) -> float | None:
    return alerts / incidents if incidents else None


def reduction_text(alerts: int, incidents: int) -> str:
    ratio = noise_reduction(alerts, incidents)
    if ratio is None:
        return "noise reduction: no incidents yet"
    fewer = 1.0 - incidents / alerts if alerts else 0.0
    return (
        f"noise reduction {ratio:.1f}x: {alerts} alerts became {incidents} incidents "
        f"({fewer:.0%} fewer things to look at)"
    )


@dataclass(frozen=True)
class DemoStatus:
    scenario: str
    console_url: str
    speed: float
    minutes: float  # event time of the whole recording
    started_at: datetime | None  # event time the replay began at (after shifting), None: no replay
    finished: bool
    first_incident_seconds: float | None


def render(status: DemoStatus, tally: ReplayTally, board: IncidentBoard) -> RenderableType:
    header = Text.assemble(
        ("nocbot demo", "bold"),
        f" · scenario {status.scenario} · console ",
        (status.console_url, "underline"),
    )
    lines: list[RenderableType] = [header, _progress(status, tally)]
    lines.append(
        Text(
            f"alerts in {tally.alerts} ({tally.deliveries} deliveries) · metric points {tally.points:,} · "
            f"changes {tally.changes}"
        )
    )
    opened = Text(f"incidents opened {board.count} ({board.open} open) · ")
    opened.append(reduction_text(tally.alerts, board.count), style="bold green" if board.count else "")
    lines.append(opened)
    if status.first_incident_seconds is not None:
        lines.append(Text(f"first incident {status.first_incident_seconds:.1f} s after the replay started"))
    lines.append(_table(board.top()))
    return Group(*lines)


def _progress(status: DemoStatus, tally: ReplayTally) -> Text:
    if status.started_at is None:
        return Text("replay off: send alerts yourself (see the API spec)")
    done = 0.0
    if tally.latest_at is not None:
        done = (tally.latest_at - status.started_at).total_seconds() / 60.0
    share = min(1.0, done / status.minutes) if status.minutes else 1.0
    width = 30
    bar = "█" * round(share * width) + "░" * (width - round(share * width))
    state = "finished" if status.finished else f"speed {status.speed:g}x"
    return Text(
        f"replay {bar} {share:4.0%}  event time {_clock(done)} of {_clock(status.minutes)}  ({state})"
    )


def _clock(minutes: float) -> str:
    whole = int(minutes)
    return f"{whole // 60}:{whole % 60:02d}"


def _table(incidents: Sequence[Mapping[str, Any]]) -> Table:
    table = Table(title="top incidents by priority", title_justify="left", expand=True)
    table.add_column("#", justify="right", no_wrap=True, min_width=3)
    table.add_column("prio", no_wrap=True, min_width=4)
    table.add_column("alerts", justify="right", no_wrap=True, min_width=6)
    table.add_column("status", no_wrap=True, min_width=8)
    table.add_column("services", ratio=1, min_width=12)
    table.add_column("title", overflow="ellipsis", no_wrap=True, ratio=2)
    for incident in incidents:
        priority = str(incident.get("priority") or "-")
        table.add_row(
            str(incident.get("id")),
            Text(priority, style=_PRIORITY_STYLE.get(priority, "")),
            str(incident.get("alert_count")),
            str(incident.get("status")),
            ", ".join(incident.get("services") or ()) or str(incident.get("service") or "-"),
            str(incident.get("title") or ""),
        )
    return table
