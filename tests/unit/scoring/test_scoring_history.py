from __future__ import annotations

import csv
import math
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from engine.catalog import Catalog
from engine.models import PastIncident, Priority, Service
from engine.scoring import (
    FEATURE_NAMES,
    LabelledRow,
    TrainingParams,
    TrainingSet,
    history_training_rows,
    train_priority_model,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "history"))
import generate_history

START = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)  # a Monday, 10:30 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")
CATALOG = Catalog.from_services([Service("checkout", tier=1, customer_facing=True)])


def imported(
    number: int,
    title: str,
    days: float,
    priority: Priority | None,
    minutes: float | None,
    service: str = "checkout",
) -> PastIncident:
    opened = START + timedelta(days=days)
    return PastIncident(
        id=f"INC-{number}",
        title=title,
        service=service,
        priority=priority,
        opened_at=opened,
        resolved_at=None if minutes is None else opened + timedelta(minutes=minutes),
    )


HISTORY = [
    imported(5, "Disk usage above 93% on db-1", 25, Priority.P4, 30),
    imported(1, "Disk usage above 91% on db-1", 0, Priority.P3, 60),
    imported(2, "Disk usage above 95% on db-2", 10, Priority.P2, 120),
    imported(3, "Disk usage above 90% on db-3", 20, None, None),  # no priority: history, not a row
    imported(4, "High 5xx rate on checkout", 24, Priority.P1, 20),
    imported(6, "Queue stuck", 26, Priority.P5, 10, service="legacy-batch"),
    imported(7, "Disk usage above 99% on db-9", 140, Priority.P3, 45),
]


def row_values(rows: list[LabelledRow], index: int) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, (float(v) for v in rows[index].features), strict=True))


def test_imported_incidents_become_rows_in_time_order() -> None:
    rows = history_training_rows(HISTORY, catalog=CATALOG, team_timezone=BERLIN)
    assert [row.priority for row in rows] == [
        Priority.P3,
        Priority.P2,
        Priority.P1,
        Priority.P4,
        Priority.P5,
        Priority.P3,
    ]
    assert [row.opened_at for row in rows] == sorted(row.opened_at for row in rows)


def test_recurrence_and_time_to_resolve_come_from_earlier_similar_incidents() -> None:
    rows = history_training_rows(HISTORY, catalog=CATALOG, team_timezone=BERLIN)
    values = row_values(rows, 3)  # the disk incident of day 25
    assert values["recurrence_30d"] == 3.0  # days 0, 10, 20 (numbers in titles do not matter)
    assert values["median_minutes_to_resolve"] == 90.0  # of 60 and 120; day 20 was never resolved
    assert row_values(rows, 2)["recurrence_30d"] == 0.0  # another title: not similar


def test_what_a_csv_does_not_say_stays_missing() -> None:
    rows = history_training_rows(HISTORY, catalog=CATALOG, team_timezone=BERLIN)
    values = row_values(rows, 3)
    for unknown in (
        "max_severity",
        "alert_count",
        "distinct_hosts",
        "change_within_hour",
        "minutes_since_change",
        "peak_anomaly_score",
        "minutes_open",
    ):
        assert math.isnan(values[unknown]), unknown
    assert (values["best_tier"], values["customer_facing"], values["business_hours"]) == (1.0, 1.0, 1.0)
    legacy = row_values(rows, 4)
    assert math.isnan(legacy["best_tier"]) and math.isnan(legacy["customer_facing"])


def test_similar_incidents_older_than_the_lookback_are_forgotten() -> None:
    values = row_values(history_training_rows(HISTORY, catalog=CATALOG, team_timezone=BERLIN), 5)
    assert values["recurrence_30d"] == 0.0
    assert math.isnan(values["median_minutes_to_resolve"])


def test_the_synthetic_history_is_reproducible_and_covers_every_priority() -> None:
    _, first = generate_history.generate_history(400, seed=5)
    _, second = generate_history.generate_history(400, seed=5)
    assert [i.record for i in first] == [i.record for i in second]
    assert set(Counter(i.priority for i in first)) == set(Priority)
    assert [i.record.opened_at for i in first] == sorted(i.record.opened_at for i in first)


def test_the_synthetic_history_is_written_in_the_import_format(tmp_path: Path) -> None:
    _, incidents = generate_history.generate_history(50, seed=6)
    path = tmp_path / "history.csv"
    assert generate_history.write_csv(incidents, path) == 50
    with path.open(newline="") as file:
        rows = list(csv.reader(file))
    assert (
        ",".join(rows[0])
        == "id,title,service,priority,opened_at,acknowledged_at,resolved_at,resolution,playbook"
    )
    first = dict(zip(rows[0], rows[1], strict=True))
    assert Priority.parse(first["priority"]) == incidents[0].priority
    assert datetime.fromisoformat(first["opened_at"]) == incidents[0].record.opened_at
    assert datetime.fromisoformat(first["resolved_at"]) > datetime.fromisoformat(first["opened_at"])


def test_imported_history_alone_still_trains_a_useful_model() -> None:
    catalog, incidents = generate_history.generate_history(1500, seed=8)
    rows = history_training_rows(
        [i.record for i in incidents], catalog=catalog, team_timezone=ZoneInfo("Europe/Berlin")
    )
    data = TrainingSet.from_rows(rows)
    result = train_priority_model(
        data, created_at=START, params=TrainingParams(max_rounds=30, early_stopping_rounds=10, nthread=1)
    )
    majority = np.bincount(result.holdout.labels).max() / len(result.holdout)
    assert result.metrics.accuracy > majority + 0.05, (result.metrics.accuracy, majority)
