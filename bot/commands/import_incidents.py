"""`nocbot import-incidents FILE`: load past incidents (the history scoring and enrichment learn from)."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.commands.common import add_db_option, guarded
from bot.commands.importing import import_file
from engine.models import PastIncident
from engine.storage.store import Store
from integrations.import_files import INCIDENT_COLUMNS, read_past_incidents


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "import-incidents",
        help=f"import past incidents (CSV {','.join(INCIDENT_COLUMNS)} or JSON lines)",
    )
    parser.add_argument("file", type=Path)
    add_db_option(parser)
    return "import-incidents"


def run(args: argparse.Namespace) -> int:
    return guarded(
        lambda: asyncio.run(
            import_file(args, read=read_past_incidents, store_batch=_store, batch_size=2000, noun="incidents")
        )
    )


async def _store(store: Store, conn: AsyncConnection, batch: list[PastIncident], now: datetime) -> int:
    return await store.import_history(conn, batch, now)
