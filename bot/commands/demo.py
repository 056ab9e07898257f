"""`nocbot demo`: serve on the embedded SQLite default, open to loopback, and say where."""

from __future__ import annotations

import argparse
import os
from typing import Any

from bot.commands.common import add_db_option, guarded, load_settings
from bot.commands.serve import serve


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "demo", help="serve on the embedded SQLite default, no token, loopback only"
    )
    add_db_option(parser)
    parser.add_argument("--port", type=int, help="listen port (default: NOCBOT_PORT or 8080)")
    return "demo"


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _demo(args))


def _demo(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    # the demo must not be reachable from other machines: loopback, and no token only there
    settings = settings.replace(host="127.0.0.1", auth_disabled=not os.environ.get("NOCBOT_INGEST_TOKEN"))
    if args.port is not None:
        settings = settings.replace(port=args.port)
    base = settings.base_url
    banner = "\n".join(
        [
            f"nocbot demo serving at {base}  (database: {settings.database_url})",
            f"  health:     {base}/healthz",
            f"  alerts:     {base}/api/v1/alerts",
            f"  incidents:  {base}/api/v1/incidents",
            f"  API spec:   {base}/api/v1/openapi.json",
            "  send an alert:",
            f"    curl -s -X POST {base}/api/v1/alerts -H 'Content-Type: application/json' \\",
            '      -d \'{"name": "DiskFull", "severity": "warning", "labels": {"host": "web-1"}}\'',
            "Press Ctrl-C to stop.",
        ]
    )
    serve(settings, banner=banner)
    return 0
