"""Shared fixtures: a real PostgreSQL (found or started), per-test databases on both backends, the app."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.settings import Settings
from engine.clock import FixedClock
from engine.storage import migrate
from engine.storage.database import open_engine
from tests.pg_server import PgServer, postgres_server

TOKEN = "test-token"
# one template per pytest process: concurrent runs on one server must not recreate each other's
TEMPLATE = f"nocbot_template_{os.getpid()}"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    try:
        with postgres_server() as server:
            # may be first requested from inside a running event loop (an async fixture)
            with ThreadPoolExecutor(1) as worker:
                worker.submit(asyncio.run, _prepare_template(server)).result()
            try:
                yield server
            finally:
                with ThreadPoolExecutor(1) as worker:
                    worker.submit(asyncio.run, _drop_template(server)).result()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)


async def _drop_template(server: PgServer) -> None:
    admin = await asyncpg.connect(server.dsn(server.admin_database))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    finally:
        await admin.close()


async def _prepare_template(server: PgServer) -> None:
    admin = await asyncpg.connect(server.dsn(server.admin_database))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE}")
        await admin.execute(f"CREATE DATABASE {TEMPLATE}")
    finally:
        await admin.close()
    engine = open_engine(server.url(TEMPLATE))
    await migrate.upgrade(engine)
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A freshly migrated, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'nocbot.db'}"
        return
    server: PgServer = request.getfixturevalue("pg")
    async with template_copy(server, f"nocbot_t{os.getpid()}_{next(_counter)}") as url:
        yield url


@contextlib.asynccontextmanager
async def template_copy(server: PgServer, name: str) -> AsyncIterator[str]:
    """A migrated database copied from the template, dropped afterwards even if connections to it
    remain (a killed replica's, say)."""
    admin = await asyncpg.connect(server.dsn(server.admin_database))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    finally:
        await admin.close()
    try:
        yield server.url(name)
    finally:
        admin = await asyncpg.connect(server.dsn(server.admin_database))
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 11, 12, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, ingest_token=TOKEN)


AppClient = TestClient[web.Request, web.Application]


@pytest.fixture
async def make_client(database_url: str) -> AsyncIterator[Callable[..., Awaitable[AppClient]]]:
    # depends on database_url so that clients shut down (and save state) before the database goes
    clients: list[AppClient] = []

    async def make(settings: Settings, clock: FixedClock | None = None) -> AppClient:
        client: AppClient = TestClient(TestServer(create_app(settings, clock=clock)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(
    make_client: Callable[..., Awaitable[AppClient]], settings: Settings, clock: FixedClock
) -> AppClient:
    return await make_client(settings, clock)


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
