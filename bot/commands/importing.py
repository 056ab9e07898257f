"""The shape every importer shares: stream a file in batches through one transaction."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.commands.common import CommandError, load_settings, progress_lines
from engine.clock import SystemClock
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.store import Store
from integrations.import_files import ImportFileError

T = TypeVar("T")
StoreBatch = Callable[[Store, AsyncConnection, list[T], datetime], Awaitable[int]]


async def import_file(
    args: argparse.Namespace,
    *,
    read: Callable[[Iterator[str]], Iterator[T]],
    store_batch: StoreBatch[T],
    batch_size: int,
    noun: str,
) -> int:
    """Import `args.file`; any bad line rolls back everything, so a file lands whole or not at all."""
    settings = load_settings(args)
    engine = open_engine(settings.database_url)
    store = Store(engine)
    total = stored = 0
    try:
        await migrate.upgrade(engine)
        now = SystemClock().now()
        with progress_lines(args.file, f"importing {args.file.name}") as lines:
            records = read(lines)
            async with store.transaction() as conn:
                while batch := list(islice(records, batch_size)):
                    stored += await store_batch(store, conn, batch, now)
                    total += len(batch)
    except ImportFileError as exc:
        raise CommandError(f"{args.file}:{exc.line}: {exc.reason} (nothing was imported)") from None
    finally:
        await engine.dispose()
    print(f"imported {stored} {noun} ({total - stored} already stored) from {args.file}")
    return 0
