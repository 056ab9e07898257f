"""`nocbot replay FILE --url URL [--speed X]`: send a recorded stream to a running nocbot.

Events go out in file order at their relative times divided by `--speed` (0 = as fast as possible).
A 503 or a refused connection is retried with backoff, as any well-behaved client does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console

from bot.commands.common import CommandError, guarded, progress_lines
from integrations.recordings import RecordingError, ReplayEvent, read_recording, starting_at

RETRIES = 8


@dataclass
class ReplayReport:
    events: int = 0
    items: int = 0
    rejected: list[str] = field(default_factory=list)
    retries: int = 0


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "replay", help="send a recorded stream of alerts/metrics/changes to a server"
    )
    parser.add_argument("file", type=Path)
    parser.add_argument(
        "--url", required=True, help="base URL of the running nocbot, e.g. http://127.0.0.1:8080"
    )
    parser.add_argument("--speed", type=_speed, default=1.0, help="time compression factor; 0 sends at once")
    parser.add_argument("--token", help="bearer token (default: NOCBOT_INGEST_TOKEN)")
    parser.add_argument(
        "--keep-timestamps",
        action="store_true",
        help="send the recorded timestamps as they are (default: move them so the replay starts now)",
    )
    return "replay"


def _speed(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: asyncio.run(_replay(args)))


async def _replay(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("NOCBOT_INGEST_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    report = ReplayReport()
    try:
        with progress_lines(args.file, f"replaying {args.file.name}") as lines:
            events = read_recording(lines)
            async with aiohttp.ClientSession(base_url=args.url.rstrip("/") + "/", headers=headers) as session:
                await send_all(session, _timed(events, args), args.speed, report)
    except aiohttp.ClientConnectionError as exc:
        raise CommandError(f"cannot reach {args.url}: {exc}") from None
    except RecordingError as exc:
        raise CommandError(f"{args.file}:{exc.line}: {exc.reason}") from None
    Console(stderr=True).print(
        f"replayed {report.events} requests ({report.items} items), {len(report.rejected)} rejected, "
        f"{report.retries} retries"
    )
    for problem in report.rejected[:20]:
        Console(stderr=True).print(f"  {problem}", highlight=False)
    return 1 if report.rejected else 0


def _timed(events: Iterator[ReplayEvent], args: argparse.Namespace) -> Iterator[ReplayEvent]:
    return events if args.keep_timestamps else starting_at(events, datetime.now(UTC))


async def send_all(
    session: aiohttp.ClientSession,
    events: Iterator[ReplayEvent],
    speed: float,
    report: ReplayReport,
    *,
    on_sent: Callable[[ReplayEvent], None] | None = None,
) -> None:
    """Send `events` in order, each at its time relative to the first divided by `speed` (0: at
    once); `on_sent` hears of each one the server accepted. `nocbot demo` replays through this too."""
    first_at: datetime | None = None
    started = time.monotonic()
    for event in events:
        if first_at is None:
            first_at = event.at
        if speed > 0:
            due = started + (event.at - first_at).total_seconds() / speed
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if await _send(session, event, report) and on_sent is not None:
            on_sent(event)


async def _send(session: aiohttp.ClientSession, event: ReplayEvent, report: ReplayReport) -> bool:
    """POST one event, retrying while the server is unavailable; True when it was accepted."""
    backoff = 0.2
    for attempt in range(RETRIES + 1):
        try:
            async with session.post(event.path.lstrip("/"), json=event.body) as response:
                if response.status == 503 and attempt < RETRIES:
                    report.retries += 1
                    await asyncio.sleep(_retry_after(response, backoff))
                    backoff = min(backoff * 2, 10)
                    continue
                if response.status >= 400:
                    text = (await response.text())[:300]
                    report.rejected.append(f"line {event.line}: HTTP {response.status} {text}")
                    return False
                report.events += 1
                report.items += event.items()
                return True
        except aiohttp.ClientConnectionError:
            if attempt == RETRIES:
                raise
            report.retries += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10)
    return False


def _retry_after(response: aiohttp.ClientResponse, default: float) -> float:
    try:
        return min(float(response.headers.get("Retry-After", default)), 30.0)
    except ValueError:
        return default
