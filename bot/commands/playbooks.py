"""`nocbot playbooks validate [DIR]`: check playbook files, every problem with its file and line."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.commands.common import CommandError, fail, guarded, load_settings
from engine.playbooks import LibraryError, load_library


def add_parser(subparsers: Any) -> str:
    parser = subparsers.add_parser(
        "playbooks",
        help="check playbook files",
        description="Work with remediation playbooks (YAML files, one playbook each).",
    )
    actions = parser.add_subparsers(dest="playbooks_action", metavar="ACTION", required=True)
    validate = actions.add_parser(
        "validate",
        help="check every playbook in a directory and report problems with line numbers",
        description="Read every *.yaml / *.yml file in DIR (default: NOCBOT_PLAYBOOKS_DIR) and report "
        "every problem as FILE:LINE: message. Exit status 1 when there is any.",
    )
    validate.add_argument("directory", nargs="?", type=Path, metavar="DIR")
    validate.add_argument(
        "--allow-command",
        action="append",
        default=None,
        metavar="PATH",
        help="an executable command steps may run (repeat it); with it, other executables are errors",
    )
    return "playbooks"


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _validate(args))


def _validate(args: argparse.Namespace) -> int:
    directory: Path | None = args.directory
    if directory is None:
        directory = load_settings(args).playbooks_dir
        if directory is None:
            raise CommandError("give a directory, or set NOCBOT_PLAYBOOKS_DIR")
    try:
        library = load_library(directory, allowed_commands=args.allow_command)
    except LibraryError as exc:
        for problem in exc.problems:
            print(problem)
        count = len(exc.problems)
        return fail(f"{count} problem{'s' if count != 1 else ''} in {directory}")
    for playbook in library:
        steps = ", ".join(step.kind.value for step in playbook.steps)
        print(f"ok  {playbook.name}  ({playbook.approval.value} approval; {steps})")
    print(f"{len(library)} playbooks valid")
    return 0
