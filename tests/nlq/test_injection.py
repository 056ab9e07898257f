"""Hostile questions and hostile data: answered or refused, never executed, the database unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine

from engine.models import MetricPoint, PointBatch
from engine.storage import migrate
from engine.storage.database import open_engine
from engine.storage.rollup_rows import roll_up, rollup_lock
from engine.storage.schema import incidents as incident_table
from engine.storage.schema import metadata
from engine.storage.store import Store
from nlq.answer import answer
from nlq.errors import CannotAnswer

NOW = datetime(2026, 4, 8, 10, 0, tzinfo=UTC)
EVIL_SERVICE = "x'); DROP TABLE incidents; --"

HOSTILE = [
    "'; drop table incidents; --",
    "cpu on web-1'; DELETE FROM metric_points; --",
    "cpu on web-1 UNION SELECT * FROM incidents",
    "cpu for ' OR 1=1 --",
    'average "cpu" on "web-1" yesterday',
    "average `cpu` on web-1 yesterday; --",
    "how many incidents; drop table alerts",
    "cpu on web-1 yesterday -- and then some",
    "cpu on zürich-1 yesterday",
    "résumé du cpu hier",
    "平均 cpu 昨日",
    "🔥🔥🔥 cpu",
    "cpu\x00 yesterday",
    "cpu " + "a" * 5000,
    "average cpu by service yesterday",
    "%s %(x)s ? :param $1 yesterday",
    "\\'; select pg_sleep(10); --",
]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    opened = open_engine(database_url)
    await migrate.upgrade(opened)
    start = NOW - timedelta(days=2)
    points = [
        MetricPoint("cpu_usage", {"host": host, "service": service}, start.timestamp() + i * 60, 40.0 + i % 7)
        for host, service in (("web-1", "checkout"), ("zürich-1", EVIL_SERVICE))
        for i in range(2 * 1440)
    ]
    await Store(opened).ingest_points(PointBatch.from_points(points), NOW)
    async with opened.begin() as conn:
        await conn.execute(
            insert(incident_table),
            {
                "title": "t",
                "status": "open",
                "origin": "imported",
                "service": EVIL_SERVICE,
                "services": [],
                "reasons": [],
                "enrichment": {},
                "alert_count": 0,
                "opened_at": NOW - timedelta(hours=3),
                "auto_resolved": False,
                "updated_at": NOW,
                "version": 1,
            },
        )
    async with rollup_lock(opened) as conn:
        assert conn is not None
        await roll_up(conn, NOW)
    yield opened
    await opened.dispose()


async def counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert set(metadata.tables) <= set(names)
        return {
            name: int(await conn.scalar(select(func.count()).select_from(table)) or 0)
            for name, table in metadata.tables.items()
        }


async def test_hostile_questions_are_answered_or_refused_and_change_nothing(engine: AsyncEngine) -> None:
    before = await counts(engine)
    outcomes: dict[str, str] = {}
    for question in HOSTILE:
        try:
            result = await answer(question, engine, NOW)
        except CannotAnswer as refusal:
            assert refusal.message and refusal.suggestions
            outcomes[question] = "refused"
        else:
            assert result.sql.lstrip().upper().startswith("SELECT")
            assert ";" not in result.sql
            outcomes[question] = "answered"
    assert await counts(engine) == before
    assert outcomes["cpu on zürich-1 yesterday"] == "answered"
    assert outcomes["'; drop table incidents; --"] == "refused"
    assert outcomes['average "cpu" on "web-1" yesterday'] == "answered"


async def test_hostile_label_values_come_back_as_data(engine: AsyncEngine) -> None:
    result = await answer("average cpu by service yesterday", engine, NOW)
    assert [row[0] for row in result.rows] == ["checkout", EVIL_SERVICE]
    zurich = await answer("max cpu on zürich-1 yesterday", engine, NOW)
    assert "zürich-1" not in zurich.sql and "zürich-1" in zurich.params.values()
    incidents = await answer("incidents by service today", engine, NOW)
    assert incidents.rows == [[EVIL_SERVICE, 1]]


async def test_writing_is_impossible_inside_a_question(engine: AsyncEngine) -> None:
    """Defence in depth: even a write slipped into the question's connection is refused."""
    from nlq.answer import _read_only

    async with _read_only(engine, 5.0) as conn:
        with pytest.raises(Exception, match=r"(?i)read.?only"):
            await conn.execute(incident_table.delete())
    assert (await counts(engine))["incidents"] == 1
