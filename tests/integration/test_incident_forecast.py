"""The 30-minute incident forecaster on a real database: trained by `nocbot train-forecast` from stored
alerts, changes and incidents; in the service it records alarms and settles them with what happened."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.forecast_history import generate
from bot.cli import main
from engine.clock import FixedClock
from engine.forecast_watch import RECENT, IncidentForecaster
from engine.forecasting import EventHistory, feature_matrix, train_forecaster
from engine.models import AlertSource, Severity
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.forecast_rows import (
    FORECAST_MODEL,
    Reach,
    forecast_report,
    load_forecaster,
    read_event_history,
    save_forecaster,
)
from engine.storage.model_rows import activate_model, list_models
from engine.storage.schema import (
    alerts,
    change_events,
    incident_alerts,
    incident_forecasts,
    incidents,
    model_versions,
)

_ids = itertools.count(1)
_SOURCES = {0: AlertSource.ALERTMANAGER, 1: AlertSource.ANOMALY, 2: AlertSource.PREDICTION}


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = open_engine(database_url)
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


async def add_alert(
    engine: AsyncEngine, service: str, when: datetime, severity: int, source: str = AlertSource.ALERTMANAGER
) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(alerts.insert().values(**_alert_row(service, when, severity, source)))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def _alert_row(service: str, when: datetime, severity: int, source: str) -> dict[str, object]:
    return {
        "fingerprint": f"fp{next(_ids)}",
        "starts_at": when,
        "ends_at": when + timedelta(minutes=5),
        "status": "resolved",
        "name": "Synthetic",
        "severity": severity,
        "source": source,
        "service": service,
        "labels": {"service": service},
        "annotations": {},
        "received_at": when,
        "updated_at": when,
    }


async def add_incident(
    engine: AsyncEngine, service: str, opened: datetime, resolved: datetime | None, priority: int
) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(
            incidents.insert().values(
                title=f"{service} down",
                status="open" if resolved is None else "resolved",
                origin="nocbot",
                service=service,
                services=[service],
                priority=priority,
                reasons=[],
                enrichment={},
                alert_count=0,
                opened_at=opened,
                resolved_at=resolved,
                auto_resolved=False,
                updated_at=opened,
                version=1,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


async def store_history(engine: AsyncEngine, history: EventHistory) -> None:
    alert_rows = []
    change_rows = []
    for service, events in history.services.items():
        for start, severity, source in zip(
            events.alert_starts, events.alert_severity, events.alert_source, strict=True
        ):
            alert_rows.append(_alert_row(service, at(float(start)), int(severity), _SOURCES[int(source)]))
        for when in events.changes:
            change_rows.append(
                {
                    "service": service,
                    "kind": "deploy",
                    "who": "ci",
                    "what": "release",
                    "at": at(float(when)),
                    "labels": {},
                    "received_at": at(float(when)),
                }
            )
    async with engine.begin() as conn:
        await conn.execute(alerts.insert(), alert_rows)
        await conn.execute(change_events.insert(), change_rows)
    for service, events in history.services.items():
        for onset, ended in zip(events.major_onsets, events.major_ended, strict=True):
            await add_incident(engine, service, at(float(onset)), at(float(ended)), priority=1)


async def nocbot(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_trained_from_the_database_then_alarms_are_recorded_and_settled(
    engine: AsyncEngine, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    generated = generate(services=12, days=45, seed=3)
    await store_history(engine, generated.history)
    until = at(generated.history.end)
    code = await nocbot("train-forecast", "--db", database_url, "--days", "45", "--until", until.isoformat())
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "warned of within 30 min" in printed.out and "stored and activated" in printed.out
    async with engine.connect() as conn:
        (stored,) = await list_models(conn, kind=FORECAST_MODEL)
        model = await load_forecaster(conn)
    assert stored.active and model is not None and model.version == stored.version
    assert stored.metrics["roc_auc"] > 0.6 and stored.metrics["major_incidents"] >= 5

    # serving: a model that alarms on everything shows the bookkeeping regardless of the odds
    always = dataclasses.replace(model, version=model.version + "-always", threshold=0.0)
    async with engine.begin() as conn:
        await save_forecaster(conn, always, until)
        await activate_model(conn, always.version, kind=FORECAST_MODEL)
    now = until + timedelta(hours=2)
    for service in ("svc-00", "svc-01", "svc-02"):
        await add_alert(engine, service, now - timedelta(minutes=5), Severity.WARNING)
    await add_incident(engine, "svc-01", now - timedelta(minutes=3), None, priority=2)  # paged already
    clock = FixedClock(now)
    forecaster = IncidentForecaster(engine, clock)
    first = await forecaster.run_once()
    assert first.model_version == always.version
    alarmed = {alarm.service for alarm in first.alarms}
    assert {"svc-00", "svc-02"} <= alarmed and "svc-01" not in alarmed
    assert not (await forecaster.run_once()).alarms  # one alarm per service and horizon

    major = await add_incident(engine, "svc-00", now + timedelta(minutes=10), None, priority=1)
    # the incident opened on a warning and became serious 12 minutes later: that is its onset
    async with engine.begin() as conn:
        late = await conn.execute(
            alerts.insert().values(
                **_alert_row("svc-00", now + timedelta(minutes=12), Severity.CRITICAL, "api")
            )
        )
        await conn.execute(
            incident_alerts.insert().values(
                alert_id=late.inserted_primary_key[0],  # type: ignore[index]
                incident_id=major,
                joined_at=now,
                explanation="",
                evidence={},
            )
        )
    clock.set(now + timedelta(minutes=31))
    assert (await forecaster.run_once()).settled == 0, "settled only after a grace for late alerts"
    clock.set(now + timedelta(minutes=46))
    settled = await forecaster.run_once()
    assert settled.settled == len(alarmed)
    async with engine.connect() as conn:
        made_first = select(incident_forecasts).where(incident_forecasts.c.made_at == now)
        rows = {row.service: row for row in await conn.execute(made_first)}
        report = await forecast_report(conn, now, now + timedelta(minutes=31))
    assert rows["svc-00"].outcome == "incident" and rows["svc-00"].incident_id == major
    assert rows["svc-00"].onset_at == now + timedelta(minutes=12)
    assert rows["svc-02"].outcome == "none" and rows["svc-02"].incident_id is None
    assert report.alarms == len(alarmed) and report.true_alarms == 1
    assert report.major_incidents == 1 and report.warned_incidents == 1
    assert report.lead_minutes == [pytest.approx(12.0)]

    code = await nocbot("forecast-report", "--db", database_url, "--days", "3650")
    assert code == 0


async def test_without_a_trained_model_nothing_is_forecast(engine: AsyncEngine) -> None:
    now = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
    await add_alert(engine, "api", now - timedelta(minutes=1), Severity.CRITICAL)
    result = await IncidentForecaster(engine, FixedClock(now)).run_once()
    assert result.model_version is None and result.alarms == ()


async def test_serving_reads_an_hour_of_alerts_and_only_the_latest_older_one(engine: AsyncEngine) -> None:
    now = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
    for minutes in (5, 30, 90, 300):
        await add_alert(engine, "api", now - timedelta(minutes=minutes), Severity.WARNING)
    async with engine.connect() as conn:
        history = await read_event_history(conn, Reach.for_serving(now, timedelta(hours=1)), now)
    starts = history.services["api"].alert_starts
    expected = [now - timedelta(minutes=m) for m in (90, 30, 5)]
    np.testing.assert_allclose(starts, [moment.timestamp() for moment in expected])


async def test_serving_computes_the_features_training_computed_for_the_same_moment(
    engine: AsyncEngine,
) -> None:
    """No train/serve skew: the features a replica computes now from its partial read equal those
    training computed for that moment from the whole history, also at the start of the training
    period (which must look back a month for major incidents, a day for alerts)."""
    generated = generate(services=6, days=50, seed=11)
    await store_history(engine, generated.history)
    start = at(generated.history.start + 35 * 86_400)
    until = at(generated.history.end)
    async with engine.connect() as conn:
        trained = await read_event_history(conn, Reach.for_training(start), until)
        moments = [start + timedelta(minutes=5 * k) for k in range(0, 14 * 288, 97)]
        for moment in moments:
            served = await read_event_history(conn, Reach.for_serving(moment, RECENT), moment)
            for service in sorted(generated.history.services):
                when = np.array([moment.timestamp()])
                np.testing.assert_array_equal(
                    feature_matrix(served, service, when),
                    feature_matrix(trained, service, when),
                    err_msg=f"{service} at {moment}",
                )


async def test_an_unusable_model_is_reported_and_alarms_are_still_settled(engine: AsyncEngine) -> None:
    now = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
    generated = generate(services=10, days=40, seed=5)
    good = train_forecaster(generated.history).model
    broken = dataclasses.replace(good, version="broken", ubj=b"not a model")
    async with engine.begin() as conn:
        await save_forecaster(conn, good, now)
        await activate_model(conn, good.version, kind=FORECAST_MODEL)
    forecaster = IncidentForecaster(engine, FixedClock(now))
    assert (await forecaster.run_once()).model_version == good.version
    async with engine.begin() as conn:
        await conn.execute(
            incident_forecasts.insert().values(
                service="api",
                made_at=now - timedelta(hours=2),
                horizon_until=now - timedelta(hours=1),
                probability=0.9,
                threshold=0.5,
                model_version=good.version,
            )
        )
        # stored with details that do not match its bytes, as a corrupted row would be
        await conn.execute(
            model_versions.insert().values(
                kind=FORECAST_MODEL,
                version=broken.version,
                active=False,
                metrics={},
                details=good.details(),
                artifact=broken.ubj,
                created_at=now,
            )
        )
        await activate_model(conn, broken.version, kind=FORECAST_MODEL)
    result = await forecaster.run_once()
    assert result.model_version is None, "the previous model must not go on under the new version"
    assert result.settled == 1
