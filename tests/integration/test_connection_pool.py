"""A pooled PostgreSQL connection that died while idle is checked and replaced before it is used."""

from __future__ import annotations

import itertools

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from engine.storage import database
from engine.storage.database import open_engine
from tests.conftest import template_copy
from tests.pg_server import PgServer

pytestmark = pytest.mark.postgres

_names = itertools.count()


async def _backend_killed_while_idle(pg: PgServer, url: str) -> int | None:
    """Runs a query on a connection whose server process was terminated while it sat in the pool;
    returns the backend pid that answered (None if the query failed)."""
    engine = open_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        admin = await asyncpg.connect(pg.dsn(pg.admin_database))
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        try:
            async with engine.connect() as conn:
                answered: int | None = await conn.scalar(text("SELECT pg_backend_pid()"))
        except DBAPIError:
            answered = None
        assert answered != pid
        return answered
    finally:
        await engine.dispose()


async def test_a_connection_idle_long_enough_is_pinged_and_replaced(
    pg: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    async with template_copy(pg, f"nocbot_pool_{next(_names)}") as url:
        assert await _backend_killed_while_idle(pg, url) is not None


async def test_a_connection_back_in_use_at_once_is_not_pinged(
    pg: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side of the trade: within the idle allowance the dead connection is handed out
    unchecked (the request fails and SQLAlchemy discards the pool), which is what makes the ping
    above the thing that saved the query."""
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 3600.0)
    async with template_copy(pg, f"nocbot_pool_{next(_names)}") as url:
        assert await _backend_killed_while_idle(pg, url) is None
