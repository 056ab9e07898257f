"""`nocbot demo`: serve on a fresh embedded SQLite database, replay the demo scenario into it over
HTTP, and show live what nocbot makes of it (alerts in, incidents out, noise reduction).

The scenario (`examples/scenario/`) is four hours of a small web shop; by default it replays in
about 105 seconds. `--no-replay` only serves (loopback only, no token), for trying the API by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

from rich.console import Console

from bot.commands.common import add_db_option, guarded, load_settings
from bot.demo.runner import DemoOptions, run_demo
from bot.demo.scenario import DEFAULT_DIRECTORY, load_scenario
from bot.settings import Settings

DEMO_DIRECTORY = Path(".demo")
REPLAY_SECONDS = 105.0  # default pace: the whole scenario in this long


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "demo",
        help="replay a demo scenario into a fresh local nocbot and show the incidents (loopback, no token)",
    )
    add_db_option(parser)
    parser.add_argument("--port", type=int, help="listen port (default: NOCBOT_PORT or 8080)")
    parser.add_argument(
        "--speed",
        type=_speed,
        help=f"time compression (default: the whole scenario in ~{REPLAY_SECONDS:.0f} s; 0 = at once)",
    )
    parser.add_argument("--no-replay", action="store_true", help="only serve; send alerts yourself")
    parser.add_argument(
        "--scenario", type=Path, default=DEFAULT_DIRECTORY, help="scenario directory (with scenario.json)"
    )
    return "demo"


def _speed(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _demo(args))


def _demo(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    settings = demo_settings(load_settings(args), explicit_db=bool(args.db), port=args.port)
    settings = settings.replace(catalog_path=scenario.catalog_path, metric_limits=scenario.metric_limits)
    speed = args.speed if args.speed is not None else scenario.minutes * 60.0 / REPLAY_SECONDS
    options = DemoOptions(speed=speed, replay=not args.no_replay)
    asyncio.run(run_demo(settings, scenario, options, Console()))
    return 0


def demo_settings(settings: Settings, *, explicit_db: bool, port: int | None) -> Settings:
    """Loopback only (no token needed there), quiet logs, and a fresh database unless --db says
    otherwise, so that every run tells the same story."""
    changes: dict[str, Any] = {
        "host": "127.0.0.1",
        "auth_disabled": not os.environ.get("NOCBOT_INGEST_TOKEN"),
    }
    if port is not None:
        changes["port"] = port
    if "NOCBOT_LOG_LEVEL" not in os.environ:
        changes["log_level"] = "WARNING"  # request logs would scroll the live summary away
    if not explicit_db:
        changes["database_url"] = f"sqlite+aiosqlite:///{_fresh_database()}"
    return settings.replace(**changes)


def _fresh_database() -> Path:
    shutil.rmtree(DEMO_DIRECTORY, ignore_errors=True)
    DEMO_DIRECTORY.mkdir(parents=True, exist_ok=True)
    return (DEMO_DIRECTORY / "nocbot.db").resolve()
