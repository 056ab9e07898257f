"""`nocbot slack-manifest --url https://host [--socket-mode]`: the Slack app manifest, filled in."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from bot.commands.common import CommandError, guarded
from bot.settings import SettingsError
from bot.slack.settings import SLACK_SETTINGS
from integrations.slack_manifest import render_manifest


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "slack-manifest",
        help="print the Slack app manifest to paste into Slack's 'create app from manifest'",
        description="Print the Slack app manifest (YAML) with exactly the scopes nocbot uses.",
    )
    parser.add_argument(
        "--url", metavar="URL", help="public https URL of this nocbot (Slack calls URL/slack/events)"
    )
    parser.add_argument(
        "--socket-mode",
        action="store_true",
        help="Socket Mode variant: no public URL, nocbot connects to Slack with an app-level token",
    )
    parser.add_argument(
        "--command",
        dest="slash_command",
        metavar="/NAME",
        help="slash command (default: NOCBOT_SLACK_COMMAND or /nocbot)",
    )
    return "slack-manifest"


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _print(args))


def _print(args: argparse.Namespace) -> int:
    url = None if args.socket_mode else _public_url(args.url)
    sys.stdout.write(render_manifest(url, command=_command(args.slash_command)))
    return 0


def _public_url(raw: str | None) -> str:
    if not raw:
        raise CommandError("give --url https://your-host (where Slack reaches nocbot), or --socket-mode")
    parts = urlsplit(raw.strip())
    if parts.scheme != "https" or not parts.netloc:
        raise CommandError(f"--url must be an https URL such as https://nocbot.example.com, not {raw!r}")
    if parts.query or parts.fragment:
        raise CommandError(f"--url must be a base URL without ?query or #fragment, not {raw!r}")
    return raw.strip().rstrip("/")


def _command(given: str | None) -> str:
    spec = next(spec for spec in SLACK_SETTINGS if spec.field == "command")
    raw = given if given is not None else os.environ.get(spec.env, spec.default)
    try:
        command: str = spec.parse(raw)
    except ValueError as exc:
        where = "--command" if given is not None else spec.env
        raise SettingsError(f"{where}={raw!r}: {exc}") from None
    return command
