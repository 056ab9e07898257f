"""`nocbot train-forecast`: learn when a service is about to have a major incident (P1/P2) within
the next 30 minutes, from the stored alerts, anomalies, breach predictions, changes and incidents.

    nocbot train-forecast [--db URL] [--days N] [--until ISO-8601]

Samples every 5 minutes per service over the last N days (default 90). The most recent quarter is
held out: precision and recall per forecast, and per event (major incidents warned of, alarms that
came true, lead time), are measured on it and stored with the model, which becomes the active one.
The serving replicas pick it up within minutes; `nocbot forecast-report` shows how its alarms did.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.commands.common import CommandError, add_db_option, guarded, load_settings
from bot.settings import Settings
from engine.clock import SystemClock
from engine.forecasting import EventHistory, ForecastMetrics, train_forecaster
from engine.forecasting.training import ForecastTraining, ForecastTrainingError
from engine.models import utc
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.forecast_rows import FORECAST_MODEL, Reach, read_event_history, save_forecaster
from engine.storage.model_rows import activate_model, lock_models

COMMAND = "train-forecast"


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        COMMAND,
        help="train the 30-minute major-incident forecaster from stored history and activate it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_option(parser)
    parser.add_argument(
        "--days", type=int, default=90, metavar="N", help="history to learn from (default 90)"
    )
    parser.add_argument("--until", metavar="ISO-8601", help="end of the history (default: now)")
    return COMMAND


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: train(args, Console()))


def train(args: argparse.Namespace, console: Console) -> int:
    settings = load_settings(args)
    if args.days < 1:
        raise CommandError("--days must be at least 1")
    until = _parse_until(args.until)
    history = asyncio.run(_read(settings, until - timedelta(days=args.days), until))
    alerts = sum(len(events.alert_starts) for events in history.services.values())
    majors = sum(len(events.major_onsets) for events in history.services.values())
    console.print(
        f"learning from {len(history.services)} services, {alerts} alerts and {majors} major incidents "
        f"of the last {args.days} days",
        highlight=False,
    )
    try:
        result = train_forecaster(history)
    except ForecastTrainingError as exc:
        raise CommandError(f"cannot train: {exc}") from None
    print_metrics(console, result.metrics)
    asyncio.run(_store(settings, result))
    console.print(f"stored and activated {FORECAST_MODEL} model {result.model.version}", highlight=False)
    return 0


def _parse_until(text: str | None) -> datetime:
    if text is None:
        return SystemClock().now()
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        raise CommandError(f"--until {text!r} is not an ISO 8601 time") from None


async def _read(settings: Settings, since: datetime, until: datetime) -> EventHistory:
    engine = open_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            return await read_event_history(conn, Reach.for_training(since), until)
    finally:
        await engine.dispose()


async def _store(settings: Settings, result: ForecastTraining) -> None:
    engine = open_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            await lock_models(conn)
            await save_forecaster(conn, result.model, SystemClock().now())
            await activate_model(conn, result.model.version, kind=FORECAST_MODEL)
    finally:
        await engine.dispose()


def print_metrics(console: Console, metrics: ForecastMetrics) -> None:
    table = Table(
        title=f"held out: {metrics.holdout_from:%Y-%m-%d %H:%M} to {metrics.holdout_to:%Y-%m-%d %H:%M}"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    lead = "-" if metrics.median_lead_minutes is None else f"{metrics.median_lead_minutes:.1f} min"
    for name, value in (
        ("forecasts (every 5 min per service)", f"{metrics.rows}"),
        ("forecasts followed by a major incident", f"{metrics.positives} ({metrics.base_rate:.2%})"),
        ("alarm threshold (best F1 on validation)", f"{metrics.threshold:.3f}"),
        ("precision per forecast", f"{metrics.precision:.3f}"),
        ("recall per forecast", f"{metrics.recall:.3f}"),
        ("average precision", f"{metrics.average_precision:.3f}"),
        ("ROC AUC", f"{metrics.roc_auc:.3f}"),
        ("major incidents", f"{metrics.major_incidents}"),
        ("warned of within 30 min (recall)", f"{metrics.warned_incidents} ({metrics.incident_recall:.1%})"),
        ("alarms", f"{metrics.alarms}"),
        ("alarms that came true (precision)", f"{metrics.true_alarms} ({metrics.alarm_precision:.1%})"),
        ("median lead time", lead),
    ):
        table.add_row(name, value)
    console.print(table)
