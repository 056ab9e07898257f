"""The demo scenario on disk: its manifest (`scenario.json`), recording, history and catalog."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bot.commands.common import CommandError
from engine.models import PastIncident
from integrations.import_files import ImportFileError, read_past_incidents
from integrations.payload import parse_iso
from integrations.recordings import RecordingError, ReplayEvent, read_recording

# examples/ is not part of the installed packages: the demo runs from a checkout (`make demo`)
DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "examples" / "scenario"
# The anomaly detector keeps statistics per half hour of the day: a replay that keeps the recording's
# minutes past the hour meets the same bin boundaries, so every run finds the same anomalies.
PHASE = timedelta(hours=1)


@dataclass(frozen=True)
class DemoScenario:
    name: str
    directory: Path
    start: datetime  # event time of the recording's beginning (history lies before it)
    minutes: float  # event time the recording spans
    events_path: Path
    history_path: Path
    catalog_path: Path
    metric_limits: tuple[str, ...]

    def replay_start(self, now: datetime) -> datetime:
        """When a replay starting `now` should say the scenario begins: the first moment from `now`
        on with the recording's minutes past the hour."""
        return self.start + math.ceil((now - self.start) / PHASE) * PHASE

    def events(self) -> list[ReplayEvent]:
        try:
            with self.events_path.open(encoding="utf-8") as lines:
                return list(read_recording(lines))
        except OSError as exc:
            raise CommandError(f"{self.events_path}: {exc.strerror}") from None
        except RecordingError as exc:
            raise CommandError(f"{self.events_path}:{exc.line}: {exc.reason}") from None

    def history(self, replay_start: datetime) -> list[PastIncident]:
        """The past incidents, moved as the replay moves the scenario: "3 weeks before" stays so."""
        delta = replay_start - self.start
        try:
            with self.history_path.open(encoding="utf-8", newline="") as lines:
                return [_shifted(incident, delta) for incident in read_past_incidents(lines)]
        except OSError as exc:
            raise CommandError(f"{self.history_path}: {exc.strerror}") from None
        except ImportFileError as exc:
            raise CommandError(f"{self.history_path}:{exc.line}: {exc.reason}") from None


def load_scenario(directory: Path = DEFAULT_DIRECTORY) -> DemoScenario:
    manifest_path = directory / "scenario.json"
    try:
        manifest: Any = orjson.loads(manifest_path.read_bytes())
    except OSError as exc:
        raise CommandError(f"{manifest_path}: {exc.strerror} (is this a nocbot checkout?)") from None
    except orjson.JSONDecodeError as exc:
        raise CommandError(f"{manifest_path}: invalid JSON: {exc}") from None
    try:
        start = parse_iso(manifest["start"])
        if start is None:
            raise ValueError("start is not an ISO 8601 time")
        return DemoScenario(
            name=str(manifest["name"]),
            directory=directory,
            start=start,
            minutes=float(manifest["minutes"]),
            events_path=directory / manifest["events"],
            history_path=directory / manifest["history"],
            catalog_path=(directory / manifest["catalog"]).resolve(),
            metric_limits=tuple(str(spec) for spec in manifest.get("metric_limits", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CommandError(f"{manifest_path}: not a scenario manifest ({exc})") from None


def _shifted(incident: PastIncident, delta: timedelta) -> PastIncident:
    def moved(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment + delta

    return dataclasses.replace(
        incident,
        opened_at=incident.opened_at + delta,
        acknowledged_at=moved(incident.acknowledged_at),
        resolved_at=moved(incident.resolved_at),
    )
