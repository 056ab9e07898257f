"""`nocbot serve`: run the HTTP service (applies migrations first)."""

from __future__ import annotations

import argparse
import gc
import logging
from typing import Any

from aiohttp import web

from bot.app import create_app
from bot.commands.common import add_db_option, guarded, load_settings
from bot.logs import configure_logging
from bot.settings import Settings


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser("serve", help="run the HTTP service")
    add_db_option(parser)
    parser.add_argument("--host", help="listen address (overrides NOCBOT_HOST)")
    parser.add_argument("--port", type=int, help="listen port (overrides NOCBOT_PORT)")
    return "serve"


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _serve(args))


def _serve(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    if args.host:
        settings = settings.replace(host=args.host)
    if args.port is not None:
        settings = settings.replace(port=args.port)
    serve(settings)
    return 0


GC_THRESHOLDS = (10_000, 5, 10)  # Python's default: (700, 10, 10)


def serve(settings: Settings, *, banner: str | None = None) -> None:
    configure_logging(settings.log_level)
    app = create_app(settings)
    app.on_startup.append(_tune_garbage_collection)
    logging.getLogger("nocbot").info(
        "listening", extra={"url": settings.base_url, "database": _redacted(settings.database_url)}
    )
    # run_app turns SIGTERM/SIGINT into a graceful shutdown: stop accepting, let in-flight
    # requests finish (up to shutdown_timeout), then run cleanup_ctx.
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        shutdown_timeout=settings.shutdown_timeout,
        access_log=None,
        print=(lambda _text: print(banner, flush=True)) if banner else None,
    )


async def _tune_garbage_collection(_app: web.Application) -> None:
    """Modules, the app and everything it opened live as long as the process: leaving them out of
    garbage collection keeps a full collection from scanning ~200,000 objects in the middle of
    requests (a pause of 150–220 ms here). Done by `serve` only, not by create_app: tests build many
    apps in one process and must be able to free them.

    The young generation is also collected less often: at the default (every 700 allocations) each
    collection found the objects of the requests in flight (a parsed webhook is thousands) still
    alive and promoted them, the oldest generation grew by a quarter every few seconds, and its
    full collections (every 2–3 s at 5,000 alerts/s) paused the loop for 9 ms, growing to 85 ms
    within 40 s. Collected every 10,000 allocations, those objects are freed before they are
    looked at: no full collection in a 40 s run, p99 307 → 81 ms.

    The middle generation is collected every 5 of those (Python's default: 10). At 20, until
    session 12, it grew to up to 200,000 objects during an alert flood and its collections paused
    the loop 50–84 ms; at 5 they paused it 14–30 ms, with no extra full collections (two 40 s alert
    runs and a 60 s points run each way)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
