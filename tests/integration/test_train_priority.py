"""`nocbot train-priority` against a real database, and the scorer the service loads from it.

The history is the synthetic one of examples/history, imported with `nocbot import-incidents`, so
the path is the one an operator takes: export history, import it, train.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.cli import main
from bot.commands import train_priority
from engine.catalog import Catalog
from engine.models import Alert, AlertStatus, ChangeEvent, PastIncident, Priority, Severity
from engine.scoring import (
    DEFAULT_MODEL_PATH,
    FEATURE_NAMES,
    ModelArtifact,
    ModelLoadError,
    TrainingParams,
    TrainingSet,
    XGBoostScorer,
    history_training_rows,
    read_model,
    train_priority_model,
)
from engine.scoring_service import load_active_scorer
from engine.storage import migrate
from engine.storage.alert_rows import upsert_alerts
from engine.storage.change_rows import insert_changes
from engine.storage.database import open_engine
from engine.storage.model_rows import (
    DuplicateModelError,
    UnknownModelError,
    activate_model,
    active_version,
    list_models,
    load_active_model,
    lock_models,
    save_model,
)
from engine.storage.schema import incident_alerts, incidents, model_versions
from engine.storage.training_rows import read_training_incidents, training_rows

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "history"))
import generate_history

HISTORY_SIZE = 10_000
NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
MACRO_F1 = re.compile(r"holdout accuracy (\d\.\d+), macro-F1 (\d\.\d+)")
ACTIVATED = re.compile(r"activated model (\S+):")


@dataclass(frozen=True)
class History:
    csv: Path
    catalog_path: Path
    catalog: Catalog
    records: list[PastIncident]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    directory = tmp_path_factory.mktemp("history")
    catalog, generated = generate_history.generate_history(HISTORY_SIZE)
    csv_path, catalog_path = directory / "history.csv", directory / "services.yaml"
    generate_history.write_csv(generated, csv_path)
    generate_history.write_catalog(catalog, catalog_path)
    return History(csv_path, catalog_path, catalog, [incident.record for incident in generated])


@pytest.fixture(scope="module")
def small_model(history: History) -> ModelArtifact:
    """A quickly trained model, distinct from the shipped default one."""
    rows = history_training_rows(history.records[:800], catalog=history.catalog, team_timezone=UTC)
    params = TrainingParams(max_rounds=20)
    return train_priority_model(TrainingSet.from_rows(rows), created_at=NOW, params=params).artifact


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[AsyncConnection]:
    engine = open_engine(database_url)
    try:
        await migrate.upgrade(engine)  # the SQLite database is only a path until something migrates it
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def nocbot(*argv: str) -> int:
    # the commands own their event loop (asyncio.run), so run them off this one
    return await asyncio.to_thread(main, list(argv))


async def train_priority_command(*argv: str) -> int:
    # Not through bot.cli.main until the command is registered in COMMAND_MODULES.
    parser = argparse.ArgumentParser(prog="nocbot")
    train_priority.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args([train_priority.COMMAND, *argv])
    return await asyncio.to_thread(train_priority.run, args)


def write_history_csv(records: list[PastIncident], path: Path) -> Path:
    """The `import-incidents` CSV of `records` (the generator writes it only for its own incidents)."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(generate_history.CSV_HEADER)
        for r in records:
            times = [t.isoformat() if t else "" for t in (r.opened_at, r.acknowledged_at, r.resolved_at)]
            priority = r.priority.name if r.priority else ""
            writer.writerow(
                [r.id, r.title, r.service or "", priority, *times, r.resolution or "", r.playbook or ""]
            )
    return path


async def shuffle_priorities_before(conn: AsyncConnection, moment: datetime, seed: int) -> int:
    """Permute the priorities of incidents opened before `moment`: labels that teach nothing."""
    rows = (
        await conn.execute(
            select(incidents.c.id, incidents.c.priority)
            .where(incidents.c.opened_at < moment)
            .order_by(incidents.c.id)
        )
    ).all()
    shuffled = np.random.default_rng(seed).permutation([row.priority for row in rows])
    await conn.execute(
        update(incidents).where(incidents.c.id == bindparam("row_id")).values(priority=bindparam("label")),
        [{"row_id": row.id, "label": int(label)} for row, label in zip(rows, shuffled, strict=True)],
    )
    await conn.commit()
    return len(rows)


