"""Fixtures of the fault tests: a throwaway PostgreSQL database that several real replicas share."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.conftest import TEMPLATE
from tests.pg_server import PgServer

_names = itertools.count()


@pytest.fixture
async def pg_url(pg: PgServer) -> AsyncIterator[str]:
    """A freshly migrated database (a copy of the template), dropped afterwards even if a replica
    still holds connections to it."""
    name = f"nocbot_fault_{next(_names)}"
    admin = await asyncpg.connect(pg.dsn(pg.admin_database))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    finally:
        await admin.close()
    yield pg.url(name)
    admin = await asyncpg.connect(pg.dsn(pg.admin_database))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()
