"""Opening the database: one async engine per process, tuned per backend."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def open_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if is_sqlite(url):
        # one writer at a time is SQLite's rule; a small pool keeps connections (and their pragmas) warm
        engine = create_async_engine(url, pool_size=5, max_overflow=5)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # a statement stuck on a lock must not hold an ingestion request forever
        connect_args={"server_settings": {"statement_timeout": "30000", "application_name": "nocbot"}},
    )
    event.listen(engine.sync_engine, "checkin", _note_idle_since)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


# SQLAlchemy's pool_pre_ping checks every connection taken from the pool, and on asyncpg a check is
# three round trips (BEGIN, a statement, ROLLBACK): a third of a small request's database work. A
# connection back in use within a few seconds is still good, as far as a ping could tell; one idle
# longer (a server restarted meanwhile, a proxy's idle timeout) is checked before it is handed out.
# A connection broken mid-use is still caught: SQLAlchemy then discards the whole pool.
PING_AFTER_IDLE_SECONDS = 2.0


def _note_idle_since(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        # the pool drops this connection and hands out another (a new one if need be)
        raise exc.DisconnectionError(f"connection failed its ping: {error}") from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the console, questions) run while ingestion writes
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
