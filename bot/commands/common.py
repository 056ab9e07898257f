"""What every sub-command shares: settings with a --db override, clear failures, file progress."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text
from sqlalchemy.exc import InterfaceError, OperationalError

from bot.settings import Settings, SettingsError
from engine.catalog import CatalogError
from engine.scoring import ModelLoadError


class CommandError(Exception):
    """A failure the user can fix; printed as one line, exit status 1."""


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="database URL (overrides NOCBOT_DATABASE_URL)")


def load_settings(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env(os.environ)
    db = getattr(args, "db", None)
    if db:
        probe = Settings.from_env({"NOCBOT_DATABASE_URL": db})
        settings = settings.replace(database_url=probe.database_url)
    return settings


def fail(message: str) -> int:
    # messages quote what files and users wrote ("value '[/x]' is not a number", ":fire:"): printed
    # as Text, which rich takes as written, where a str would be read as markup and emoji codes
    Console(stderr=True, soft_wrap=True).print(
        Text.assemble(("error:", "bold red"), " ", message), highlight=False
    )
    return 1


def guarded(run: Callable[[], int]) -> int:
    """Run a command body, turning expected failures into one line and exit status 1."""
    try:
        result = run()
    except (CommandError, SettingsError, CatalogError, ModelLoadError) as exc:
        return fail(str(exc))
    except (OperationalError, InterfaceError, OSError) as exc:
        return fail(f"cannot use the database: {str(exc).splitlines()[0]}")
    except KeyboardInterrupt:
        return 130
    return result


@contextmanager
def progress_lines(path: Path, description: str) -> Iterator[Iterator[str]]:
    """The lines of a UTF-8 text file, with a progress bar (by bytes) on an interactive terminal.

    A byte order mark (spreadsheets write one) is skipped; bytes that are not UTF-8 fail with the
    line they are on.
    """
    try:
        # surrogateescape: a bad byte decodes to a lone surrogate, found (with its line) below,
        # where strict decoding would fail on a whole chunk of the file, lines ahead of it
        handle: TextIO = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from None
    size = path.stat().st_size
    with (
        handle,
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not sys.stderr.isatty(),
        ) as progress,
    ):
        task = progress.add_task(description, total=size)

        def lines() -> Iterator[str]:
            for number, line in enumerate(handle, start=1):
                try:
                    length = len(line.encode("utf-8"))  # which refuses the lone surrogates
                except UnicodeEncodeError as exc:
                    byte = ord(line[exc.start]) - 0xDC00
                    raise CommandError(
                        f"{path}:{number}: not UTF-8 text (byte 0x{byte:02x} at column {exc.start + 1})"
                    ) from None
                progress.advance(task, length)
                yield line

        yield lines()
