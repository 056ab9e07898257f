"""`nocbot demo` end to end: a fresh database with the scenario's history, the real service, the
scenario replayed through its HTTP API, and a live summary read back from that API.

Everything goes over HTTP on purpose: the demo exercises exactly what a real deployment does
(Alertmanager webhooks, metric batches, change events in; incidents out). Ctrl-C or SIGTERM stops
the replay, then the server shuts down gracefully (its cleanup saves detector state as usual).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from rich.console import Console
from rich.live import Live

from bot.app import create_app
from bot.commands.common import CommandError
from bot.commands.replay import ReplayReport, send_all
from bot.demo.scenario import DemoScenario
from bot.demo.summary import DemoStatus, IncidentBoard, ReplayTally, reduction_text, render
from bot.logs import configure_logging
from bot.settings import Settings
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.store import Store
from integrations.recordings import starting_at

POLL_SECONDS = 0.5
MAX_PAGES = 20  # 20 x 1000 incidents: more than any demo opens


@dataclass(frozen=True)
class DemoOptions:
    speed: float
    replay: bool
    import_history: bool = True


@dataclass
class DemoResult:
    alerts: int = 0
    incidents: int = 0
    first_incident_seconds: float | None = None
    replay_seconds: float | None = None
    rejected: int = 0


async def import_history(settings: Settings, scenario: DemoScenario, replay_start: datetime) -> int:
    """Load the scenario's resolved incidents (what scoring and enrichment compare with)."""
    engine = open_engine(settings.database_url)
    try:
        await migrate.upgrade(engine)
        store = Store(engine)
        async with store.transaction() as conn:
            history = scenario.history(replay_start)
            return await store.import_history(conn, history, datetime.now(UTC))
    finally:
        await engine.dispose()


async def run_demo(
    settings: Settings, scenario: DemoScenario, options: DemoOptions, console: Console
) -> DemoResult:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await _run(settings, scenario, options, console, stop)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _run(
    settings: Settings, scenario: DemoScenario, options: DemoOptions, console: Console, stop: asyncio.Event
) -> DemoResult:
    configure_logging(settings.log_level)
    replay_start = scenario.replay_start(datetime.now(UTC))
    if options.import_history:
        imported = await import_history(settings, scenario, replay_start)
        console.print(f"imported {imported} past incidents from {scenario.history_path.name}")
    result = DemoResult()
    async with _serving(settings) as base:
        console.print(_banner(settings, base), highlight=False)
        if not options.replay:
            console.print("Replay off. Press Ctrl-C to stop.")
            await stop.wait()
            return result
        await _replay_live(settings, scenario, options, console, stop, base, replay_start, result)
        if not stop.is_set():
            console.print(
                f"[bold]replay finished in {result.replay_seconds:.0f} s:[/] "
                f"{reduction_text(result.alerts, result.incidents)}"
                + (
                    f"; first incident {result.first_incident_seconds:.1f} s after the start"
                    if result.first_incident_seconds is not None
                    else ""
                ),
                highlight=False,
            )
            console.print(f"Still serving: open {base}/console. Press Ctrl-C to stop.")
            await stop.wait()
    console.print("nocbot demo stopped.")
    return result


@contextlib.asynccontextmanager
async def _serving(settings: Settings) -> AsyncIterator[str]:
    runner = web.AppRunner(
        create_app(settings), access_log=None, shutdown_timeout=float(settings.shutdown_timeout)
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        try:
            await site.start()
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror} (try --port)"
            ) from None
        logging.getLogger("nocbot").info("listening", extra={"url": settings.base_url})
        yield settings.base_url
    finally:
        await runner.cleanup()


async def _replay_live(
    settings: Settings,
    scenario: DemoScenario,
    options: DemoOptions,
    console: Console,
    stop: asyncio.Event,
    base: str,
    started_at: datetime,
    result: DemoResult,
) -> None:
    tally = ReplayTally()
    report = ReplayReport()
    events = scenario.events()
    began = time.monotonic()
    board = IncidentBoard()
    first_incident: float | None = None
    headers = {"Authorization": f"Bearer {settings.ingest_token}"} if settings.ingest_token else {}

    def status(finished: bool) -> DemoStatus:
        return DemoStatus(
            scenario=scenario.name,
            console_url=f"{base}/console",
            speed=options.speed,
            minutes=scenario.minutes,
            started_at=started_at,
            finished=finished,
            first_incident_seconds=first_incident,
        )

    async with aiohttp.ClientSession(base_url=base + "/", headers=headers) as session:
        sender = asyncio.create_task(
            send_all(session, starting_at(events, started_at), options.speed, report, on_sent=tally.observe),
            name="demo-replay",
        )
        stopping = asyncio.create_task(stop.wait(), name="demo-stop")
        with Live(render(status(False), tally, board), console=console, refresh_per_second=4) as live:
            try:
                while not sender.done() and not stop.is_set():
                    await asyncio.wait({sender, stopping}, timeout=POLL_SECONDS)
                    board = await _incidents(session)
                    if first_incident is None and board.count:
                        first_incident = time.monotonic() - began
                    live.update(render(status(False), tally, board))
            finally:
                stopping.cancel()
                if not sender.done():
                    sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
            if stop.is_set():
                return
            failure = sender.exception()
            if failure is not None:
                raise CommandError(f"the replay failed: {failure}")
            # the last batch has been answered, so the incidents are final
            board = await _incidents(session)
            result.replay_seconds = time.monotonic() - began
            if first_incident is None and board.count:
                first_incident = result.replay_seconds
            live.update(render(status(True), tally, board), refresh=True)
    result.alerts = tally.alerts
    result.incidents = board.count
    result.first_incident_seconds = first_incident
    result.rejected = len(report.rejected)
    for problem in report.rejected[:10]:
        console.print(f"  rejected: {problem}", highlight=False, markup=False)


async def _incidents(session: aiohttp.ClientSession) -> IncidentBoard:
    items: list[dict[str, Any]] = []
    cursor: int | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, str] = {"origin": "nocbot", "limit": "1000"}
        if cursor is not None:
            params["cursor"] = str(cursor)
        async with session.get("api/v1/incidents", params=params) as response:
            if response.status != 200:
                break
            page = await response.json()
        items.extend(page.get("items") or [])
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    return IncidentBoard.of(items)


def _banner(settings: Settings, base: str) -> str:
    return "\n".join(
        [
            f"nocbot demo serving at {base}  (database: {settings.database_url})",
            f"  console:    {base}/console",
            f"  incidents:  {base}/api/v1/incidents",
            f"  API spec:   {base}/api/v1/openapi.json",
        ]
    )