@pytest.mark.slow
async def test_train_on_imported_history_then_gate_a_worse_model(
    database_url: str,
    conn: AsyncConnection,
    history: History,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NOCBOT_CATALOG", str(history.catalog_path))
    assert await nocbot("import-incidents", str(history.csv), "--db", database_url) == 0
    capsys.readouterr()

    models = tmp_path / "models"
    assert await train_priority_command("--db", database_url, "--model-dir", str(models)) == 0
    out = capsys.readouterr().out
    with capsys.disabled():  # the timing, for whoever runs the suite with -s
        print(next(line for line in out.splitlines() if "train-priority took" in line))
    assert f"training on {HISTORY_SIZE} labelled incidents ({HISTORY_SIZE} imported" in out
    assert "train-priority took" in out
    accuracy, macro_f1 = (float(x) for x in MACRO_F1.findall(out)[0])
    # guessing uniformly scores about 0.19, always saying P3 about 0.10
    assert macro_f1 > 0.22 and accuracy > 0.35
    first_version = ACTIVATED.findall(out)[0]
    assert "no model is active yet" in out

    [stored] = await list_models(conn)
    assert (stored.version, stored.active) == (first_version, True)
    assert stored.metrics["macro_f1"] == pytest.approx(macro_f1, abs=5e-4)
    assert stored.metrics["support"] == HISTORY_SIZE // 5  # the most recent fifth is the holdout
    on_disk = read_model(models / f"priority-{first_version}.ubj")
    assert on_disk.metadata.model_version == first_version
    active = await load_active_model(conn)
    assert active is not None and active.ubj == on_disk.ubj
    await conn.commit()  # end the read transaction: on SQLite it would hold the snapshot

    # Worse: the older 80 % of the history now has shuffled priorities; the holdout keeps its own.
    holdout_from = active.metadata.data_window.holdout_from
    assert await shuffle_priorities_before(conn, holdout_from, seed=1) == HISTORY_SIZE * 4 // 5
    assert await train_priority_command("--db", database_url) == 0
    out = capsys.readouterr().out
    assert "not activated" in out and f"model {first_version} stays active" in out
    assert "refused, the new model is worse" in out and "--force" in out
    rows = await list_models(conn)
    assert [(m.version == first_version, m.active) for m in rows] == [(True, True), (False, False)]
    assert rows[1].metrics["macro_f1"] < rows[0].metrics["macro_f1"]
    await conn.commit()

    assert await train_priority_command("--db", database_url, "--force") == 0
    out = capsys.readouterr().out
    forced_version = ACTIVATED.findall(out)[0]
    assert "forced although worse" in out
    rows = await list_models(conn)
    assert len(rows) == 3
    assert [m.version for m in rows if m.active] == [forced_version] == [rows[2].version]


async def test_refuses_with_too_few_labelled_incidents(
    database_url: str,
    conn: AsyncConnection,
    history: History,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    labelled = history.records[:40]
    unlabelled = [
        PastIncident(id=f"X-{i}", title=r.title, service=r.service, priority=None, opened_at=r.opened_at)
        for i, r in enumerate(history.records[40:100])
    ]
    csv_path = write_history_csv(labelled + unlabelled, tmp_path / "few.csv")
    assert await nocbot("import-incidents", str(csv_path), "--db", database_url) == 0
    capsys.readouterr()

    assert await train_priority_command("--db", database_url) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == "error: too few labelled incidents to train: 40 of the 50 needed"
    assert "stored model" not in captured.out
    assert await list_models(conn) == []


async def test_replaces_an_active_model_that_cannot_be_loaded(
    database_url: str,
    conn: AsyncConnection,
    history: History,
    small_model: ModelArtifact,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await save_model(conn, small_model)
    await activate_model(conn, small_model.metadata.model_version)
    await conn.execute(update(model_versions).values(artifact=small_model.ubj[:100]))
    await conn.commit()
    csv_path = write_history_csv(history.records[:300], tmp_path / "some.csv")
    assert await nocbot("import-incidents", str(csv_path), "--db", database_url) == 0

    assert await train_priority_command("--db", database_url) == 0
    out = capsys.readouterr().out
    assert "the active model cannot be used" in out
    new_version = ACTIVATED.findall(out)[0]
    assert new_version != small_model.metadata.model_version
    assert await active_version(conn) == new_version


async def test_activation_leaves_exactly_one_active_model(
    conn: AsyncConnection, small_model: ModelArtifact
) -> None:
    other = ModelArtifact(small_model.ubj, replace(small_model.metadata, model_version="other-version"))
    await save_model(conn, small_model)
    await save_model(conn, other)
    assert await load_active_model(conn) is None

    await activate_model(conn, small_model.metadata.model_version)
    await activate_model(conn, other.metadata.model_version)
    await conn.commit()
    assert [(m.version, m.active) for m in await list_models(conn)] == [
        (small_model.metadata.model_version, False),
        (other.metadata.model_version, True),
    ]

    with pytest.raises(DuplicateModelError):
        await save_model(conn, small_model)
    with pytest.raises(UnknownModelError):
        await activate_model(conn, "no-such-version")
    await conn.rollback()  # what the caller's transaction does with the error
    assert await active_version(conn) == other.metadata.model_version


async def test_model_lock_makes_a_second_activation_wait(database_url: str, conn: AsyncConnection) -> None:
    await conn.commit()  # the fixture migrated; start from no open transaction
    engine = open_engine(database_url)
    try:
        async with engine.connect() as other:
            await lock_models(conn)
            waiting = asyncio.create_task(lock_models(other))
            await asyncio.sleep(0.5)
            assert not waiting.done()  # blocked behind the first transaction
            await conn.commit()
            await asyncio.wait_for(waiting, timeout=10)
            await other.rollback()
    finally:
        await engine.dispose()


async def test_service_scorer_prefers_the_database_then_the_file(
    conn: AsyncConnection, small_model: ModelArtifact, tmp_path: Path
) -> None:
    shipped = read_model(DEFAULT_MODEL_PATH).metadata.model_version
    assert shipped != small_model.metadata.model_version

    scorer = await load_active_scorer(conn, fallback_path=DEFAULT_MODEL_PATH)
    assert isinstance(scorer, XGBoostScorer) and scorer.metadata.model_version == shipped
    no_file = await load_active_scorer(conn, fallback_path=tmp_path / "missing.ubj")
    assert no_file.name == "rules"

    await save_model(conn, small_model)
    scorer = await load_active_scorer(conn, fallback_path=DEFAULT_MODEL_PATH)
    assert isinstance(scorer, XGBoostScorer) and scorer.metadata.model_version == shipped  # not active

    await activate_model(conn, small_model.metadata.model_version)
    scorer = await load_active_scorer(conn, fallback_path=DEFAULT_MODEL_PATH)
    assert isinstance(scorer, XGBoostScorer)
    assert scorer.metadata.model_version == small_model.metadata.model_version


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ({"artifact": b"\x00not a model"}, "checksum differs"),
        ({"details": {"format": "something-else"}}, "not a nocbot priority model"),
    ],
)
async def test_service_scorer_refuses_a_corrupt_active_model(
    conn: AsyncConnection, small_model: ModelArtifact, damage: dict[str, object], message: str
) -> None:
    await save_model(conn, small_model)
    await activate_model(conn, small_model.metadata.model_version)
    await conn.execute(update(model_versions).values(**damage))

    with pytest.raises(ModelLoadError, match=message) as error:
        await load_active_scorer(conn, fallback_path=DEFAULT_MODEL_PATH)
    assert small_model.metadata.model_version in str(error.value)


async def test_reads_only_resolved_incidents_with_a_human_or_imported_priority(
    conn: AsyncConnection,
) -> None:
    opened = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
    title = "High 5xx rate on search"
    ids = {}
    for name, origin, priority, source, status, days in [
        ("imported", "imported", 2, "imported", "resolved", -10),
        ("imported, no priority", "imported", None, None, "resolved", -9),
        ("imported, open", "imported", 2, "imported", "open", -8),
        ("responder", "nocbot", 1, "responder", "resolved", 0),
        ("pagerduty", "nocbot", 4, "pagerduty", "resolved", 1),
        ("model", "nocbot", 3, "xgboost", "resolved", 2),
        ("rules", "nocbot", 3, "rules", "resolved", 3),
        ("responder, open", "nocbot", 2, "responder", "acknowledged", 4),
    ]:
        external_id = name if origin == "imported" else None
        ids[name] = await _insert_incident(
            conn, external_id, title, origin, priority, source, status, opened + timedelta(days=days)
        )
    stored = await upsert_alerts(
        conn,
        [
            _alert("a", "search", "web-1", Severity.CRITICAL, opened),
            _alert("b", "search", "web-2", Severity.WARNING, opened + timedelta(minutes=3)),
            _alert("c", "search", "web-3", Severity.ERROR, opened + timedelta(days=1)),
        ],
        NOW,
    )
    owner = [ids["responder"], ids["responder"], ids["pagerduty"]]
    await conn.execute(
        incident_alerts.insert(),
        [
            {"alert_id": a, "incident_id": i, "joined_at": NOW, "explanation": "", "evidence": {}}
            for a, i in zip(stored.ids, owner, strict=True)
        ],
    )
    await insert_changes(
        conn,
        [
            _change("search", opened - timedelta(minutes=30), "deploy 2"),  # the one that counts
            _change("search", opened - timedelta(hours=3), "deploy 1"),  # too early
            _change("search", opened + timedelta(minutes=5), "deploy 3"),  # after it opened
            _change("ledger", opened - timedelta(minutes=10), "deploy x"),  # another service
        ],
        NOW,
    )

    found = await read_training_incidents(conn)
    assert len(found.history) == 8
    assert [i.id for i in found.history if i.priority is not None] == ["imported"]
    assert [(h.record.id, h.record.priority) for h in found.handled] == [
        (str(ids["responder"]), Priority.P1),
        (str(ids["pagerduty"]), Priority.P4),
    ]
    responder = found.handled[0]
    assert [alert.fingerprint for alert in responder.alerts] == ["a", "b"]
    assert [change.what for change in responder.changes] == ["deploy 2"]
    assert found.labelled_count == 3

    catalog = generate_history.catalog()
    rows = training_rows(found, catalog=catalog, team_timezone=ZoneInfo("Europe/Berlin"))
    assert [row.priority for row in rows] == [Priority.P2, Priority.P1, Priority.P4]
    features = dict(zip(FEATURE_NAMES, rows[1].features.tolist(), strict=True))
    assert features["alert_count"] == 2 and features["distinct_hosts"] == 2
    assert features["max_severity"] == Severity.CRITICAL
    assert features["minutes_since_change"] == 30 and features["change_within_hour"] == 1
    assert features["best_tier"] == 1 and features["customer_facing"] == 1
    # every earlier incident with the same title and service is a recurrence, labelled or not
    assert features["recurrence_30d"] == 3
    assert rows[2].features[FEATURE_NAMES.index("recurrence_30d")] == 4
    assert np.isnan(features["minutes_open"]) and np.isnan(features["peak_anomaly_score"])


async def _insert_incident(
    conn: AsyncConnection,
    external_id: str | None,
    title: str,
    origin: str,
    priority: int | None,
    source: str | None,
    status: str,
    opened_at: datetime,
) -> int:
    result = await conn.execute(
        incidents.insert().values(
            title=title,
            status=status,
            origin=origin,
            external_id=external_id,
            service="search",
            services=["search"],
            priority=priority,
            priority_source=source,
            reasons=[],
            enrichment={},
            alert_count=0,
            opened_at=opened_at,
            resolved_at=opened_at + timedelta(hours=1) if status == "resolved" else None,
            auto_resolved=False,
            updated_at=NOW,
            version=1,
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def _alert(fingerprint: str, service: str, host: str, severity: Severity, at: datetime) -> Alert:
    return Alert(
        fingerprint=fingerprint,
        name="HighErrorRate",
        status=AlertStatus.FIRING,
        severity=severity,
        labels={"service": service, "host": host},
        annotations={},
        starts_at=at,
    )


def _change(service: str, at: datetime, what: str) -> ChangeEvent:
    return ChangeEvent(service=service, kind="deploy", who="ci", what=what, at=at)


async def test_retraining_into_an_already_stored_version_reuses_it(
    database_url: str,
    conn: AsyncConnection,
    history: History,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The version is the training second plus the model's hash: two trainings of the same data in
    # the same second collide. Pin it to make that collision certain.
    import engine.scoring.training as training

    monkeypatch.setattr(training, "_model_version", lambda _created_at, _ubj: "20261126T000000Z-fixed")
    csv_path = write_history_csv(history.records[:600], tmp_path / "some.csv")
    assert await nocbot("import-incidents", str(csv_path), "--db", database_url) == 0
    assert await train_priority_command("--db", database_url) == 0
    assert await train_priority_command("--db", database_url, "--force") == 0
    captured = capsys.readouterr()
    assert "error" not in captured.err
    rows = await list_models(conn)
    assert [(m.version, m.active) for m in rows] == [("20261126T000000Z-fixed", True)]
