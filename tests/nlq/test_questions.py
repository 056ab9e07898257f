"""Every question of questions.yaml, asked on SQLite and PostgreSQL, against answers from raw values.

The data set is loaded and rolled up once per backend (module scope); each question then goes
through the whole path — vocabulary from the database, parse, plan, SQL, sketches, rows.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
import yaml
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.models import PointBatch, SeriesRef
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.rollup_rows import roll_up, rollup_lock
from engine.storage.schema import alerts, incidents, playbook_runs
from engine.storage.store import Store
from nlq.answer import Answer, answer
from tests.conftest import TEMPLATE
from tests.nlq import build_questions, dataset
from tests.pg_server import PgServer

CASES: list[dict[str, Any]] = yaml.safe_load(build_questions.QUESTIONS.read_text(encoding="utf-8"))
_counter = itertools.count()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def loaded_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('nlq') / 'questions.db'}"
        _in_own_loop(load(url))
        yield url
        return
    server: PgServer = request.getfixturevalue("pg")
    name = f"nocbot_nlq{os.getpid()}_{next(_counter)}"
    _in_own_loop(_admin(server, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
    url = server.url(name)
    _in_own_loop(load(url))
    yield url
    _in_own_loop(_admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def load(url: str) -> None:
    """The data set into a fresh database, then one rollup run (at ROLLED_UP_AT)."""
    engine = open_engine(url)
    try:
        await migrate.upgrade(engine)
        store = Store(engine)
        for s in dataset.series():
            batch = PointBatch(
                series=(SeriesRef(s.metric, s.labels),),
                series_index=[0] * len(s.ts_ms),
                ts=(s.ts_ms / 1000).tolist(),
                values=s.values.tolist(),
            )
            await store.ingest_points(batch, dataset.END)
        async with engine.begin() as conn:
            await conn.execute(insert(incidents), list(dataset.incidents()))
            ids = {
                row.external_id: row.id
                for row in await conn.execute(select(incidents.c.external_id, incidents.c.id))
            }
            await conn.execute(insert(playbook_runs), dataset.playbook_runs(ids))
            await conn.execute(insert(alerts), list(dataset.alerts()))
        async with rollup_lock(engine) as conn:
            assert conn is not None
            await roll_up(conn, dataset.ROLLED_UP_AT)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(loaded_url: str) -> AsyncIterator[AsyncEngine]:
    """One engine (and event loop) for all the questions of a backend: connecting is not under test."""
    opened = open_engine(loaded_url, pool_size=1)
    yield opened
    await opened.dispose()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("case", CASES, ids=[f"q{c['id']}" for c in CASES])
async def test_question(engine: AsyncEngine, case: dict[str, Any]) -> None:
    result = await answer(case["question"], engine, datetime.fromisoformat(case["now"]), case["timezone"])
    assert (result.start.isoformat(), result.end.isoformat()) == (case["start"], case["end"]), result.text
    assert result.columns == case["columns"], result.text
    if "peak" in case:
        _check_peak(result, case["peak"])
    else:
        _check_rows(result.rows, case["rows"], case["tolerance"])
    assert result.text and result.sql.lstrip().upper().startswith("SELECT")


def test_the_question_file_is_what_the_generator_writes() -> None:
    assert build_questions.render() == build_questions.QUESTIONS.read_text(encoding="utf-8"), (
        "questions.yaml is stale: run python -m tests.nlq.build_questions"
    )


def test_there_are_enough_questions() -> None:
    assert len(CASES) >= 150
    assert len({c["question"] + c["timezone"] + c["now"] for c in CASES}) == len(CASES)


def _check_rows(actual: list[list[Any]], expected: list[list[Any]], tolerance: float) -> None:
    assert len(actual) == len(expected), f"{actual} != {expected}"
    for got_row, want_row in zip(actual, expected, strict=True):
        assert len(got_row) == len(want_row)
        for got, want in zip(got_row, want_row, strict=True):
            if isinstance(want, int | float) and not isinstance(want, bool):
                assert got == pytest.approx(want, rel=tolerance, abs=1e-9), f"{got_row} != {want_row}"
            else:
                assert got == want, f"{got_row} != {want_row}"


def _check_peak(result: Answer, expected: dict[str, Any]) -> None:
    """The extreme value exactly, and a bucket that holds one of the moments it occurred."""
    assert len(result.rows) == 1
    start, end, value = result.rows[0]
    assert value == pytest.approx(expected["value"], rel=1e-12)
    low = datetime.fromisoformat(start).timestamp() * 1000
    high = datetime.fromisoformat(end).timestamp() * 1000
    assert any(low <= at < high for at in expected["at_ms"]), (
        f"{start}..{end} holds none of {expected['at_ms'][:5]}"
    )


def _in_own_loop(work: Any) -> None:
    # module fixtures run outside the tests' event loops; give the setup one of its own
    with ThreadPoolExecutor(1) as worker:
        worker.submit(asyncio.run, work).result()


async def _admin(server: PgServer, statement: str) -> None:
    conn = await asyncpg.connect(server.dsn(server.admin_database))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
