"""The database answers, and its schema is the one this version of nocbot expects."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError as AlembicError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.doctor.findings import Finding, ok, problem, warning
from bot.doctor.settings_check import read_setting
from bot.settings import SettingsError
from engine.storage import migrate
from engine.storage.database import is_sqlite, open_engine

AREA = "database"
TIMEOUT_SECONDS = 10.0


async def check_database(environ: Mapping[str, str]) -> list[Finding]:
    try:
        url: str = read_setting(environ, "NOCBOT_DATABASE_URL")
    except SettingsError as exc:
        return [
            problem(
                AREA, str(exc), "set NOCBOT_DATABASE_URL to sqlite+aiosqlite:///… or postgresql+asyncpg://…"
            )
        ]
    shown = make_url(url).render_as_string(hide_password=True)
    if is_sqlite(url):
        missing = _missing_sqlite_file(url)
        if missing is not None:
            return [missing]
    engine = open_engine(url, pool_size=1)
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            current, head = await migrate.current_and_head(engine)
    except TimeoutError:
        return [problem(AREA, f"{shown}: no answer in {TIMEOUT_SECONDS:.0f} s", _reach_fix(url))]
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
        return [problem(AREA, f"{shown}: cannot connect: {reason}", _reach_fix(url))]
    finally:
        await engine.dispose()
    return [_schema_finding(shown, current, head)]


def _schema_finding(shown: str, current: str | None, head: str | None) -> Finding:
    if current == head:
        return ok(AREA, f"{shown}: reachable, schema current ({current})")
    if current is None:
        return warning(
            AREA,
            f"{shown}: reachable, but no schema yet",
            "run `nocbot migrate` (nocbot serve also migrates at start)",
        )
    if not _known_revision(current):
        return problem(
            AREA,
            f"{shown}: schema {current} is newer than this nocbot knows (newest: {head})",
            "upgrade nocbot to the version that migrated this database",
        )
    return warning(
        AREA,
        f"{shown}: schema {current} is behind {head}",
        "run `nocbot migrate` (nocbot serve also migrates at start)",
    )


def _known_revision(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision) is not None
    except AlembicError:
        return False


def _missing_sqlite_file(url: str) -> Finding | None:
    """Connecting would create an empty SQLite file: say what is missing instead."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    path = Path(database)
    if path.exists():
        return None
    if not path.parent.is_dir():
        return problem(
            AREA,
            f"{path}: the directory {path.parent} does not exist",
            "create the directory, or point NOCBOT_DATABASE_URL elsewhere",
        )
    return warning(
        AREA,
        f"{path} does not exist yet",
        "run `nocbot migrate` to create it (nocbot serve also creates it at start)",
    )


def _reach_fix(url: str) -> str:
    if is_sqlite(url):
        return "check the file's path and permissions in NOCBOT_DATABASE_URL"
    return (
        "check host, port, user, password and database name in NOCBOT_DATABASE_URL, and that the server runs"
    )
