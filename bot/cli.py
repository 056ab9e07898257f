"""`nocbot` command line: each sub-command lives in `bot.commands.<name>`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

# Order is the order shown by `nocbot --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "serve",
    "demo",
    "migrate",
    "import_metrics",
    "import_incidents",
    "replay",
    "cluster",
    "detect",
    "train_priority",
    "train_forecast",
    "forecast_report",
    "rollup",
    "ask",
    "playbooks",
    "doctor",
    "slack_manifest",
    "teams_package",
)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="nocbot",
        description="Chat-ops AIOps bot: alerts and metrics in, prioritized incidents out.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, ModuleType] = {}
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"bot.commands.{name}")
        command = module.add_parser(subparsers)
        handlers[command] = module
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    result: int = handlers[args.command].run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
