"""`nocbot migrate`: bring the database schema up to date."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.commands.common import add_db_option, guarded, load_settings
from engine.storage import migrate
from engine.storage.database import open_engine


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser("migrate", help="apply database migrations")
    add_db_option(parser)
    return "migrate"


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: asyncio.run(_migrate(args)))


async def _migrate(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    engine = open_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        current, _head = await migrate.current_and_head(engine)
    finally:
        await engine.dispose()
    print(f"database at revision {current}")
    return 0
