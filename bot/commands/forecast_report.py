"""`nocbot forecast-report`: how the incident forecaster's alarms turned out.

    nocbot forecast-report [--db URL] [--days N]

Settles alarms whose 30-minute horizon has passed (the serving replicas do this too), then counts,
over the last N days (default 30): alarms, alarms followed by a major incident on their service
(precision), major incidents that an alarm announced (recall) and the median lead time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import timedelta
from typing import Any

from rich.console import Console

from bot.commands.common import CommandError, add_db_option, guarded, load_settings
from bot.settings import Settings
from engine.clock import SystemClock
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.forecast_rows import ForecastReport, forecast_report, settle_alarms

COMMAND = "forecast-report"


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        COMMAND,
        help="precision, recall and lead time of the incident forecaster's alarms",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_db_option(parser)
    parser.add_argument("--days", type=int, default=30, metavar="N", help="period to report (default 30)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    return COMMAND


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: report(args, Console()))


def report(args: argparse.Namespace, console: Console) -> int:
    if args.days < 1:
        raise CommandError("--days must be at least 1")
    result = asyncio.run(_report(load_settings(args), args.days))
    figures = result.to_json()
    if args.json:
        console.print_json(json.dumps(figures))
        return 0
    precision = "-" if result.precision is None else f"{result.precision:.1%}"
    recall = "-" if result.recall is None else f"{result.recall:.1%}"
    lead = figures["median_lead_minutes"]
    console.print(
        f"{result.alarms} alarms in the last {args.days} days ({result.settled} settled): "
        f"{result.true_alarms} followed by a major incident (precision {precision}); "
        f"{result.warned_incidents} of {result.major_incidents} major incidents warned of (recall {recall})"
        + ("" if lead is None else f"; median lead {lead:.1f} min"),
        highlight=False,
    )
    return 0


async def _report(settings: Settings, days: int) -> ForecastReport:
    now = SystemClock().now()
    engine = open_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        async with engine.begin() as conn:
            await settle_alarms(conn, now)
            return await forecast_report(conn, now - timedelta(days=days), now)
    finally:
        await engine.dispose()
