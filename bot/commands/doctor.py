"""`nocbot doctor`: check the configuration and the connections, and say how to fix what is wrong."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.commands.common import guarded
from bot.doctor.findings import Finding, Status
from bot.doctor.registry import failed, run_checks

STYLE = {
    Status.OK: "[green]ok[/]",
    Status.SKIPPED: "[dim]off[/]",
    Status.WARNING: "[yellow]warning[/]",
    Status.PROBLEM: "[bold red]problem[/]",
}


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "doctor",
        help="check settings, database, Slack, Teams, PagerDuty, catalog and playbooks; say what to fix",
        description="Check the configuration (from the environment) and the connections it names. "
        "Exit status 1 when anything will not work.",
    )
    parser.add_argument("--db", metavar="URL", help="database URL (overrides NOCBOT_DATABASE_URL)")
    return "doctor"


def run(args: argparse.Namespace) -> int:
    environ = dict(os.environ)  # read here, when the command runs, never at import
    if args.db:
        environ["NOCBOT_DATABASE_URL"] = args.db
    return guarded(lambda: _report(asyncio.run(run_checks(environ))))


def _report(findings: Sequence[Finding]) -> int:
    console = Console(highlight=False)
    table = Table(title="nocbot doctor", show_lines=False, expand=False)
    table.add_column("area", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("finding", overflow="fold")
    table.add_column("fix", overflow="fold")
    for finding in findings:
        # messages quote user input (file names, values): never read them as rich markup
        table.add_row(
            finding.area, Text.from_markup(STYLE[finding.status]), Text(finding.message), Text(finding.fix)
        )
    console.print(table)
    problems = sum(finding.status is Status.PROBLEM for finding in findings)
    if failed(findings):
        console.print(f"[bold red]{problems} problem(s)[/]: fix them, then run nocbot doctor again.")
        return 1
    console.print("[green]nothing is wrong[/] (warnings, if any, are worth a look).")
    return 0
