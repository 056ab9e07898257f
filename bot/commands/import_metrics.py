"""`nocbot import-metrics FILE`: load metric points from CSV or JSON lines, all or nothing."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.commands.common import add_db_option, guarded
from bot.commands.importing import import_file
from engine.models import MetricPoint, PointBatch
from engine.storage.store import Store
from integrations.import_files import read_metric_points


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "import-metrics",
        help="import metric points (CSV timestamp,metric,value,<labels…> or JSON lines)",
    )
    parser.add_argument("file", type=Path)
    add_db_option(parser)
    return "import-metrics"


def run(args: argparse.Namespace) -> int:
    return guarded(
        lambda: asyncio.run(
            import_file(args, read=read_metric_points, store_batch=_store, batch_size=5000, noun="points")
        )
    )


async def _store(store: Store, conn: AsyncConnection, batch: list[MetricPoint], now: datetime) -> int:
    return (await store.add_points(conn, PointBatch.from_points(batch), now)).stored
