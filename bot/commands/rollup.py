"""`nocbot rollup`: roll raw points up into 5 min / 1 h / 1 day buckets; `--prune` applies retention."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timedelta
from typing import Any

from bot.commands.common import CommandError, add_db_option, guarded, load_settings
from engine.clock import SystemClock
from engine.models import utc
from engine.rollup.levels import (
    LATE_AFTER,
    Level,
    Retention,
    RollupConfig,
    format_duration,
    parse_duration,
)
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.rollup_rows import prune, roll_up, rollup_lock


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "rollup",
        help="roll metric points up into 5m/1h/1d buckets (or, with --prune, apply retention)",
        description="Roll up every bucket completed since the last run (a 5-minute bucket is "
        "complete --lateness after it ends), and recompute those of points stored late or imported "
        "since (idempotent). With "
        "--prune, delete instead what each level's retention no longer keeps (never what is not "
        "rolled up yet).",
    )
    add_db_option(parser)
    parser.add_argument("--prune", action="store_true", help="apply retention instead of rolling up")
    parser.add_argument("--since", metavar="ISO-8601", help="recompute from this time (after an import)")
    parser.add_argument("--now", metavar="ISO-8601", help="act as of this time (default: now)")
    defaults = RollupConfig()
    for level, flag in (
        (Level.RAW, "--keep-raw"),
        (Level.M5, "--keep-5m"),
        (Level.H1, "--keep-1h"),
        (Level.D1, "--keep-1d"),
    ):
        default = format_duration(defaults.retention.of(level))
        parser.add_argument(
            flag,
            default=default,
            metavar="DURATION",
            help=f"how long {level.label} data is kept (default {default})",
        )
    parser.add_argument(
        "--lateness",
        default=format_duration(defaults.lateness),
        metavar="DURATION",
        help="how long after a 5-minute bucket ends it is rolled up (points recorded as late "
        f"re-roll their buckets whatever their age); more than {format_duration(LATE_AFTER)}",
    )
    return "rollup"


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: asyncio.run(_rollup(args)))


async def _rollup(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    config = RollupConfig(
        Retention(
            raw=_duration(args.keep_raw, "--keep-raw"),
            m5=_duration(args.keep_5m, "--keep-5m"),
            h1=_duration(args.keep_1h, "--keep-1h"),
            d1=_duration(args.keep_1d, "--keep-1d"),
        ),
        lateness=_duration(args.lateness, "--lateness"),
    )
    if config.lateness <= LATE_AFTER:
        # the ingest path records points as late only past LATE_AFTER: a shorter margin would miss some
        raise CommandError(f"--lateness: must be more than {format_duration(LATE_AFTER)}")
    now = _time(args.now, "--now") if args.now else SystemClock().now()
    since = _time(args.since, "--since") if args.since else None
    engine = open_engine(settings.database_url, pool_size=1)
    try:
        await migrate.upgrade(engine)
        async with rollup_lock(engine) as conn:
            if conn is None:
                raise CommandError("another nocbot is rolling up right now; try again in a minute")
            if args.prune:
                pruned = await prune(conn, now, config)
                for level, deleted in pruned.rows_deleted.items():
                    print(f"{level}: deleted {deleted} rows")
                return 0
            report = await roll_up(conn, now, config, since=since)
    finally:
        await engine.dispose()
    if not report.rows_written:
        print("no metric points stored yet: nothing to roll up")
    for level, written in report.rows_written.items():
        until = f"complete until {report.complete_until[level]:%Y-%m-%d %H:%M} UTC"
        if level in report.recomputed_from:
            since_text = f"{report.recomputed_from[level]:%Y-%m-%d %H:%M}"
            print(f"{level}: {written} buckets written (recomputed from {since_text} UTC; {until})")
        else:
            print(f"{level}: no bucket completed since the last run ({until})")
    return 0


def _duration(raw: str, flag: str) -> timedelta:
    try:
        return parse_duration(raw)
    except ValueError as exc:
        raise CommandError(f"{flag}: {exc}") from None


def _time(raw: str, flag: str) -> datetime:
    try:
        return utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        raise CommandError(f"{flag}: not an ISO 8601 time: {raw!r}") from None
