"""`nocbot teams-package --app-id ID [--url URL] [--output FILE.zip]`: the app package to upload to Teams."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.commands.common import CommandError, guarded
from integrations.teams_package import MESSAGING_PATH, PackageError, TeamsApp, build_package

DEFAULT_OUTPUT = Path("nocbot-teams.zip")


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "teams-package",
        help="build the Microsoft Teams app package (manifest.json + icons, zipped)",
        description="Build the zip to upload in Teams (Apps → Manage your apps → Upload an app).",
    )
    parser.add_argument(
        "--app-id", metavar="GUID", help="Microsoft App ID of the Azure Bot (default: NOCBOT_TEAMS_APP_ID)"
    )
    parser.add_argument(
        "--url", metavar="URL", help="public https URL of this nocbot (default: NOCBOT_PUBLIC_URL)"
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, metavar="FILE.zip", help="where to write the zip"
    )
    parser.add_argument(
        "--app-version",
        default="1.0.0",
        metavar="X.Y.Z",
        help="version of the Teams app; raise it to upload an update (default 1.0.0)",
    )
    return "teams-package"


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _build(args))


def _build(args: argparse.Namespace) -> int:
    app_id = (args.app_id or os.environ.get("NOCBOT_TEAMS_APP_ID", "")).strip()
    url = (args.url or os.environ.get("NOCBOT_PUBLIC_URL", "")).strip()
    if not app_id:
        raise CommandError(
            "give --app-id (the Microsoft App ID of your Azure Bot), or set NOCBOT_TEAMS_APP_ID"
        )
    if not url:
        raise CommandError(
            "give --url https://your-host (where Teams reaches nocbot), or set NOCBOT_PUBLIC_URL"
        )
    try:
        app = TeamsApp(app_id=app_id, url=url, version=args.app_version)
    except PackageError as exc:
        raise CommandError(str(exc)) from None
    output: Path = args.output
    try:
        output.write_bytes(build_package(app))
    except OSError as exc:
        raise CommandError(f"{output}: {exc.strerror}") from None
    print(f"wrote {output}: upload it in Teams (Apps → Manage your apps → Upload an app)")
    print(f"the Azure Bot's messaging endpoint must be {app.base_url}{MESSAGING_PATH}")
    return 0
