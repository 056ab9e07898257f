"""`nocbot ask "question"`: answer a question about metrics or incident history from the database."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.commands.common import CommandError, add_db_option, guarded, load_settings
from engine.clock import SystemClock
from engine.models import utc
from engine.storage import migrate
from engine.storage.database import open_engine
from nlq.answer import Answer, answer
from nlq.errors import CannotAnswer
from nlq.vocabulary import CatalogError, load_metric_catalog

CANNOT_ANSWER = 2


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "ask",
        help='answer a question about metrics or incidents (e.g. "p95 latency by service last week")',
        description="Answer a question in plain words from the metric rollups and the incident history.",
    )
    parser.add_argument("question", help="the question, in quotes")
    add_db_option(parser)
    parser.add_argument("--now", metavar="ISO-8601", help="answer as of this time (default: now)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with the SQL and rows")
    parser.add_argument(
        "--metric-catalog",
        type=Path,
        metavar="FILE",
        help="metric catalog YAML with synonyms for metric names",
    )
    return "ask"


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: asyncio.run(_ask(args)))


async def _ask(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    now = _parse_now(args.now) if args.now else SystemClock().now()
    try:
        synonyms = load_metric_catalog(args.metric_catalog) if args.metric_catalog else None
    except CatalogError as exc:
        raise CommandError(str(exc)) from None
    engine = open_engine(settings.database_url, pool_size=1)
    try:
        await migrate.upgrade(engine)
        result = await answer(args.question, engine, now, settings.timezone, synonyms=synonyms)
    except CannotAnswer as refusal:
        _refuse(refusal, as_json=args.json)
        return CANNOT_ANSWER
    finally:
        await engine.dispose()
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _show(result)
    return 0


def _parse_now(raw: str) -> datetime:
    try:
        return utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        raise CommandError(f"--now: not an ISO 8601 time: {raw!r}") from None


def _refuse(refusal: CannotAnswer, *, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {"error": refusal.message, "suggestions": list(refusal.suggestions)}, ensure_ascii=False
            )
        )
        return
    console = Console(stderr=True, highlight=False)
    console.print(refusal.message, markup=False)
    if refusal.suggestions:
        console.print("Try:", markup=False)
        for suggestion in refusal.suggestions:
            console.print(f"  {suggestion}", markup=False)


def _show(result: Answer) -> None:
    console = Console(highlight=False, file=sys.stdout)
    console.print(result.text, markup=False)
    if len(result.rows) > 1:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*(_cell(value) for value in row))
        console.print(table)
    console.print(f"[dim]resolution {result.resolution}[/]")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)
